//! Kubernetes API emulator (test and playground infrastructure, not product).
