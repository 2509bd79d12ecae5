//! `schemagate crd`: prints the generated CustomResourceDefinitions, or writes one file per kind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::api;

/// Arguments of `schemagate crd`.
#[derive(Debug, clap::Args)]
pub struct CrdArgs {
    /// Write one file per kind (`<plural>.schemagate.io.yaml`) into this directory instead of
    /// printing to stdout; repeat for several directories. See [`REGENERATE`].
    #[arg(long, value_name = "DIR")]
    pub out_dir: Vec<PathBuf>,
}

/// Directories of the repository that hold copies of the generated CRDs.
pub const CRD_DIRS: [&str; 3] = ["crds", "config/crd/bases", "helm/schemagate/crds"];

/// The command that regenerates every copy of the CRDs in the repository.
pub const REGENERATE: &str =
    "cargo run -q -- crd --out-dir crds --out-dir config/crd/bases --out-dir helm/schemagate/crds";

/// The file name of a CRD inside `crds/`.
#[must_use]
pub fn file_name(
    crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("unnamed"))
}

/// Runs `schemagate crd`.
pub fn run(args: &CrdArgs) -> ExitCode {
    let result = if args.out_dir.is_empty() {
        api::crds_yaml()
            .map_err(|e| e.to_string())
            .and_then(|yaml| {
                std::io::stdout()
                    .lock()
                    .write_all(yaml.as_bytes())
                    .map_err(|e| e.to_string())
            })
    } else {
        args.out_dir.iter().try_for_each(|dir| write_dir(dir))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

fn write_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for crd in api::crds() {
        let path = dir.join(file_name(&crd));
        let yaml = api::crd_yaml(&crd).map_err(|e| e.to_string())?;
        std::fs::write(&path, yaml).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
