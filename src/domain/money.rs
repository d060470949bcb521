//! Exact money handling: amounts are integer minor units (cents), never floats,
//! so that sums, thresholds and matching never drift by rounding errors.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest accepted amount in minor units (10^13, i.e. 100 billion EUR):
/// far above any civic project, far below `i64` overflow when summing.
pub const MAX_MINOR_UNITS: i64 = 10_000_000_000_000;

/// An ISO 4217 currency together with its number of minor-unit decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct Currency {
    code: &'static str,
    decimals: u32,
}

/// Supported currencies; a fixed list keeps decimals authoritative (ISO 4217).
const KNOWN_CURRENCIES: [Currency; 11] = [
    Currency::EUR,
    Currency::new("USD", 2),
    Currency::new("GBP", 2),
    Currency::new("CHF", 2),
    Currency::new("SEK", 2),
    Currency::new("DKK", 2),
    Currency::new("NOK", 2),
    Currency::new("PLN", 2),
    Currency::new("CZK", 2),
    // ISO 4217 lists HUF with 2 decimals even though fillér coins are gone.
    Currency::new("HUF", 2),
    Currency::new("JPY", 0),
];

impl Currency {
    /// The euro, the default currency of the service.
    pub const EUR: Currency = Currency::new("EUR", 2);

    const fn new(code: &'static str, decimals: u32) -> Currency {
        Currency { code, decimals }
    }

    /// Parses an uppercase ISO 4217 code from the supported list; anything
    /// else (lowercase, unknown, padded) is `UnknownCurrency`.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        KNOWN_CURRENCIES
            .iter()
            .find(|c| c.code == code)
            .copied()
            .ok_or(MoneyError::UnknownCurrency)
    }

    /// The three-letter ISO 4217 code, e.g. `"EUR"`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Number of decimals of the minor unit (2 for EUR, 0 for JPY).
    pub fn decimals(&self) -> u32 {
        self.decimals
    }
}

/// The smallest and largest pledge, as decimal amounts valid in every currency: converted to a
/// currency's minor units by rounding the minimum up and the maximum down (a minimum of `0.50`
/// is ¥1; a maximum of `10000.99` is ¥10,000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PledgeLimits {
    min: Decimal,
    max: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PledgeLimitsError {
    #[error("must be a positive decimal amount, such as 1.00")]
    NotAnAmount,
    #[error("the minimum is larger than the maximum")]
    MinAboveMax,
}

impl PledgeLimits {
    pub fn parse(min: &str, max: &str) -> Result<PledgeLimits, (usize, PledgeLimitsError)> {
        let amount = |i: usize, s: &str| {
            Decimal::from_str(s.trim())
                .ok()
                .filter(|d| d.is_sign_positive() && !d.is_zero() && d.scale() <= 6)
                .ok_or((i, PledgeLimitsError::NotAnAmount))
        };
        let (min, max) = (amount(0, min)?, amount(1, max)?);
        if min > max {
            return Err((0, PledgeLimitsError::MinAboveMax));
        }
        Ok(PledgeLimits { min, max })
    }

