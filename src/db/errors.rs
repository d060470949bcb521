//! What a failed query means to its caller, whatever the backend: the one place that reads
//! diesel's error kinds, so that the edges (HTTP, console) convert through [`classify`].

/// A query's error as diesel reports it.
pub type QueryError = diesel::result::Error;

/// What a failed query means to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbErrorKind {
    /// The row asked for does not exist.
    NotFound,
    /// A unique constraint refused the write.
    UniqueViolation,
    /// The database cannot answer now (connection lost, serialization failure, SQLite busy):
    /// the same request may succeed later.
    Unavailable,
    /// Anything else, with diesel's description (logged, never shown).
    Other(String),
}

/// Classifies a query's error. A lost connection and a busy SQLite are logged here (warn).
pub fn classify(e: &QueryError) -> DbErrorKind {
    use diesel::result::{DatabaseErrorKind as K, Error as E};
    match e {
        E::NotFound => DbErrorKind::NotFound,
        E::DatabaseError(K::UniqueViolation, _) => DbErrorKind::UniqueViolation,
        E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => {
            tracing::warn!(detail = %info.message(), "database connection lost");
            DbErrorKind::Unavailable
        }
        E::DatabaseError(K::SerializationFailure, _) => DbErrorKind::Unavailable,
        E::DatabaseError(_, info)
            if info.message().contains("database is locked")
                || info.message().contains("database is busy") =>
        {
            tracing::warn!(detail = %info.message(), "sqlite busy");
            DbErrorKind::Unavailable
        }
        other => DbErrorKind::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind as K, Error as E};

    struct Info(&'static str);

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db(kind: K, message: &'static str) -> E {
        E::DatabaseError(kind, Box::new(Info(message)))
    }

    #[test]
    fn kinds() {
        assert_eq!(classify(&E::NotFound), DbErrorKind::NotFound);
        assert_eq!(
            classify(&db(K::UniqueViolation, "dup")),
            DbErrorKind::UniqueViolation
        );
        for kind in [
            K::ClosedConnection,
            K::UnableToSendCommand,
            K::SerializationFailure,
        ] {
            assert_eq!(classify(&db(kind, "x")), DbErrorKind::Unavailable);
        }
        assert_eq!(
            classify(&db(K::Unknown, "database is locked")),
            DbErrorKind::Unavailable
        );
        assert_eq!(
            classify(&db(K::ForeignKeyViolation, "fk")),
            DbErrorKind::Other("fk".to_string())
        );
        assert_eq!(
            classify(&E::RollbackTransaction),
            DbErrorKind::Other(E::RollbackTransaction.to_string())
        );
    }
}
