//! SQLite access: one writer thread that commits queued writes in groups, a
//! pool of readers, and the async boundary.

mod backup;
pub mod migrate;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2::ManageConnection as _;
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use backup::backup_database;

use crate::config::{DatabaseConfig, Synchronous};
use crate::error::Error;

type SqlitePool = Pool<SqliteConnectionManager>;

/// Connections for `read_here`: one per executor thread on a small machine,
/// and a spare.
const NEARBY_CONNECTIONS: u32 = 4;

/// Handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    /// The writer thread's queue (`write`).
    writer: std::sync::Arc<writer::Writer>,
    /// A write connection for the calling thread (`write_now`: start-up and
    /// the command line), opened when first used.
    direct: SqlitePool,
    readers: SqlitePool,
    /// A few reader connections for primary-key reads of hot rows (the
    /// session check) done on the request's own thread (`read_here`).
    nearby: SqlitePool,
    /// Twice as many reads at once as there are reader connections (one
    /// running, one ready on each): a read waits here, not on a blocking
    /// thread of its own (fewer threads, and fewer allocator arenas holding
    /// memory).
    read_turns: std::sync::Arc<tokio::sync::Semaphore>,
    path: PathBuf,
    /// Counts commits, so workers (outbox, events) wake when something was written.
    commits: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

/// Counts for one pool, shown in `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub name: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl Db {
    /// Opens (creating if needed) the database at `path`, refuses one written by
    /// a newer Helpline, applies pending migrations and builds the pools.
    pub fn open(path: &Path, config: &DatabaseConfig) -> Result<Self, Error> {
        make_private(path)?;
        migrate::migrate_file(path, config)?;

        let writer = writer::Writer::start(manager(path, config, false).connect()?)?;
        let direct = Pool::builder()
            .max_size(1)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(10))
            .build(manager(path, config, false))?;
        let readers = Pool::builder()
            .max_size(config.read_pool_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager(path, config, true))?;
        let nearby = Pool::builder()
            .max_size(NEARBY_CONNECTIONS)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager(path, config, true))?;
        Ok(Self {
            writer: std::sync::Arc::new(writer),
            direct,
            readers,
            nearby,
            read_turns: std::sync::Arc::new(tokio::sync::Semaphore::new(
                2 * config.read_pool_size as usize,
            )),
            path: path.to_path_buf(),
            commits: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Changes whenever a write transaction of this process commits.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// Runs `f` on a reader connection, off the async executor.
    pub async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let pool = self.readers.clone();
        // The turn goes with the read: a caller that stops waiting does not
        // free it while the read still runs.
        let turn = self
            .read_turns
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Unavailable("the database is closing".into()))?;
        run_blocking(move || {
            let _turn = turn;
            let conn = pool.get()?;
            f(&conn)
        })
        .await
    }

    /// Runs `f` on the calling (async) thread when a nearby connection is
    /// free, else as `read` does. Only for a read of a few hot rows by
    /// primary key (microseconds, where handing the read to a blocking thread
    /// and back costs more than the read): a WAL reader never waits for the
    /// writer, so this does not hold up the executor.
    pub async fn read_here<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        match self.nearby.try_get() {
            Some(conn) => f(&conn),
            None => self.read(f).await,
        }
    }

    /// Runs `f` on a reader connection on the calling thread (start-up and
    /// command-line use, outside request handling).
    pub fn read_now<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let conn = self.readers.get()?;
        f(&conn)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the calling thread
    /// (command-line use, outside request handling).
    pub fn write_now<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut conn = self.direct.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        self.commits.send_modify(|n| *n = n.wrapping_add(1));
        Ok(value)
    }

    /// Runs `f` on the writer thread inside its own savepoint of a group
    /// transaction, and answers once the group has committed. When `f`
    /// fails (or panics) only its own work is rolled back; when the commit
    /// fails, nothing of the group is kept and every caller hears so.
    pub async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let value = self.writer.write(f).await?;
        self.commits.send_modify(|n| *n = n.wrapping_add(1));
        Ok(value)
    }

    /// Writes a consistent copy of the live database to `dest` (which must not exist).
    pub async fn backup(&self, dest: PathBuf) -> Result<(), Error> {
        let source = self.path.clone();
        run_blocking(move || backup::backup_database(&source, &dest)).await
    }

    pub fn pool_stats(&self) -> [PoolStats; 2] {
        let stats = |name, pool: &SqlitePool| {
            let state = pool.state();
            PoolStats {
                name,
                open: state.connections,
                idle: state.idle_connections,
                max: pool.max_size(),
            }
        };
        let queued = u32::try_from(self.writer.pending()).unwrap_or(u32::MAX);
        [
            PoolStats {
                name: "writer",
                open: 1,
                idle: u32::from(queued == 0),
                max: 1,
            },
            stats("reader", &self.readers),
        ]
    }
}

async fn run_blocking<T, F>(f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => Err(Error::Internal(format!("database task cancelled: {join}"))),
    }
}

fn manager(path: &Path, config: &DatabaseConfig, read_only: bool) -> SqliteConnectionManager {
    let synchronous = match config.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    let busy = config.busy_timeout_ms;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    SqliteConnectionManager::file(path)
        .with_flags(flags)
        .with_init(move |conn| {
            conn.busy_timeout(Duration::from_millis(busy))?;
            // Lists, searches and writes use a few dozen distinct statements.
            conn.set_prepared_statement_cache_capacity(128);
            conn.execute_batch(&format!(
                "PRAGMA foreign_keys = ON; PRAGMA synchronous = {synchronous};"
            ))?;
            if read_only {
                conn.execute_batch("PRAGMA query_only = ON;")?;
            } else {
                // A statement whose triggers write other rows keeps a
                // statement journal (to undo itself alone); on disk that is a
                // temporary file written page by page for every such insert.
                conn.execute_batch("PRAGMA temp_store = MEMORY;")?;
            }
            Ok(())
        })
}

/// ` WHERE a AND b` from fixed condition fragments (values are bound separately),
/// or nothing when there are none.
pub fn where_clause<S: AsRef<str>>(clauses: &[S]) -> String {
    if clauses.is_empty() {
        return String::new();
    }
    let joined: Vec<&str> = clauses.iter().map(AsRef::as_ref).collect();
    format!(" WHERE {}", joined.join(" AND "))
}

/// Current time as stored in the database: RFC 3339 UTC with milliseconds and `Z`.
pub fn now() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

pub fn format_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Makes the database file (created now when missing) readable by its owner
/// only, and its WAL and shared-memory files with it (SQLite gives those the
/// database file's mode): it holds every message, hash and link.
pub fn make_private(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if let Ok(meta) = std::fs::metadata(&file) {
                if meta.permissions().mode() & 0o077 != 0 {
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| Error::io(format!("making {} private", file.display()), e))?;
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc_with_millis() {
        let t = time::macros::datetime!(2026-11-22 10:04:05.123 +2);
        assert_eq!(format_time(t), "2026-11-22T08:04:05.123Z");
    }
}
