//! The schema model: introspection results → canonical DDL, digest and diff. Pure: no sqlx, no kube.