    /// (smallest, largest) pledge in `currency`'s minor units; the smallest is at least one.
    pub fn in_minor_units(&self, currency: Currency) -> (i64, i64) {
        let scale = Decimal::from(10i64.pow(currency.decimals()));
        let minor = |d: Decimal, strategy| {
            (d * scale)
                .round_dp_with_strategy(0, strategy)
                .to_string()
                .parse::<i64>()
                .unwrap_or(i64::MAX)
        };
        let lo = minor(self.min, RoundingStrategy::AwayFromZero).max(1);
        let hi = minor(self.max, RoundingStrategy::ToZero);
        (lo, hi)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl AsRef<str> for Currency {
    fn as_ref(&self) -> &str {
        self.code
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

super::stored::stored_as_text!(Currency, "currency", |s| Currency::parse(s).ok(), |c| c
    .code()
    .to_string());

/// Serialised as its code, so JSON carries `"EUR"`.
impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// Why an amount or currency was rejected.
#[derive(thiserror::Error, Debug, PartialEq, Eq, Clone)]
pub enum MoneyError {
    #[error("unknown or unsupported currency")]
    UnknownCurrency,
    #[error("not a decimal amount")]
    NotANumber,
    #[error("more than {0} decimal places")]
    TooManyDecimals(u32),
    #[error("must be greater than zero")]
    NotPositive,
    #[error("amount too large")]
    TooLarge,
}

/// A syntactically valid decimal string split into its parts.
struct DecimalParts<'a> {
    negative: bool,
    int_digits: &'a str,
    frac_digits: &'a str,
}

/// Strict grammar `-?[0-9]+(\.[0-9]+)?`: no `+`, whitespace, exponent,
/// thousands separator or bare point, so that user input has one meaning.
fn split_decimal(s: &str) -> Option<DecimalParts<'_>> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int_digits, frac_digits) = match rest.split_once('.') {
        Some((i, f)) => {
            if f.is_empty() {
                return None;
            }
            (i, f)
        }
        None => (rest, ""),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int_digits.is_empty() || !all_digits(int_digits) || !all_digits(frac_digits) {
        return None;
    }
    Some(DecimalParts {
        negative,
        int_digits,
        frac_digits,
    })
}

/// Shared parser: returns the signed value in minor units. Errors are checked
/// in the order syntax, decimals, sign, size, so a negative amount is always
/// reported as `NotPositive` however large it is.
fn parse_minor(s: &str, currency: Currency, allow_zero: bool) -> Result<i64, MoneyError> {
    let parts = split_decimal(s).ok_or(MoneyError::NotANumber)?;
    let decimals = currency.decimals();
    if parts.frac_digits.len() > decimals as usize {
        return Err(MoneyError::TooManyDecimals(decimals));
    }
    let is_zero = parts
        .int_digits
        .bytes()
        .chain(parts.frac_digits.bytes())
        .all(|b| b == b'0');
    if (parts.negative && !is_zero) || (is_zero && !allow_zero) {
        return Err(MoneyError::NotPositive);
    }
    // Accumulate digit by digit, padding the fraction with zeros up to the
    // currency's decimals; checked arithmetic turns overflow into TooLarge.
    let padding = std::iter::repeat_n(b'0', decimals as usize - parts.frac_digits.len());
    let mut minor: i64 = 0;
    for b in parts
        .int_digits
        .bytes()
        .chain(parts.frac_digits.bytes())
        .chain(padding)
    {
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(i64::from(b - b'0')))
            .filter(|m| *m <= MAX_MINOR_UNITS)
            .ok_or(MoneyError::TooLarge)?;
    }
    Ok(minor)
}

/// Parses a decimal amount string into integer minor units. "25" and "25.0"
/// and "25.00" are all 2500 for EUR; "25.001" (and also "25.000", since
/// decimal places are counted literally) is `TooManyDecimals(2)`; for JPY
/// "25.5" is `TooManyDecimals(0)`. Zero and negatives are `NotPositive`;
/// more than [`MAX_MINOR_UNITS`] is `TooLarge`.
pub fn parse_amount(s: &str, currency: Currency) -> Result<i64, MoneyError> {
    parse_minor(s, currency, false)
}

/// Like [`parse_amount`] but accepts zero (e.g. a budget lowered to 0).
/// Negative amounts are still `NotPositive` ("-0" counts as zero).
pub fn parse_non_negative_amount(s: &str, currency: Currency) -> Result<i64, MoneyError> {
    parse_minor(s, currency, true)
}

/// Writes minor units with exactly the currency's decimals: 2500 EUR →
/// "25.00", 5 → "0.05", -150 → "-1.50", JPY 25 → "25". Total for all `i64`.
pub fn format_amount(minor: i64, currency: Currency) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let decimals = currency.decimals();
    if decimals == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(decimals);
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = decimals as usize
    )
}

/// `minor × ratio`, rounded half-up (away from zero at .5) to the minor unit,
/// computed exactly with `Decimal`: apply_ratio(2001, 0.5) == 1001 and
/// apply_ratio(2000001, 0.333) == 666000. A result outside `i64` (only
/// possible with ratios far above 1) saturates instead of panicking.
pub fn apply_ratio(minor: i64, ratio: Decimal) -> i64 {
    let saturated = || {
        if (minor < 0) != ratio.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        }
    };
    match Decimal::from(minor).checked_mul(ratio) {
        Some(product) => {
            let rounded = product.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
            i64::try_from(rounded).unwrap_or_else(|_| saturated())
        }
        None => saturated(),
    }
}

/// Maximum decimal places of a [`Ratio`]; keeps ratios human-entered values
/// and bounds the precision of [`apply_ratio`].
pub const RATIO_MAX_DECIMALS: usize = 6;

/// A ratio `0 < r <= 1` (threshold ratio, match ratio) with at most 6
/// decimal places. Serialised as its normalised decimal string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio(Decimal);

