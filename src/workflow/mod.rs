//! SchemaChange and Approval decision logic: observed state in, one next step and the status to
//! report out.
//!
//! Pure: no kube client, no sqlx, no tokio, no clock (the caller passes `now`). Controllers
//! observe, call [`decide`], act once and write the status [`next_status`] builds.

pub mod version;

pub use version::{Version, VersionError};
