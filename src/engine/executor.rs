//! The executor: runs one approved change exactly once against a target database under the
//! executor lock ([`super::lock`]), on the execution path its engine needs
//! ([`super::apply`]), which records it in the history table and reports per-statement results.

use super::EngineError;
use super::cancel::CancelHandle;
use super::change::{Change, ExecOptions, ExecutionReport};
use super::config::ConnectionConfig;
use super::progress::ProgressHandle;
use super::session::Session;
use super::{apply, lock};
use crate::sqltext::{self, Engine, guard};

/// Runs changes against one target database.
#[derive(Debug)]
pub struct Executor {
    cfg: ConnectionConfig,
    opts: ExecOptions,
    cancel: CancelHandle,
    progress: ProgressHandle,
}

/// The backstop behind the review's guards, applied before any connection with the same
/// `sqltext` functions: a script with a NUL byte, or with transaction control in any spelling,
/// never reaches a database. On every engine: on PostgreSQL and SQLite a `COMMIT` would commit
/// part of the change outside the history row's transaction; on MySQL the intent records would
/// be written inside the script's own transaction. The error is permanent
/// ([`EngineError::Config`]): running the same script again cannot succeed.
fn refuse_unsafe_script(engine: Engine, sql: &str) -> Result<(), EngineError> {
    if let Some(nul) = guard::find_nul(sql) {
        return Err(EngineError::Config(format!(
            "{nul}; the change was not run"
        )));
    }
    if let Some((offset, control)) = guard::find_transaction_control(engine, sql)
        .into_iter()
        .next()
    {
        let (line, _) = sqltext::position(sql, offset);
        return Err(EngineError::Config(format!(
            "line {line}: {control} is transaction control, which schemagate manages itself; \
             remove it (the change was not run)"
        )));
    }
    Ok(())
}

impl Executor {
    /// An executor for `cfg`.
    pub fn new(cfg: ConnectionConfig, opts: ExecOptions) -> Self {
        let cancel = CancelHandle::new(cfg.clone());
        Self {
            cfg,
            opts,
            cancel,
            progress: ProgressHandle::default(),
        }
    }

    /// A handle another task can read the running statement from (for progress reports).
    pub fn progress_handle(&self) -> ProgressHandle {
        self.progress.clone()
    }

    /// A handle another task can use to cancel the running change.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Executes `change` exactly once (PostgreSQL, SQLite) or at most once per statement
    /// (MySQL; non-transactional PostgreSQL statements). Database and connection failures are
    /// `Err`; the outcome of the change itself is in the report.
    pub async fn execute(&self, change: &Change) -> Result<ExecutionReport, EngineError> {
        refuse_unsafe_script(self.cfg.engine, &change.sql)?;
        let stmts = super::split_statements(self.cfg.engine, &change.sql);
        if stmts.is_empty() {
            return Err(EngineError::Config(
                "the change contains no SQL statement".into(),
            ));
        }
        let mut s = Session::connect(&self.cfg).await?;
        let backend = s.backend_id().await.map_err(EngineError::Session)?;
        self.cancel.set_backend(backend);
        self.progress.set_backend(backend);
        let run = apply::Run {
            opts: &self.opts,
            cancel: &self.cancel,
            progress: &self.progress,
        };
        let result = match self.cfg.engine {
            Engine::Sqlite => apply::run_sqlite(&run, &mut s, change, &stmts).await,
            _ => {
                let database = &self.cfg.database;
                lock::acquire(&mut s, database, self.opts.executor_lock_wait).await?;
                let r = apply::run_locked(&run, &mut s, change, &stmts).await;
                // A lost connection releases the lock by itself.
                let _ = lock::release(&mut s, database).await;
                r
            }
        };
        self.cancel.set_backend(None);
        self.progress.idle();
        self.progress.set_backend(None);
        s.close().await;
        result
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::engine::TransactionMode;

    fn change(sql: &str) -> Change {
        Change {
            uid: "uid".into(),
            namespace: "ns".into(),
            name: "c".into(),
            version: "1".into(),
            sql: sql.into(),
            approved_by: None,
            author: None,
            operator: "test".into(),
            transaction_mode: TransactionMode::Auto,
        }
    }

    /// Nothing listens on port 1: a refusal that came after connecting would be a connect
    /// error instead.
    #[tokio::test]
    async fn unsafe_scripts_are_refused_before_connecting() {
        for url in [
            "postgres://u@127.0.0.1:1/db",
            "mysql://u@127.0.0.1:1/db",
            "sqlite:///nonexistent-dir/x.db",
        ] {
            let ex = Executor::new(
                ConnectionConfig::from_url(url).unwrap(),
                ExecOptions::default(),
            );
            for sql in [
                "SELECT 1;\nSELECT '\0';",
                "INSERT INTO t VALUES (1);\nCOMMIT/**/;\nSELECT 1/0;",
                "ROLLBACK",
                "SAVEPOINT a",
            ] {
                let err = ex.execute(&change(sql)).await.unwrap_err();
                assert!(
                    matches!(err, EngineError::Config(_)),
                    "{url}: {sql:?}: {err}"
                );
                assert!(!err.is_transient());
            }
        }
        let ex = Executor::new(
            ConnectionConfig::from_url("postgres://u@127.0.0.1:1/db").unwrap(),
            ExecOptions::default(),
        );
        let err = ex.execute(&change("SELECT 1;\nCOMMIT;")).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: COMMIT is transaction control, which schemagate manages itself; remove it \
             (the change was not run)"
        );
        let err = ex.execute(&change("SELECT\n 'a\0'")).await.unwrap_err();
        assert!(err.to_string().contains("line 2, column 3"), "{err}");
    }
}
