//! `sg-testdb up --dir DIR` starts one PostgreSQL and one MariaDB server for a whole test run and
//! prints `export` lines for their URLs; `sg-testdb down --dir DIR` stops them. Test tool only.

use std::path::PathBuf;
use std::process::ExitCode;

use schemagate_testkit::{MYSQL_URL_ENV, PG_URL_ENV, PrivateServer, ServerKind, stop_dir};

fn usage() -> ExitCode {
    eprintln!("usage: sg-testdb up|down --dir DIR");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (verb, dir) = match args.as_slice() {
        [verb, flag, dir] if flag == "--dir" => (verb.as_str(), PathBuf::from(dir)),
        _ => return usage(),
    };
    let result = match verb {
        "up" => up(&dir),
        "down" => stop_dir(&dir),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sg-testdb {verb}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn up(dir: &std::path::Path) -> anyhow::Result<()> {
    // A leftover run in the same dir is stopped first, so `up` is repeatable; a crashed one may
    // leave stale pid files, so this is best effort and the directory is wiped either way.
    if let Err(e) = stop_dir(dir) {
        eprintln!(
            "sg-testdb up: ignoring leftover in {}: {e:#}",
            dir.display()
        );
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
    }
    let pg = PrivateServer::start_in(ServerKind::Postgres, dir)?;
    let my = match PrivateServer::start_in(ServerKind::MariaDb, dir) {
        Ok(my) => my,
        Err(e) => {
            let _ = stop_dir(dir);
            return Err(e);
        }
    };
    println!("export {PG_URL_ENV}='{}'", pg.url());
    println!("export {MYSQL_URL_ENV}='{}'", my.url());
    pg.detach();
    my.detach();
    Ok(())
}
