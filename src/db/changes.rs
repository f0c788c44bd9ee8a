//! Whether anything in the database changed, known without a query: a `Stamp` taken before a
//! read equals one taken later only if no transaction committed in between, in this process
//! or in any other (the CLI, a `sqlite3` shell).
//!
//! On SQLite in WAL mode every commit rewrites the wal-index header at the start of the
//! `-shm` file, which every connection to the database maps: `mxFrame` grows with each commit
//! and a restarted WAL gets new salts, and the header's checksum covers both
//! (<https://www.sqlite.org/walformat.html>, "The WAL-Index Header"). Processes of different
//! SQLite versions share that file, so its layout is fixed. This reads the header the way
//! SQLite's readers do: the two copies, the first, a barrier, the second; a writer updates
//! them in the other order, so equal copies are a header no commit was halfway through.
//! A connection is kept open for as long as the map: while one is, SQLite never truncates
//! the file.
//!
//! PostgreSQL has no such file, and other instances write to it: no stamps there.

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::Mutex;

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl, SqliteConnection};

/// The state of the database at one moment, as far as changes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Writes this process ran (a belt beside the header's braces).
    writes: u64,
    header: [u32; HEADER_WORDS],
}

/// The wal-index header: 48 bytes, twice.
const HEADER_WORDS: usize = 12;
/// The byte of the header that says it was written (`isInit`).
const IS_INIT: usize = 12;

pub struct Changes {
    writes: AtomicU64,
    header: Option<SharedHeader>,
}

impl Changes {
    /// Stamps for the SQLite file at `path`, or none when its wal-index cannot be mapped (a
    /// database not in WAL mode, a platform without the file).
    pub fn sqlite(path: &str) -> Changes {
        let header = SharedHeader::open(path)
            .map_err(|reason| tracing::warn!(%reason, "no change stamps for the SQLite file: reads are not kept"))
            .ok();
        Changes { writes: AtomicU64::new(0), header }
    }

    /// No stamps (PostgreSQL).
    pub fn none() -> Changes {
        Changes { writes: AtomicU64::new(0), header: None }
    }

    /// This process wrote, or may have.
    pub fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }

    /// The database's state now, or `None` when it cannot be told (no header, or a commit
    /// halfway through writing it).
    pub fn stamp(&self) -> Option<Stamp> {
        let writes = self.writes.load(Ordering::SeqCst);
        let header = self.header.as_ref()?.read()?;
        Some(Stamp { writes, header })
    }
}

/// The first page of the `-shm` file, mapped read-only.
struct SharedHeader {
    words: *const u32,
    /// Keeps SQLite from truncating the file under the map (it does so only when it opens the
    /// first connection to the database).
    _connection: Mutex<SqliteConnection>,
}

// The map is read-only and lives as long as the value; reads are volatile.
unsafe impl Send for SharedHeader {}
unsafe impl Sync for SharedHeader {}

const MAPPED: usize = 4096;

impl SharedHeader {
    fn open(path: &str) -> Result<SharedHeader, String> {
        let mut connection = SqliteConnection::establish(path).map_err(|e| e.to_string())?;
        // A read, so the wal-index exists and holds a header.
        connection
            .batch_execute("PRAGMA busy_timeout = 10000; SELECT count(*) FROM sqlite_master;")
            .map_err(|e| e.to_string())?;
        let journal: String = diesel::dsl::sql::<diesel::sql_types::Text>("PRAGMA journal_mode")
            .get_result(&mut connection)
            .map_err(|e| e.to_string())?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(format!("the journal mode is {journal}, not WAL"));
        }
        let file = std::fs::File::open(format!("{path}-shm")).map_err(|e| format!("opening {path}-shm: {e}"))?;
        let length = file.metadata().map_err(|e| e.to_string())?.len();
        if length < (2 * HEADER_WORDS * 4) as u64 {
            return Err(format!("{path}-shm holds {length} bytes, less than a header"));
        }
        use std::os::fd::AsRawFd;
        // SAFETY: a shared read-only map of a file that stays at least a page long while
        // `connection` is open; unmapped in `drop`.
        let map =
            unsafe { libc::mmap(std::ptr::null_mut(), MAPPED, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), 0) };
        if map == libc::MAP_FAILED {
            return Err(format!("mapping {path}-shm: {}", std::io::Error::last_os_error()));
        }
        let header = SharedHeader { words: map as *const u32, _connection: Mutex::new(connection) };
        header.read().ok_or("the wal-index header is not written yet")?;
        Ok(header)
    }

    fn read(&self) -> Option<[u32; HEADER_WORDS]> {
        // SAFETY: both copies are within the mapped page; volatile, because other processes
        // write them.
        let (first, second) = unsafe {
            let first = std::ptr::read_volatile(self.words as *const [u32; HEADER_WORDS]);
            fence(Ordering::SeqCst);
            let second = std::ptr::read_volatile(self.words.add(HEADER_WORDS) as *const [u32; HEADER_WORDS]);
            (first, second)
        };
        let initialized = first[IS_INIT / 4].to_ne_bytes()[0] != 0;
        (first == second && initialized).then_some(first)
    }
}

impl Drop for SharedHeader {
    fn drop(&mut self) {
        // SAFETY: mapped in `open` with this length.
        unsafe {
            libc::munmap(self.words as *mut libc::c_void, MAPPED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> (std::path::PathBuf, SqliteConnection) {
        let dir = std::env::temp_dir().join(format!("provisioning-changes-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER);").unwrap();
        (path, conn)
    }

    #[test]
    fn a_commit_from_any_connection_changes_the_stamp_and_a_read_does_not() {
        let (path, mut writer) = database();
        let changes = Changes::sqlite(path.to_str().unwrap());
        let before = changes.stamp().expect("a stamp on a WAL database");
        writer.batch_execute("SELECT count(*) FROM t").unwrap();
        assert_eq!(changes.stamp(), Some(before), "a read changes nothing");
        writer.batch_execute("INSERT INTO t VALUES (1)").unwrap();
        let after = changes.stamp().unwrap();
        assert_ne!(after, before, "another connection's commit");
        // A connection opened later, as another process would (the header is the file's).
        let mut other = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        other.batch_execute("UPDATE t SET v = 2").unwrap();
        assert_ne!(changes.stamp().unwrap(), after);
        let settled = changes.stamp().unwrap();
        // A checkpoint that restarts the log, then a write: new salts, still a change.
        other.batch_execute("PRAGMA wal_checkpoint(TRUNCATE); INSERT INTO t VALUES (3)").unwrap();
        assert_ne!(changes.stamp().unwrap(), settled);
        let settled = changes.stamp().unwrap();
        changes.wrote();
        assert_ne!(changes.stamp().unwrap(), settled, "this process's own writes count");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn no_stamps_without_a_wal_index() {
        let dir = std::env::temp_dir().join(format!("provisioning-changes-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("db.sqlite");
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        conn.batch_execute("PRAGMA journal_mode = DELETE; CREATE TABLE t (v INTEGER);").unwrap();
        assert_eq!(Changes::sqlite(path.to_str().unwrap()).stamp(), None);
        assert_eq!(Changes::none().stamp(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
