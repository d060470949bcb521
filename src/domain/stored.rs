//! Stored states are text columns on both backends and enums in the row types. The row types
//! read them through `#[diesel(deserialize_as = String, serialize_as = String)]`, which needs
//! the two conversions this macro writes: an unknown stored value is a deserialisation error
//! (the row does not load), never a default. Enums also derive diesel's `AsExpression` and
//! `FromSqlRow` (text), so rows hold them directly; their `FromSql`/`ToSql` are in `db::stored`.

/// `stored_as_text!(Type, "what", parse, show)`: `TryFrom<String>` through `parse(&str) ->
/// Option<Type>` and `From<Type> for String` through `show(&Type) -> String`.
macro_rules! stored_as_text {
    ($ty:ty, $what:literal, $parse:expr, $show:expr) => {
        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(s: String) -> Result<$ty, String> {
                let parse: fn(&str) -> Option<$ty> = $parse;
                parse(&s).ok_or_else(|| format!(concat!("unknown stored ", $what, " {:?}"), s))
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                let show: fn(&$ty) -> String = $show;
                show(&v)
            }
        }
    };
}

pub(crate) use stored_as_text;

/// `Display` as the stored text (`as_str`).
macro_rules! display_as_str {
    ($($ty:ty),+) => {$(
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

pub(crate) use display_as_str;

/// Declares a fieldless enum stored as text: the enum, `ALL`, `as_str`, `parse` (None for an
/// unknown value) and the two conversions of [`stored_as_text`].
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// A stored value; None for anything else.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::domain::stored::stored_as_text!($name, $what, $name::parse, |v| v.as_str().to_string());
    };
}

pub(crate) use stored_enum;

#[cfg(test)]
mod tests {
    stored_enum! {
        pub enum Sample: "sample" { One = "one", Two = "two" }
    }

    #[test]
    fn every_value_round_trips_and_an_unknown_one_is_an_error_naming_it() {
        for v in Sample::ALL {
            assert_eq!(Sample::try_from(String::from(*v)), Ok(*v));
        }
        assert_eq!(
            Sample::try_from("One".to_string()),
            Err("unknown stored sample \"One\"".to_string())
        );
    }
}
