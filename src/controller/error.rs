//! The error of a reconcile: transient or permanent, with its metric label.

/// Errors of a reconcile. Each knows whether retrying may help and its metric label.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API failed.
    #[error("Kubernetes API request failed")]
    Kube(#[source] kube::Error),
    /// The database failed (connection, history table, introspection).
    #[error("database access failed")]
    Engine(#[source] crate::engine::EngineError),
    /// A status or snapshot could not be serialized.
    #[error("serialization failed")]
    Serialize(#[source] serde_json::Error),
    /// The object has no namespace or name (never for namespaced kinds from the API server).
    #[error("object is missing {0}")]
    MissingField(&'static str),
}

impl Error {
    /// Whether a later retry may succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Kube(_) => true,
            Self::Engine(e) => e.is_transient(),
            Self::Serialize(_) | Self::MissingField(_) => false,
        }
    }

    /// Label for the failures metric.
    #[must_use]
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Kube(_) => "kube",
            Self::Engine(_) => "database",
            Self::Serialize(_) => "serialize",
            Self::MissingField(_) => "invalid_object",
        }
    }
}

impl From<kube::Error> for Error {
    fn from(e: kube::Error) -> Self {
        Self::Kube(e)
    }
}

impl From<crate::engine::EngineError> for Error {
    fn from(e: crate::engine::EngineError) -> Self {
        Self::Engine(e)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn errors_know_their_class_and_label() {
        let e = Error::Engine(crate::engine::EngineError::Config("bad".into()));
        assert!(!e.is_transient());
        assert_eq!(e.metric_label(), "database");
        let e = Error::Engine(crate::engine::EngineError::LockBusy(Duration::from_secs(1)));
        assert!(e.is_transient());
        assert_eq!(Error::MissingField("name").metric_label(), "invalid_object");
    }
}
