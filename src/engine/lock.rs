//! The executor lock: one session-level lock per target database (`pg_advisory_lock`,
//! MySQL `GET_LOCK`), so two operators, or an operator and a leftover process, never run
//! changes on the same database at once. SQLite needs none: its `BEGIN IMMEDIATE` write lock
//! is the executor lock (see the execution paths).

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::EngineError;
use super::session::Session;

const PG_LOCK_KEY: i64 = 0x5343_4847_5445_0001;

/// The MySQL lock name for `database` (at most 64 characters).
fn mysql_lock_name(database: &str) -> String {
    let name = format!("schemagate:{database}");
    if name.len() <= 64 {
        name
    } else {
        format!(
            "schemagate:{}",
            &hex::encode(Sha256::digest(database.as_bytes()))[..40]
        )
    }
}

/// Takes the lock for `database` on session `s`, waiting at most `wait` for another holder.
pub(crate) async fn acquire(
    s: &mut Session,
    database: &str,
    wait: Duration,
) -> Result<(), EngineError> {
    let deadline = Instant::now() + wait;
    match s {
        Session::Pg(c) => loop {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(PG_LOCK_KEY)
                .fetch_one(&mut *c)
                .await
                .map_err(EngineError::Lock)?;
            if got {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(EngineError::LockBusy(wait));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        },
        Session::My(c) => {
            let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
                .bind(mysql_lock_name(database))
                .bind(wait.as_secs_f64())
                .fetch_one(c)
                .await
                .map_err(EngineError::Lock)?;
            if got == Some(1) {
                Ok(())
            } else {
                Err(EngineError::LockBusy(wait))
            }
        }
        Session::Lite(_) => Ok(()),
    }
}

/// Releases the lock for `database` (a lost connection releases it by itself).
pub(crate) async fn release(s: &mut Session, database: &str) -> Result<(), EngineError> {
    match s {
        Session::Pg(c) => sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(PG_LOCK_KEY)
            .execute(c)
            .await
            .map(|_| ()),
        Session::My(c) => sqlx::query("SELECT RELEASE_LOCK(?)")
            .bind(mysql_lock_name(database))
            .execute(c)
            .await
            .map(|_| ()),
        Session::Lite(_) => Ok(()),
    }
    .map_err(EngineError::Lock)
}
