//! Statements SQLite keeps prepared although diesel would not.
//!
//! diesel caches a prepared statement only when it can tell its SQL from its type, so it never
//! caches an `UPDATE`, an upsert or an `INSERT` with optional values: on SQLite each execution
//! parses its SQL again. In the payment confirmation, which runs inside SQLite's single write
//! transaction, that parsing was about a tenth of the service's CPU (issue 24's profile).
//! [`Cached`] keys the statement by its SQL text instead (what diesel does for queries without a
//! static type id), which is right whatever the statement's shape: a different SQL text is a
//! different statement (ADR 0012). Only for statements of one row: a many-row insert would
//! fill the cache with one statement per row count.

use super::DbConnection;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::methods::{ExecuteDsl, LoadQuery};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{PgConnection, QueryResult, RunQueryDsl};

/// A statement whose SQLite prepared statement is kept and found again by its SQL text.
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(pub Q);

impl<Q> QueryId for Cached<Q> {
    type QueryId = ();
    // No static id: the statement cache keys it by its SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Cached<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Sqlite) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q: Query> Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> RunQueryDsl<SqliteConnection> for Cached<Q> {}

/// Executes a one-row statement; on SQLite through [`Cached`].
pub fn execute<Q>(conn: &mut DbConnection, statement: Q) -> QueryResult<usize>
where
    Q: ExecuteDsl<PgConnection, Pg> + QueryFragment<Sqlite>,
{
    match conn {
        DbConnection::Postgresql(c) => ExecuteDsl::execute(statement, c),
        DbConnection::Sqlite(c) => ExecuteDsl::execute(Cached(statement), c),
    }
}

/// Runs a one-row statement with `RETURNING`; on SQLite through [`Cached`].
pub fn get_result<'q, Q, U>(conn: &mut DbConnection, statement: Q) -> QueryResult<U>
where
    Q: LoadQuery<'q, PgConnection, U> + Query + QueryFragment<Sqlite> + 'q,
    Cached<Q>: LoadQuery<'q, SqliteConnection, U>,
{
    match conn {
        DbConnection::Postgresql(c) => RunQueryDsl::get_result(statement, c),
        DbConnection::Sqlite(c) => RunQueryDsl::get_result(Cached(statement), c),
    }
}
