//! schemagate: reviewed, approved, exactly-once database schema changes for Kubernetes.
//!
//! Module map (see DESIGN.md §4): `api` holds the CRD types only; `review`, `snapshot` and
//! `workflow` are pure (no kube, no sqlx); `engine` talks to databases; `controller` is the thin
//! Kubernetes glue and the only place (with `main.rs`) that may use both kube and engine.
//! `sqltext` is a leaf both `review` and `engine` use: the statement splitter and the guards
//! (transaction control, NUL bytes, executable comments) that review and execution share.

pub mod api;
pub mod cli;
pub mod controller;
pub mod engine;
pub mod review;
pub mod snapshot;
pub mod sqltext;
pub mod workflow;
