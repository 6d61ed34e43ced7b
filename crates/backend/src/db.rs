//! The SQLite store: users, blacklisted refresh tokens, and persisted signing keys.
//!
//! One connection behind a mutex: SQLite serialises writers anyway, `:memory:` needs a single
//! connection, and callers run these blocking methods on tokio's blocking pool. Blacklisting
//! is one `INSERT` against a primary key, so "check then blacklist" cannot race: of two
//! concurrent rotations of one refresh token exactly one wins (simplejwt's is not atomic).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use crate::config::DatabaseLocation;

/// A row of the users table.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    /// Django-format hash, see [`crate::password`].
    pub password_hash: String,
    pub is_active: bool,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

/// Outcome of [`Database::create_user`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewUser {
    Created(User),
    UsernameTaken,
}

/// Outcome of [`Database::blacklist`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blacklisting {
    /// This call blacklisted the token.
    Added,
    /// It already was blacklisted (by an earlier or a concurrent request).
    AlreadyBlacklisted,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL DEFAULT '',
    password TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1,
    date_joined INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blacklisted_tokens (
    jti TEXT PRIMARY KEY,
    user_id TEXT,
    expires_at INTEGER NOT NULL,
    blacklisted_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// The database handle. Cheap to share behind an `Arc`.
pub struct Database {
    conn: Mutex<Connection>,
}

impl Database {
    /// Opens (creating if needed) the database and its schema.
    pub fn open(location: &DatabaseLocation) -> rusqlite::Result<Self> {
        let conn = match location {
            DatabaseLocation::Memory => Connection::open_in_memory()?,
            DatabaseLocation::File(path) => Self::open_file(path)?,
        };
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn open_file(path: &Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open(path)?;
        // WAL lets another process (a second server on the same file) read while we write.
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        Ok(conn)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent: keep going.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn user_by_username(&self, username: &str) -> rusqlite::Result<Option<User>> {
        self.conn()
            .query_row(
                "SELECT id, username, email, password, is_active FROM users WHERE username = ?1",
                params![username],
                user_from_row,
            )
            .optional()
    }

    pub fn user_by_id(&self, id: i64) -> rusqlite::Result<Option<User>> {
        self.conn()
            .query_row(
                "SELECT id, username, email, password, is_active FROM users WHERE id = ?1",
                params![id],
                user_from_row,
            )
            .optional()
    }

    pub fn user_count(&self) -> rusqlite::Result<i64> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))
    }

    /// Creates the user, or sets the password of an existing one and re-activates it.
    pub fn upsert_user(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> rusqlite::Result<i64> {
        self.conn().query_row(
            "INSERT INTO users (username, password, is_active, date_joined) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT(username) DO UPDATE SET password = excluded.password, is_active = 1
             RETURNING id",
            params![username, password_hash, now],
            |row| row.get(0),
        )
    }

    /// Creates a user unless the username is taken (atomically: the UNIQUE index decides).
    pub fn create_user(
        &self,
        username: &str,
        email: &str,
        password_hash: &str,
        now: i64,
    ) -> rusqlite::Result<NewUser> {
        let inserted = self.conn().query_row(
            "INSERT INTO users (username, email, password, is_active, date_joined)
             VALUES (?1, ?2, ?3, 1, ?4) RETURNING id",
            params![username, email, password_hash, now],
            |row| row.get::<_, i64>(0),
        );
        match inserted {
            Ok(id) => Ok(NewUser::Created(User {
                id,
                username: username.to_owned(),
                email: email.to_owned(),
                password_hash: password_hash.to_owned(),
                is_active: true,
            })),
            Err(err) if is_constraint_violation(&err) => Ok(NewUser::UsernameTaken),
            Err(err) => Err(err),
        }
    }

    pub fn set_user_active(&self, id: i64, active: bool) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE users SET is_active = ?2 WHERE id = ?1",
            params![id, active],
        )?;
        Ok(())
    }

    pub fn delete_user(&self, id: i64) -> rusqlite::Result<()> {
        self.conn()
            .execute("DELETE FROM users WHERE id = ?1", params![id])?;
        Ok(())
    }

    pub fn is_blacklisted(&self, jti: &str) -> rusqlite::Result<bool> {
        self.conn().query_row(
            "SELECT EXISTS(SELECT 1 FROM blacklisted_tokens WHERE jti = ?1)",
            params![jti],
            |row| row.get(0),
        )
    }

    /// Blacklists a token id; tells whether this call did it or it already was.
    pub fn blacklist(
        &self,
        jti: &str,
        user_id: Option<&str>,
        expires_at: i64,
        now: i64,
    ) -> rusqlite::Result<Blacklisting> {
        let result = self.conn().execute(
            "INSERT INTO blacklisted_tokens (jti, user_id, expires_at, blacklisted_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![jti, user_id, expires_at, now],
        );
        match result {
            Ok(_) => Ok(Blacklisting::Added),
            Err(err) if is_constraint_violation(&err) => Ok(Blacklisting::AlreadyBlacklisted),
            Err(err) => Err(err),
        }
    }

    /// Forgets blacklist entries of tokens that expired before `before` (they fail the `exp`
    /// check anyway), like simplejwt's `flushexpiredtokens`. Returns how many went.
    pub fn prune_blacklist(&self, before: i64) -> rusqlite::Result<usize> {
        self.conn().execute(
            "DELETE FROM blacklisted_tokens WHERE expires_at < ?1",
            params![before],
        )
    }

    pub fn setting(&self, key: &str) -> rusqlite::Result<Option<String>> {
        self.conn()
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()
    }

    /// Stores `value` under `key` unless something is there already; returns what is stored.
    /// (Two servers starting on one new file agree on one key.)
    pub fn setting_or_insert(&self, key: &str, value: &str) -> rusqlite::Result<String> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        conn.query_row(
            "SELECT value FROM settings WHERE key = ?1",
            params![key],
            |row| row.get(0),
        )
    }
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        email: row.get(2)?,
        password_hash: row.get(3)?,
        is_active: row.get(4)?,
    })
}

