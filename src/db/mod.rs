//! Storage: one connection type over SQLite and PostgreSQL, picked by the URL scheme.

pub mod changes;
pub mod errors;
pub mod grants;
pub mod rows;
pub mod schema;
pub mod sql;
pub mod statements;
pub mod time;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{ConnectionError, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::ApiError;

/// Every query runs on this: diesel generates `Connection` for the enum, dispatching to the
/// backend the pool opened.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

impl AnyConnection {
    pub fn backend(&self) -> Backend {
        match self {
            AnyConnection::Postgresql(_) => Backend::Postgres,
            AnyConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs `$body` with `$c` bound to the backend's own connection. diesel's `MultiConnection`
/// writes a statement's SQL anew on every execution, to hand it on (a tenth of a read's time);
/// on the backend's connection a statement of static shape is found prepared by its type
/// alone. Inside a transaction begun on the `AnyConnection` this is the same connection, in the
/// same transaction.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Sqlite($c) => $body,
            $crate::db::AnyConnection::Postgresql($c) => $body,
        }
    };
}
pub(crate) use on_backend;

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite://path` (relative) or `sqlite:///absolute/path`; `postgres://` or `postgresql://`.
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(format!(
                "DATABASE_URL must start with sqlite:// or postgres:// (got {:?})",
                url.split(':').next().unwrap_or_default()
            ))
        }
    }
}

/// The file path inside a `sqlite:` URL.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url)
}

/// An r2d2 manager that opens the backend named by the URL scheme. diesel's `establish` on the
/// enum tries each backend in turn and reports only the last failure; opening the right one
/// directly keeps the real error (wrong password, missing file…) in front of the operator.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl ConnectionManager {
    pub fn new(url: &str) -> Result<Self, String> {
        Ok(ConnectionManager { url: url.to_string(), backend: Backend::from_url(url)? })
    }
}

/// A SQLite database the service can keep: a file (not in memory, where every pooled
/// connection would get a database of its own), and one it may write, in a folder it may write
/// (SQLite writes its journal beside it).
pub fn check_sqlite_file(url: &str) -> Result<(), String> {
    let path = sqlite_path(url);
    let bare = path.split('?').next().unwrap_or_default();
    if bare.is_empty() || bare == ":memory:" || path.contains("mode=memory") {
        return Err(format!(
            "DATABASE_URL {url:?} names no file: give one, such as sqlite://provisioning.db (an in-memory \
             database would be a different, empty one for every pooled connection)"
        ));
    }
    let file = std::path::Path::new(bare);
    let folder = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let unwritable = |what: &str, error: std::io::Error| format!("{what} is not writable: {error}");
    if file.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(file)
            .map_err(|e| unwritable(&format!("the database file {bare}"), e))?;
    }
    let probe = folder.join(format!(".provisioning-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| unwritable(&format!("the database's folder {}", folder.display()), e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = AnyConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<AnyConnection, ConnectionError> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url).map(AnyConnection::Postgresql),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(sqlite_path(&self.url))?;
                // Integrity, concurrent readers beside one writer, and waiting for the writer's
                // lock instead of failing at once.
                // busy_timeout first: the pool opens several connections at once, and switching a
                // new file to WAL takes a lock the others must wait for.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                )
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), ConnectionError> {
        diesel::r2d2::R2D2Connection::ping(conn).map_err(ConnectionError::CouldntSetupConfiguration)
    }

    /// Checked when a connection goes back to the pool: one left mid-transaction, or whose
    /// server went away, is dropped instead of reused.
    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// An arbitrary constant: the PostgreSQL advisory lock that keeps instances starting side by
/// side from running the same migration twice.
const MIGRATION_LOCK: i64 = 7_245_913_000_001;

/// Applies every pending migration; returns how many ran.
pub fn migrate(conn: &mut AnyConnection) -> Result<usize, String> {
    let applied = match conn {
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        AnyConnection::Postgresql(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|e| format!("taking the migration lock: {e}"))?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len());
            let _ = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            result
        }
    };
    applied.map_err(|e| format!("running migrations: {e}"))
}

/// Migrations this binary has that the database has not applied yet.
pub fn pending_migrations(conn: &mut AnyConnection) -> Result<usize, String> {
    let pending = match conn {
        AnyConnection::Sqlite(c) => c.pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        AnyConnection::Postgresql(c) => c.pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
    };
    pending.map_err(|e| format!("reading the applied migrations: {e}"))
}

/// The pool's connections at one moment, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub open: u32,
    pub idle: u32,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

