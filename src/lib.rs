//! schemagate: reviewed, approved, exactly-once database schema changes for Kubernetes.
//!
//! Module map (the picture, the rules and the flow of one SchemaChange are in
//! `docs/architecture.md`; `tests/layering.rs` checks the rules): `api` holds the CRD types
//! only; `review`, `snapshot` and `workflow` are pure (no kube, no sqlx); `engine` talks to
//! databases; `controller` is the thin Kubernetes glue and the only place (with `cli`) that may
//! use both kube and engine. `sqltext` is the leaf every layer may use: the one engine type, the
//! statement splitter and the guards (transaction control, NUL bytes, executable comments) that
//! review and execution share.

pub mod api;
pub mod chat;
pub mod cli;
pub mod controller;
pub mod engine;
pub mod notify;
pub mod review;
pub mod snapshot;
pub mod sqltext;
pub mod webhook;
pub mod workflow;
