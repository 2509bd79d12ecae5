//! `schemagate crd`: prints the generated CustomResourceDefinitions.

use std::io::Write;
use std::process::ExitCode;

/// Arguments of `schemagate crd`.
#[derive(Debug, clap::Args)]
pub struct CrdArgs {}

/// Prints every CRD as one YAML document each.
pub fn run(_args: &CrdArgs) -> ExitCode {
    match crate::api::crds_yaml() {
        Ok(yaml) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(yaml.as_bytes()).is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}
