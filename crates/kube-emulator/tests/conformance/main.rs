//! Conformance suite: behaviours of the Kubernetes API checked over HTTP with `kube::Client`,
//! kube-rs runtime and kubectl. Runs against the emulator, or against a real cluster when
//! `KUBE_EMULATOR_USE_REAL_CLUSTER=1` and `KUBECONFIG` are set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod crud;
mod embedding;
mod events;
mod kubectl;
mod patches;
mod runtime;
mod watch;
