//! The database: PostgreSQL or SQLite through sqlx's `Any` driver, one set of queries for both
//! (placeholders written `$1`, `$2`, ...; SQLite gets them as `?1`, `?2`, ...), versioned
//! migrations per backend in `migrations/postgres` and `migrations/sqlite` (the same versions,
//! the same tables).

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// A database error with what was being done.
#[derive(Debug)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

pub fn err(what: &str) -> impl Fn(sqlx::Error) -> DbError + '_ {
    move |e| DbError(format!("{what}: {e}"))
}

static PG: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

impl Db {
    /// Connects to `url` (`postgres://...`, `sqlite://path` or a bare file path, created when
    /// missing) and applies the migrations not yet applied.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (url.to_string(), Backend::Postgres)
        } else {
            let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
            if path.is_empty() {
                return Err(DbError("empty SQLite path".into()));
            }
            let sep = if path.contains('?') { '&' } else { '?' };
            (format!("sqlite://{path}{sep}mode=rwc"), Backend::Sqlite)
        };
        let opts = AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 4 } else { 8 }).after_connect(
            move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // per connection: a busy writer makes the others wait instead of failing
                        use sqlx::Executor;
                        conn.execute("PRAGMA busy_timeout=5000").await?;
                        conn.execute("PRAGMA synchronous=NORMAL").await?;
                    }
                    Ok(())
                })
            },
        );
        // one connection first: a wrong address fails at once (the pool would retry until its
        // acquire timeout)
        let probe = {
            use sqlx::Connection;
            sqlx::AnyConnection::connect(&url).await
        };
        let pool = match probe {
            Ok(c) => {
                use sqlx::Connection;
                let _ = c.close().await;
                opts.connect(&url).await
            }
            Err(e) => Err(e),
        }
        .map_err(|e| {
            DbError(match backend {
                Backend::Postgres => format!(
                    "cannot connect to PostgreSQL at {}: {e} (is the server running? scripts/pg starts a throwaway one)",
                    redact(&url)
                ),
                Backend::Sqlite => format!("cannot open the SQLite file {url}: {e}"),
            })
        })?;
        let db = Db { pool, backend };
        if backend == Backend::Sqlite {
            // one writer, readers alongside it; a busy writer waits instead of failing
            // a property of the file: once is enough
            sqlx::query("PRAGMA journal_mode=WAL").execute(&db.pool).await.map_err(err("PRAGMA journal_mode=WAL"))?;
        }
        let migrator = match backend {
            Backend::Postgres => &PG,
            Backend::Sqlite => &SQLITE,
        };
        migrator.run(&db.pool).await.map_err(|e| DbError(format!("migrations: {e}")))?;
        Ok(db)
    }

    /// `sql` with its `$n` placeholders in this backend's syntax.
    pub fn sql(&self, sql: &str) -> String {
        match self.backend {
            Backend::Postgres => sql.to_string(),
            Backend::Sqlite => sql.replace('$', "?"),
        }
    }

    pub async fn progress(&self, key: &str) -> Result<Option<String>, DbError> {
        let row: Option<AnyRow> = sqlx::query(&self.sql("SELECT value FROM progress WHERE key = $1"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(err("reading progress"))?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }

    /// Rows of `table` (tests, status).
    pub async fn count(&self, table: &'static str) -> Result<i64, DbError> {
        let row = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .map_err(err("counting rows"))?;
        Ok(row.get::<i64, _>(0))
    }

    /// The gaps in every stream: `(stream, first missing seq, next seq present)`, found by the
    /// database (window function) over all stored events, so the order in which transactions
    /// arrived does not matter. A stream's numbering starts at 1; an account stream restarts at 1
    /// after `MarginAccountClosed` (an account closed and created again within one slot can show a
    /// false gap: both lives are ordered by slot, then number).
    pub async fn gaps(&self) -> Result<Vec<(String, i64, i64)>, DbError> {
        let rows = sqlx::query(
            "SELECT stream, prev, seq FROM (
               SELECT stream, seq, name,
                      LAG(seq) OVER (PARTITION BY stream ORDER BY slot, seq) AS prev,
                      LAG(name) OVER (PARTITION BY stream ORDER BY slot, seq) AS prev_name
               FROM events WHERE seq IS NOT NULL
             ) s
             WHERE (prev IS NULL AND seq <> 1)
                OR (prev IS NOT NULL AND seq <> prev + 1 AND NOT (prev_name = 'MarginAccountClosed' AND seq = 1))",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(err("finding gaps"))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let prev: Option<i64> = r.get(1);
                (r.get::<String, _>(0), prev.unwrap_or(0) + 1, r.get::<i64, _>(2))
            })
            .collect())
    }
}

fn redact(url: &str) -> String {
    // postgres://user:password@host/db -> postgres://user:***@host/db
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(super::redact("postgres://u:secret@127.0.0.1/db"), "postgres://u:***@127.0.0.1/db");
        assert_eq!(super::redact("postgres://127.0.0.1/db"), "postgres://127.0.0.1/db");
    }
}