/// The shared handle handlers use. Writes and PostgreSQL's queries run on actix's blocking
/// pool, so a slow query never stalls an async worker; SQLite's reads run in place (`read`).
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    backend: Backend,
    /// SQLite has one writer at a time, and a deferred transaction that reads before it writes
    /// fails at once (SQLITE_BUSY) when another writer got there first, whatever busy_timeout
    /// says. Writers of this process take turns here instead; PostgreSQL does not need it.
    sqlite_writer: std::sync::Arc<std::sync::Mutex<()>>,
    /// How many are waiting for a pooled connection now.
    waiting: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Whether anything changed since a read (`stamp`).
    changes: std::sync::Arc<changes::Changes>,
}

/// Counts one waiter while it lives.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Database {
    pub fn connect(url: &str, pool_size: u32) -> Result<Database, String> {
        let manager = ConnectionManager::new(url)?;
        if manager.backend == Backend::Sqlite {
            check_sqlite_file(url)?;
        }
        let backend = manager.backend;
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .connection_timeout(std::time::Duration::from_secs(10))
            // A ping on every checkout costs a round trip per query; broken connections are
            // caught by `has_broken` when they come back, and idle ones are recycled.
            .test_on_check_out(false)
            .idle_timeout(Some(std::time::Duration::from_secs(300)))
            .build(manager)
            .map_err(|e| format!("connecting to the database: {e}"))?;
        let changes = match backend {
            Backend::Sqlite => changes::Changes::sqlite(sqlite_path(url).split('?').next().unwrap_or_default()),
            Backend::Postgres => changes::Changes::none(),
        };
        Ok(Database {
            pool,
            backend,
            sqlite_writer: Default::default(),
            waiting: Default::default(),
            changes: std::sync::Arc::new(changes),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database's state now, as far as changes go: equal stamps before and after a read
    /// mean nothing committed in between, here or in another process. `None` on PostgreSQL,
    /// where other instances write without this one knowing.
    pub fn stamp(&self) -> Option<changes::Stamp> {
        self.changes.stamp()
    }

    pub fn get(&self) -> Result<PooledConnection, ApiError> {
        let _waiting = Waiting::new(&self.waiting);
        Ok(self.pool.get()?)
    }

    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            open: state.connections,
            idle: state.idle_connections,
            waiting: self.waiting.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Whether the database answers, within a couple of seconds, and has every migration this
    /// binary knows: the reason when not.
    pub async fn readiness(&self) -> Result<(), String> {
        let pool = self.pool.clone();
        let checked = actix_web::web::block(move || {
            let mut conn = pool
                .get_timeout(std::time::Duration::from_secs(2))
                .map_err(|e| format!("no database connection within 2 seconds: {e}"))?;
            conn.batch_execute("SELECT 1").map_err(|e| format!("the database does not answer: {e}"))?;
            match pending_migrations(&mut conn)? {
                0 => Ok(()),
                pending => Err(format!("{pending} migration(s) of this version are not applied yet")),
            }
        })
        .await;
        checked.map_err(|e| format!("the check could not run: {e}"))?
    }

    /// Runs `work` with a pooled connection on the blocking pool. It may write: stamps taken
    /// before it ends differ from those after.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let result = self.on_blocking_pool(work).await;
        self.changes.wrote();
        result
    }

    async fn on_blocking_pool<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let (pool, waiting) = (self.pool.clone(), self.waiting.clone());
        // The request's span goes with the work, so what it logs there says which request.
        let span = tracing::Span::current();
        actix_web::web::block(move || {
            let _entered = span.enter();
            let mut conn = {
                let _waiting = Waiting::new(&waiting);
                pool.get()?
            };
            work(&mut conn)
        })
        .await?
    }

    /// A read. On SQLite, with a pooled connection free right now, it runs here, on the calling
    /// async worker: an embedded read takes microseconds (WAL readers never wait for the
    /// writer), less than the two thread hand-offs of the blocking pool. Otherwise, and always
    /// on PostgreSQL (a network round trip), it runs like `run`.
    pub async fn read<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
    {
        if self.backend == Backend::Sqlite {
            if let Some(mut conn) = self.pool.try_get() {
                return work(&mut conn);
            }
        }
        self.on_blocking_pool(work).await
    }

    /// Like `run`, inside one transaction: everything `work` wrote is kept, or nothing is.
    pub async fn transaction<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let writer = self.sqlite_writer.clone();
        let backend = self.backend;
        self.run(move |conn| {
            let _turn = match backend {
                // A poisoned lock only means another writer panicked; the database rolled back.
                Backend::Sqlite => Some(writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())),
                Backend::Postgres => None,
            };
            conn.transaction(work)
        })
        .await
    }
}
