//! CRD types of group `schemagate.io`, version `v1alpha1` (placeholder until the API lands).

/// All CRDs as multi-document YAML.
pub fn crds_yaml() -> Result<String, std::fmt::Error> {
    Ok(String::new())
}