/// Why a ratio string was rejected.
#[derive(thiserror::Error, Debug, PartialEq, Eq, Clone)]
pub enum RatioError {
    #[error("not a decimal number")]
    NotANumber,
    #[error("must be greater than 0 and at most 1")]
    OutOfRange,
    #[error("at most 6 decimal places")]
    TooPrecise,
}

impl Ratio {
    /// 1: the whole.
    pub const ONE: Ratio = Ratio(Decimal::ONE);

    /// Parses "0.5", "1", "0.333" with the same strict grammar as amounts.
    /// "0", "1.01", "-0.5" are `OutOfRange`; "abc", "1e-1" are `NotANumber`;
    /// more than 6 decimal places (counted literally) is `TooPrecise`.
    pub fn parse(s: &str) -> Result<Ratio, RatioError> {
        let parts = split_decimal(s).ok_or(RatioError::NotANumber)?;
        if parts.frac_digits.len() > RATIO_MAX_DECIMALS {
            return Err(RatioError::TooPrecise);
        }
        // Anything with an integer part above 1 is out of range; checking the
        // digits first also keeps huge inputs away from Decimal overflow.
        let int_trimmed = parts.int_digits.trim_start_matches('0');
        if int_trimmed.len() > 1 {
            return Err(RatioError::OutOfRange);
        }
        let value = Decimal::from_str(s).map_err(|_| RatioError::NotANumber)?;
        if value <= Decimal::ZERO || value > Decimal::ONE {
            return Err(RatioError::OutOfRange);
        }
        Ok(Ratio(value.normalize()))
    }

    /// The exact decimal value.
    pub fn value(&self) -> Decimal {
        self.0
    }

    /// "0.5", "1", "0.333": no trailing zeros, stable for storage and APIs.
    pub fn to_string_normalized(&self) -> String {
        self.0.normalize().to_string()
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_normalized())
    }
}

impl FromStr for Ratio {
    type Err = RatioError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ratio::parse(s)
    }
}

