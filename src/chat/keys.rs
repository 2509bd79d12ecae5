//! The callback server's secrets, read from one Secret in the operator's namespace on every
//! request (so a rotated key takes effect at once). Never logged: `Debug` is redacted and
//! errors name the Secret and the key, never a value.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

/// Secret key of Slack's signing secret.
pub const SLACK_SIGNING_SECRET: &str = "slack-signing-secret";
/// Secret key of the Lark app's Encrypt Key.
pub const LARK_ENCRYPT_KEY: &str = "lark-encrypt-key";
/// Secret key of the Lark app's Verification Token.
pub const LARK_VERIFICATION_TOKEN: &str = "lark-verification-token";
/// Secret key of the approval-link key.
pub const LINK_KEY: &str = "link-key";

/// The values of one Secret.
pub struct Keys(std::collections::BTreeMap<String, Vec<u8>>);

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

/// Why the keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading the Secret failed.
    #[error("reading Secret {0}: {1}")]
    Read(String, #[source] kube::Error),
    /// The Secret does not hold the key this provider needs.
    #[error("Secret {0} has no key {1} (this provider is not set up)")]
    Missing(String, &'static str),
}

impl Keys {
    /// Reads the Secret `name` in `namespace`.
    ///
    /// # Errors
    /// The Secret cannot be read.
    pub async fn read(
        client: &kube::Client,
        namespace: &str,
        name: &str,
    ) -> Result<Self, KeyError> {
        let secret = Api::<Secret>::namespaced(client.clone(), namespace)
            .get(name)
            .await
            .map_err(|e| KeyError::Read(name.to_owned(), e))?;
        Ok(Self(
            secret
                .data
                .unwrap_or_default()
                .into_iter()
                // `kubectl create secret --from-file` keeps a trailing newline.
                .map(|(k, v)| (k, v.0.trim_ascii().to_vec()))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        ))
    }

    /// The value of `key`, or [`KeyError::Missing`] naming `secret`.
    ///
    /// # Errors
    /// The key is absent or empty.
    pub fn get(&self, secret: &str, key: &'static str) -> Result<&[u8], KeyError> {
        self.0
            .get(key)
            .map(Vec::as_slice)
            .ok_or_else(|| KeyError::Missing(secret.to_owned(), key))
    }
}
