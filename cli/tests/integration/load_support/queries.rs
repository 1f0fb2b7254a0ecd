//! Reading a test database back, one call per shape of answer: a test states its SQL and
//! what it expects, and the driver's plumbing (query, await, unwrap, collect) is written once.
//! Every helper panics on a failed query: in a test that is the failure to report.

use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Client, Row};

/// The parameters of a query, as the driver takes them.
pub type Params<'a> = [&'a (dyn ToSql + Sync)];

/// A row read as a tuple of its first columns, in order.
pub trait FromRow {
    fn from_row(row: &Row) -> Self;
}

impl<A, B> FromRow for (A, B)
where
    A: for<'a> FromSql<'a>,
    B: for<'a> FromSql<'a>,
{
    fn from_row(row: &Row) -> Self {
        (row.get(0), row.get(1))
    }
}

impl<A, B, C> FromRow for (A, B, C)
where
    A: for<'a> FromSql<'a>,
    B: for<'a> FromSql<'a>,
    C: for<'a> FromSql<'a>,
{
    fn from_row(row: &Row) -> Self {
        (row.get(0), row.get(1), row.get(2))
    }
}

/// The first column of every row of a query without parameters, collected (a `Vec`, a set).
pub async fn column<T, C>(c: &Client, sql: &str) -> C
where
    T: for<'a> FromSql<'a>,
    C: FromIterator<T>,
{
    column_where(c, sql, &[]).await
}

/// The first column of every row of a query, collected.
pub async fn column_where<T, C>(c: &Client, sql: &str, params: &Params<'_>) -> C
where
    T: for<'a> FromSql<'a>,
    C: FromIterator<T>,
{
    let found = c.query(sql, params).await;
    let found = found.unwrap_or_else(|e| panic!("{sql}: {e}"));
    found.iter().map(|row| row.get(0)).collect()
}

/// Every row of a query, each as a tuple, collected (a `Vec`, a map from the first column).
pub async fn rows<T, C>(c: &Client, sql: &str, params: &Params<'_>) -> C
where
    T: FromRow,
    C: FromIterator<T>,
{
    let found = c.query(sql, params).await;
    let found = found.unwrap_or_else(|e| panic!("{sql}: {e}"));
    found.iter().map(T::from_row).collect()
}

/// The first column of the one row a query returns (a count, a flag, a value).
pub async fn scalar<T>(c: &Client, sql: &str, params: &Params<'_>) -> T
where
    T: for<'a> FromSql<'a>,
{
    let row = c.query_one(sql, params).await;
    row.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}