fn is_constraint_violation(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.code == ErrorCode::ConstraintViolation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Database {
        Database::open(&DatabaseLocation::Memory).unwrap()
    }

    #[test]
    fn upsert_creates_then_updates_the_same_user() {
        let db = memory();
        let id = db.upsert_user("demo", "hash-1", 10).unwrap();
        db.set_user_active(id, false).unwrap();
        let again = db.upsert_user("demo", "hash-2", 20).unwrap();
        assert_eq!(id, again);
        let user = db.user_by_username("demo").unwrap().unwrap();
        assert_eq!(user.password_hash, "hash-2");
        assert!(user.is_active, "upsert re-activates");
        assert_eq!(db.user_count().unwrap(), 1);
        assert_eq!(db.user_by_id(id).unwrap().unwrap().username, "demo");
    }

    #[test]
    fn usernames_are_unique_and_case_sensitive_like_django_on_sqlite() {
        let db = memory();
        assert!(matches!(
            db.create_user("ann", "a@x.io", "h", 1).unwrap(),
            NewUser::Created(_)
        ));
        assert_eq!(
            db.create_user("ann", "b@x.io", "h", 1).unwrap(),
            NewUser::UsernameTaken
        );
        assert!(matches!(
            db.create_user("Ann", "c@x.io", "h", 1).unwrap(),
            NewUser::Created(_)
        ));
        assert!(db.user_by_username("ANN").unwrap().is_none());
    }

    #[test]
    fn blacklisting_is_exclusive() {
        let db = memory();
        assert!(!db.is_blacklisted("j1").unwrap());
        assert_eq!(
            db.blacklist("j1", Some("1"), 100, 1).unwrap(),
            Blacklisting::Added
        );
        assert_eq!(
            db.blacklist("j1", Some("1"), 100, 2).unwrap(),
            Blacklisting::AlreadyBlacklisted
        );
        assert!(db.is_blacklisted("j1").unwrap());
        assert!(!db.is_blacklisted("j2").unwrap());
    }

    #[test]
    fn concurrent_blacklisting_has_exactly_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let db = std::sync::Arc::new(
            Database::open(&DatabaseLocation::File(dir.path().join("t.sqlite3"))).unwrap(),
        );
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                std::thread::spawn(move || db.blacklist("same", None, 100, 1).unwrap())
            })
            .collect();
        let added = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|outcome| *outcome == Blacklisting::Added)
            .count();
        assert_eq!(added, 1);
    }

    #[test]
    fn prune_drops_only_expired_entries() {
        let db = memory();
        db.blacklist("old", None, 50, 1).unwrap();
        db.blacklist("new", None, 500, 1).unwrap();
        assert_eq!(db.prune_blacklist(100).unwrap(), 1);
        assert!(!db.is_blacklisted("old").unwrap());
        assert!(db.is_blacklisted("new").unwrap());
    }

    #[test]
    fn settings_keep_the_first_value_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let location = DatabaseLocation::File(dir.path().join("s.sqlite3"));
        {
            let db = Database::open(&location).unwrap();
            assert_eq!(db.setting("k").unwrap(), None);
            assert_eq!(db.setting_or_insert("k", "first").unwrap(), "first");
            assert_eq!(db.setting_or_insert("k", "second").unwrap(), "first");
        }
        let db = Database::open(&location).unwrap();
        assert_eq!(db.setting("k").unwrap().as_deref(), Some("first"));
    }

    #[test]
    fn deleted_users_are_gone() {
        let db = memory();
        let id = db.upsert_user("gone", "h", 1).unwrap();
        db.delete_user(id).unwrap();
        assert!(db.user_by_id(id).unwrap().is_none());
    }
}