// Stored as typed ("0.5"); a stored ratio that does not parse fails the row's load.
super::stored::stored_as_text!(Ratio, "ratio", |s| Ratio::parse(s).ok(), |r| r
    .to_string_normalized());

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string_normalized())
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ratio::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Minor units as the API writes money ("25.00"), in a stored currency code (an unknown code
/// is written with two decimals, as EUR).
pub fn format_stored(minor: i64, currency: &str) -> String {
    format_amount(minor, Currency::parse(currency).unwrap_or(Currency::EUR))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};

    fn jpy() -> Currency {
        Currency::parse("JPY").unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn currency_parse_known_and_unknown() {
        assert_eq!(Currency::parse("EUR"), Ok(Currency::EUR));
        assert_eq!(Currency::parse("USD").unwrap().code(), "USD");
        assert_eq!(Currency::parse("HUF").unwrap().decimals(), 2);
        assert_eq!(jpy().decimals(), 0);
        assert_eq!(Currency::EUR.decimals(), 2);
        for bad in ["eur", "XXX", "", "EURO", " EUR", "BTC"] {
            assert_eq!(
                Currency::parse(bad),
                Err(MoneyError::UnknownCurrency),
                "{bad}"
            );
        }
    }

    #[test]
    fn currency_serde_uses_code() {
        let de: StrDeserializer<'_, DeError> = "JPY".into_deserializer();
        assert_eq!(Currency::deserialize(de).unwrap(), jpy());
        let de: StrDeserializer<'_, DeError> = "jpy".into_deserializer();
        assert!(Currency::deserialize(de).is_err());
    }

    #[test]
    fn parse_amount_accepts_valid_forms() {
        let eur = Currency::EUR;
        assert_eq!(parse_amount("25", eur), Ok(2500));
        assert_eq!(parse_amount("25.0", eur), Ok(2500));
        assert_eq!(parse_amount("25.00", eur), Ok(2500));
        assert_eq!(parse_amount("0.05", eur), Ok(5));
        assert_eq!(parse_amount("007.10", eur), Ok(710));
        assert_eq!(parse_amount("100000000000", eur), Ok(MAX_MINOR_UNITS));
        assert_eq!(parse_amount("25", jpy()), Ok(25));
    }

    #[test]
    fn parse_amount_rejects_bad_syntax() {
        for bad in [
            "", "abc", "1e5", "1,00", " 1", "1 ", "+1", "0x10", "1.", ".5", "-", "1.2.3", "--1",
            "١٢", "1_000",
        ] {
            assert_eq!(
                parse_amount(bad, Currency::EUR),
                Err(MoneyError::NotANumber),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_amount_decimals() {
        assert_eq!(
            parse_amount("25.001", Currency::EUR),
            Err(MoneyError::TooManyDecimals(2))
        );
        assert_eq!(
            parse_amount("25.000", Currency::EUR),
            Err(MoneyError::TooManyDecimals(2))
        );
        assert_eq!(
            parse_amount("25.5", jpy()),
            Err(MoneyError::TooManyDecimals(0))
        );
    }

    #[test]
    fn parse_amount_sign_and_size() {
        let eur = Currency::EUR;
        for bad in ["0", "0.00", "-5.00", "-0", "-99999999999999999999999"] {
            assert_eq!(
                parse_amount(bad, eur),
                Err(MoneyError::NotPositive),
                "{bad}"
            );
        }
        assert_eq!(
            parse_amount("100000000000.01", eur),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            parse_amount("99999999999999999999999999", eur),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            parse_amount("10000000000001", jpy()),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn parse_non_negative_allows_zero_only() {
        let eur = Currency::EUR;
        assert_eq!(parse_non_negative_amount("0", eur), Ok(0));
        assert_eq!(parse_non_negative_amount("0.00", eur), Ok(0));
        assert_eq!(parse_non_negative_amount("-0", eur), Ok(0));
        assert_eq!(parse_non_negative_amount("12.30", eur), Ok(1230));
        assert_eq!(
            parse_non_negative_amount("-0.01", eur),
            Err(MoneyError::NotPositive)
        );
        assert_eq!(
            parse_non_negative_amount("x", eur),
            Err(MoneyError::NotANumber)
        );
    }

    #[test]
    fn format_amount_examples() {
        assert_eq!(format_amount(2500, Currency::EUR), "25.00");
        assert_eq!(format_amount(5, Currency::EUR), "0.05");
        assert_eq!(format_amount(0, Currency::EUR), "0.00");
        assert_eq!(format_amount(-150, Currency::EUR), "-1.50");
        assert_eq!(format_amount(-5, Currency::EUR), "-0.05");
        assert_eq!(format_amount(25, jpy()), "25");
        assert_eq!(format_amount(-25, jpy()), "-25");
        assert_eq!(
            format_amount(i64::MIN, Currency::EUR),
            "-92233720368547758.08"
        );
    }

    #[test]
    fn apply_ratio_examples() {
        assert_eq!(apply_ratio(2001, dec("0.5")), 1001);
        assert_eq!(apply_ratio(-2001, dec("0.5")), -1001);
        assert_eq!(apply_ratio(2000001, dec("0.333")), 666000);
        assert_eq!(apply_ratio(2000, dec("0.333")), 666);
        assert_eq!(apply_ratio(1500, dec("1")), 1500);
        assert_eq!(apply_ratio(1, dec("0.5")), 1);
        assert_eq!(apply_ratio(1, dec("0.499999")), 0);
        assert_eq!(apply_ratio(i64::MAX, dec("1")), i64::MAX);
        assert_eq!(apply_ratio(i64::MAX, dec("2")), i64::MAX);
        assert_eq!(apply_ratio(i64::MIN, dec("3")), i64::MIN);
        assert_eq!(apply_ratio(i64::MAX, dec("-3")), i64::MIN);
    }

    #[test]
    fn ratio_parse() {
        assert_eq!(Ratio::parse("0.5").unwrap().value(), dec("0.5"));
        assert_eq!(Ratio::parse("1").unwrap().to_string_normalized(), "1");
        assert_eq!(Ratio::parse("1.000").unwrap().to_string_normalized(), "1");
        assert_eq!(Ratio::parse("0.500").unwrap().to_string_normalized(), "0.5");
        assert_eq!(
            Ratio::parse("0.333").unwrap().to_string_normalized(),
            "0.333"
        );
        assert_eq!(
            Ratio::parse("0.000001").unwrap().to_string_normalized(),
            "0.000001"
        );
        assert_eq!(Ratio::parse("0.50"), Ratio::parse("0.5"));
        for bad in ["0", "0.000", "1.01", "-0.5", "2", "1.000001", "00012"] {
            assert_eq!(Ratio::parse(bad), Err(RatioError::OutOfRange), "{bad}");
        }
        for bad in ["abc", "", "1e-1", ".5", "0.", " 0.5", "+0.5", "0,5"] {
            assert_eq!(Ratio::parse(bad), Err(RatioError::NotANumber), "{bad}");
        }
        assert_eq!(Ratio::parse("0.1234567"), Err(RatioError::TooPrecise));
        assert_eq!(Ratio::parse("0.5000000"), Err(RatioError::TooPrecise));
        assert_eq!(
            Ratio::parse("99999999999999999999999999999999999"),
            Err(RatioError::OutOfRange)
        );
    }

    #[test]
    fn ratio_serde_round_trip() {
        let de: StrDeserializer<'_, DeError> = "0.250".into_deserializer();
        let r = Ratio::deserialize(de).unwrap();
        assert_eq!(r.to_string(), "0.25");
        let de: StrDeserializer<'_, DeError> = "1.5".into_deserializer();
        assert!(Ratio::deserialize(de).is_err());
    }

    /// Reference half-up rounding of `minor * n / 10^6` in i128.
    fn reference_apply(minor: i64, n: u32) -> i64 {
        let product = i128::from(minor) * i128::from(n);
        let abs = (product.abs() + 500_000) / 1_000_000;
        let signed = if product < 0 { -abs } else { abs };
        i64::try_from(signed).unwrap()
    }

    fn ratio_from_millionths(n: u32) -> Decimal {
        Decimal::new(i64::from(n), 6)
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(minor in 1i64..=MAX_MINOR_UNITS) {
            for currency in [Currency::EUR, jpy()] {
                let s = format_amount(minor, currency);
                prop_assert_eq!(parse_amount(&s, currency), Ok(minor));
                prop_assert_eq!(parse_non_negative_amount(&s, currency), Ok(minor));
            }
        }

        #[test]
        fn negative_formats_are_rejected(minor in 1i64..=MAX_MINOR_UNITS) {
            let s = format_amount(-minor, Currency::EUR);
            prop_assert_eq!(parse_amount(&s, Currency::EUR), Err(MoneyError::NotPositive));
        }

        #[test]
        fn ratio_one_is_identity(minor in any::<i64>()) {
            prop_assert_eq!(apply_ratio(minor, Decimal::ONE), minor);
        }

        #[test]
        fn apply_ratio_is_monotonic(
            a in -MAX_MINOR_UNITS..=MAX_MINOR_UNITS,
            b in -MAX_MINOR_UNITS..=MAX_MINOR_UNITS,
            n in 1u32..=1_000_000,
        ) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let r = ratio_from_millionths(n);
            prop_assert!(apply_ratio(lo, r) <= apply_ratio(hi, r));
        }

        #[test]
        fn apply_ratio_matches_integer_reference(minor in any::<i64>(), n in 1u32..=1_000_000) {
            prop_assert_eq!(apply_ratio(minor, ratio_from_millionths(n)), reference_apply(minor, n));
        }

        #[test]
        fn ratio_parse_accepts_all_millionths(n in 1u32..=1_000_000) {
            let s = format!("{}.{:06}", n / 1_000_000, n % 1_000_000);
            let r = Ratio::parse(&s).unwrap();
            prop_assert_eq!(r.value(), ratio_from_millionths(n));
            let reparsed = Ratio::parse(&r.to_string_normalized()).unwrap();
            prop_assert_eq!(reparsed, r);
            let normalized = r.to_string_normalized();
            prop_assert!(!normalized.contains('.') || !normalized.ends_with('0'), "{}", normalized);
        }

        #[test]
        fn parsers_never_panic(s in any::<String>()) {
            let _ = parse_amount(&s, Currency::EUR);
            let _ = parse_non_negative_amount(&s, jpy());
            let _ = Ratio::parse(&s);
            let _ = Currency::parse(&s);
        }

        #[test]
        fn parsers_never_panic_on_numeric_like(s in "[-+0-9.,e ]{0,40}") {
            let _ = parse_amount(&s, Currency::EUR);
            let _ = Ratio::parse(&s);
        }
    }

    #[test]
    fn pledge_limits_round_inwards_to_each_currency() {
        let limits = PledgeLimits::parse("0.50", "10000.99").unwrap();
        assert_eq!(limits.in_minor_units(Currency::EUR), (50, 1_000_099));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(limits.in_minor_units(jpy), (1, 10_000));
        assert_eq!(
            PledgeLimits::parse("1.00", "10000.00")
                .unwrap()
                .in_minor_units(Currency::EUR),
            (100, 1_000_000)
        );
        for (min, max) in [
            ("0", "1"),
            ("-1", "1"),
            ("abc", "1"),
            ("1", ""),
            ("1", "0.0000001"),
        ] {
            assert!(PledgeLimits::parse(min, max).is_err(), "{min}..{max}");
        }
        assert_eq!(
            PledgeLimits::parse("5", "1"),
            Err((0, PledgeLimitsError::MinAboveMax))
        );
    }
}
