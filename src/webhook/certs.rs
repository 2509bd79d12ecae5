//! The webhook's own CA and serving certificate: created on first start, kept in a Secret in
//! the operator's namespace (so every replica serves the same one), renewed before expiry, and
//! the CA published as `caBundle` of the webhook configurations.
//!
//! Generation and the renewal decision are pure; [`ensure`] and [`publish_ca_bundle`] are the
//! only client calls. Must not touch anything but that Secret and the named configurations.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

/// How long the CA is valid.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long a serving certificate is valid.
pub const SERVING_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// A serving certificate is renewed when less than this is left.
pub const SERVING_RENEW_BEFORE: Duration = Duration::from_secs(60 * 24 * 3600);
/// The CA is renewed when less than this is left (the old one stays in `caBundle` meanwhile).
pub const CA_RENEW_BEFORE: Duration = Duration::from_secs(365 * 24 * 3600);

const CA_CRT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";
const PREVIOUS_CA_CRT: &str = "ca-previous.crt";
const TLS_CRT: &str = "tls.crt";
const TLS_KEY: &str = "tls.key";
const CA_NOT_AFTER: &str = "schemagate.io/ca-not-after";
const PREVIOUS_CA_NOT_AFTER: &str = "schemagate.io/ca-previous-not-after";
const CERT_NOT_AFTER: &str = "schemagate.io/cert-not-after";
const CERT_NAMES: &str = "schemagate.io/cert-names";

/// Errors of certificate handling.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Generating or signing failed.
    #[error("generating the webhook certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The Kubernetes API refused a read or write.
    #[error("webhook certificate Secret or configuration: {0}")]
    Kube(#[from] kube::Error),
    /// The Secret holds something unusable.
    #[error("Secret {0} holds no usable {1}")]
    Corrupt(String, &'static str),
}

/// The material a replica serves and publishes.
#[derive(Clone, PartialEq, Eq)]
pub struct Material {
    /// The serving certificate followed by nothing else (PEM).
    pub cert_pem: String,
    /// Its private key (PEM).
    pub key_pem: String,
    /// What goes into `caBundle`: the current CA and, during a CA rotation, the previous one.
    pub ca_bundle_pem: String,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Material")
            .field("cert_pem", &self.cert_pem.len())
            .field("key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The CA and serving certificate as stored (all PEM) with their expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct Stored {
    ca_pem: String,
    ca_key_pem: String,
    ca_not_after: i64,
    previous_ca: Option<(String, i64)>,
    cert_pem: String,
    key_pem: String,
    cert_not_after: i64,
    names: Vec<String>,
}

/// What must be done to stored material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// It is fine.
    Nothing,
    /// Issue a new serving certificate from the same CA (expiring, or other names).
    Serving,
    /// Make a new CA (keeping the old one in the bundle) and a serving certificate from it.
    Ca,
}

/// Whether stored material must be renewed at `now` (unix seconds) to serve `names`.
#[must_use]
pub fn renewal(stored: &Stored, names: &[String], now: i64) -> Renewal {
    let left = |not_after: i64| u64::try_from(not_after - now).unwrap_or(0);
    if left(stored.ca_not_after) < CA_RENEW_BEFORE.as_secs() {
        Renewal::Ca
    } else if left(stored.cert_not_after) < SERVING_RENEW_BEFORE.as_secs() || stored.names != names
    {
        Renewal::Serving
    } else {
        Renewal::Nothing
    }
}

fn at(now: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(now).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn new_ca(now: i64) -> Result<(String, String, i64), CertError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("schemagate webhook CA {now}"));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = at(now - 300);
    let not_after = now + secs(CA_VALIDITY);
    params.not_after = at(not_after);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem(), not_after))
}

fn issue(
    ca_pem: &str,
    ca_key_pem: &str,
    names: &[String],
    now: i64,
) -> Result<(String, String, i64), CertError> {
    let ca_key = KeyPair::from_pem(ca_key_pem)?;
    let issuer = Issuer::from_ca_cert_pem(ca_pem, ca_key)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        names
            .first()
            .cloned()
            .unwrap_or_else(|| "schemagate-webhook".into()),
    );
    params.distinguished_name = dn;
    params.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName(n.as_str().try_into()?)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = at(now - 300);
    let not_after = now + secs(SERVING_VALIDITY);
    params.not_after = at(not_after);
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem(), not_after))
}

/// New material, or `stored` renewed as `renewal` says.
///
/// # Errors
/// When generation fails.
pub fn renew(
    stored: Option<&Stored>,
    how: Renewal,
    names: &[String],
    now: i64,
) -> Result<Stored, CertError> {
    let (ca_pem, ca_key_pem, ca_not_after, previous_ca) = match (stored, how) {
        (Some(s), Renewal::Nothing | Renewal::Serving) => (
            s.ca_pem.clone(),
            s.ca_key_pem.clone(),
            s.ca_not_after,
            s.previous_ca.clone(),
        ),
        (Some(s), Renewal::Ca) => {
            let (pem, key, not_after) = new_ca(now)?;
            let previous = (s.ca_not_after > now).then(|| (s.ca_pem.clone(), s.ca_not_after));
            (pem, key, not_after, previous)
        }
        (None, _) => {
            let (pem, key, not_after) = new_ca(now)?;
            (pem, key, not_after, None)
        }
    };
    if let (Some(s), Renewal::Nothing) = (stored, how) {
        return Ok(s.clone());
    }
    let (cert_pem, key_pem, cert_not_after) = issue(&ca_pem, &ca_key_pem, names, now)?;
    Ok(Stored {
        ca_pem,
        ca_key_pem,
        ca_not_after,
        previous_ca: previous_ca.filter(|(_, not_after)| *not_after > now),
        cert_pem,
        key_pem,
        cert_not_after,
        names: names.to_vec(),
    })
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("ca_not_after", &self.ca_not_after)
            .field("cert_not_after", &self.cert_not_after)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl Stored {
    /// What a replica serves and publishes.
    #[must_use]
    pub fn material(&self) -> Material {
        let mut bundle = self.ca_pem.clone();
        if let Some((previous, _)) = &self.previous_ca {
            bundle.push_str(previous);
        }
        Material {
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
            ca_bundle_pem: bundle,
        }
    }

    fn from_secret(secret: &Secret) -> Result<Self, CertError> {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let data = secret.data.clone().unwrap_or_default();
        let text = |key: &'static str| {
            data.get(key)
                .and_then(|b| String::from_utf8(b.0.clone()).ok())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| CertError::Corrupt(name.clone(), key))
        };
        let annotations = secret.metadata.annotations.clone().unwrap_or_default();
        let number = |key: &'static str| {
            annotations
                .get(key)
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| CertError::Corrupt(name.clone(), key))
        };
        let previous_ca = match (text(PREVIOUS_CA_CRT), number(PREVIOUS_CA_NOT_AFTER)) {
            (Ok(pem), Ok(not_after)) => Some((pem, not_after)),
            _ => None,
        };
        Ok(Self {
            ca_pem: text(CA_CRT)?,
            ca_key_pem: text(CA_KEY)?,
            ca_not_after: number(CA_NOT_AFTER)?,
            previous_ca,
            cert_pem: text(TLS_CRT)?,
            key_pem: text(TLS_KEY)?,
            cert_not_after: number(CERT_NOT_AFTER)?,
            names: annotations
                .get(CERT_NAMES)
                .map(|v| v.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    }

    fn into_secret(self, namespace: &str, name: &str, resource_version: Option<String>) -> Secret {
        let mut data = BTreeMap::new();
        let mut annotations = BTreeMap::new();
        data.insert(CA_CRT.to_owned(), ByteString(self.ca_pem.into_bytes()));
        data.insert(CA_KEY.to_owned(), ByteString(self.ca_key_pem.into_bytes()));
        data.insert(TLS_CRT.to_owned(), ByteString(self.cert_pem.into_bytes()));
        data.insert(TLS_KEY.to_owned(), ByteString(self.key_pem.into_bytes()));
        if let Some((pem, not_after)) = self.previous_ca {
            data.insert(PREVIOUS_CA_CRT.to_owned(), ByteString(pem.into_bytes()));
            annotations.insert(PREVIOUS_CA_NOT_AFTER.to_owned(), not_after.to_string());
        }
        annotations.insert(CA_NOT_AFTER.to_owned(), self.ca_not_after.to_string());
        annotations.insert(CERT_NOT_AFTER.to_owned(), self.cert_not_after.to_string());
        annotations.insert(CERT_NAMES.to_owned(), self.names.join(","));
        Secret {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace.to_owned()),
                annotations: Some(annotations),
                labels: Some(BTreeMap::from([(
                    "app.kubernetes.io/managed-by".to_owned(),
                    "schemagate".to_owned(),
                )])),
                resource_version,
                ..ObjectMeta::default()
            },
            type_: Some("kubernetes.io/tls".to_owned()),
            data: Some(data),
            ..Secret::default()
        }
    }
}

/// Reads the Secret, creates or renews its material when needed, and returns what to serve.
/// Replicas racing to create or renew it settle on one winner (409 → read again).
///
/// # Errors
/// When the Secret cannot be read or written, or generation fails.
pub async fn ensure(
    client: &Client,
    namespace: &str,
    secret_name: &str,
    names: &[String],
) -> Result<Material, CertError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for _ in 0..5 {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let existing = api.get_opt(secret_name).await?;
        let stored = match &existing {
            Some(secret) => match Stored::from_secret(secret) {
                Ok(stored) => Some(stored),
                Err(e) => {
                    tracing::warn!(error = %e, "replacing unusable webhook certificate Secret");
                    None
                }
            },
            None => None,
        };
        let how = stored
            .as_ref()
            .map_or(Renewal::Ca, |s| renewal(s, names, now));
        if let (Some(stored), Renewal::Nothing) = (&stored, how) {
            return Ok(stored.material());
        }
        let renewed = renew(stored.as_ref(), how, names, now)?;
        let material = renewed.material();
        let result = match existing {
            Some(secret) => {
                let secret =
                    renewed.into_secret(namespace, secret_name, secret.metadata.resource_version);
                api.replace(secret_name, &PostParams::default(), &secret)
                    .await
                    .map(drop)
            }
            None => api
                .create(
                    &PostParams::default(),
                    &renewed.into_secret(namespace, secret_name, None),
                )
                .await
                .map(drop),
        };
        match result {
            Ok(()) => {
                tracing::info!(secret = secret_name, renewal = ?how, "webhook certificate written");
                return Ok(material);
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(CertError::Corrupt(
        secret_name.to_owned(),
        "material (it kept changing under us)",
    ))
}

/// Sets `caBundle` of every webhook in the named Validating- and MutatingWebhookConfigurations
/// (those that exist) to `bundle_pem`, writing only where it differs.
///
/// # Errors
/// When a configuration cannot be read or written.
pub async fn publish_ca_bundle(
    client: &Client,
    names: &[String],
    bundle_pem: &str,
) -> Result<(), CertError> {
    let bundle = ByteString(bundle_pem.as_bytes().to_vec());
    let validating: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let mutating: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    for name in names {
        if let Some(mut config) = validating.get_opt(name).await? {
            let hooks = config.webhooks.get_or_insert_with(Vec::new);
            if hooks
                .iter()
                .any(|w| w.client_config.ca_bundle.as_ref() != Some(&bundle))
            {
                for hook in hooks {
                    hook.client_config.ca_bundle = Some(bundle.clone());
                }
                validating
                    .replace(name, &PostParams::default(), &config)
                    .await?;
                tracing::info!(configuration = %name, "caBundle of ValidatingWebhookConfiguration updated");
            }
        }
        if let Some(mut config) = mutating.get_opt(name).await? {
            let hooks = config.webhooks.get_or_insert_with(Vec::new);
            if hooks
                .iter()
                .any(|w| w.client_config.ca_bundle.as_ref() != Some(&bundle))
            {
                for hook in hooks {
                    hook.client_config.ca_bundle = Some(bundle.clone());
                }
                mutating
                    .replace(name, &PostParams::default(), &config)
                    .await?;
                tracing::info!(configuration = %name, "caBundle of MutatingWebhookConfiguration updated");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["schemagate-webhook.sg.svc".into(), "127.0.0.1".into()]
    }

    #[test]
    fn fresh_material_is_renewed_only_when_due() {
        let now = 1_800_000_000;
        let stored = renew(None, Renewal::Ca, &names(), now).unwrap();
        assert_eq!(renewal(&stored, &names(), now), Renewal::Nothing);
        assert_eq!(
            renewal(&stored, &["other.svc".into()], now),
            Renewal::Serving
        );
        let near_cert_expiry = stored.cert_not_after - secs(SERVING_RENEW_BEFORE) + 1;
        assert_eq!(
            renewal(&stored, &names(), near_cert_expiry),
            Renewal::Serving
        );
        let near_ca_expiry = stored.ca_not_after - secs(CA_RENEW_BEFORE) + 1;
        assert_eq!(renewal(&stored, &names(), near_ca_expiry), Renewal::Ca);
    }

    #[test]
    fn a_serving_renewal_keeps_the_ca_and_a_ca_renewal_keeps_the_old_one_in_the_bundle() {
        let now = 1_800_000_000;
        let first = renew(None, Renewal::Ca, &names(), now).unwrap();
        let later = now + secs(SERVING_VALIDITY) - 10;
        let serving = renew(Some(&first), Renewal::Serving, &names(), later).unwrap();
        assert_eq!(serving.ca_pem, first.ca_pem);
        assert_ne!(serving.cert_pem, first.cert_pem);
        assert!(serving.cert_not_after > first.cert_not_after);
        let much_later = first.ca_not_after - 100;
        let rotated = renew(Some(&serving), Renewal::Ca, &names(), much_later).unwrap();
        assert_ne!(rotated.ca_pem, first.ca_pem);
        let bundle = rotated.material().ca_bundle_pem;
        assert!(bundle.contains(&rotated.ca_pem) && bundle.contains(&first.ca_pem));
        // Once the old CA has expired it leaves the bundle.
        let after = renew(
            Some(&rotated),
            Renewal::Serving,
            &names(),
            first.ca_not_after + 1,
        )
        .unwrap();
        assert_eq!(after.material().ca_bundle_pem, rotated.ca_pem);
    }

    #[test]
    fn the_secret_round_trips() {
        let stored = renew(None, Renewal::Ca, &names(), 1_800_000_000).unwrap();
        let secret = stored.clone().into_secret("ns", "tls", None);
        assert_eq!(Stored::from_secret(&secret).unwrap(), stored);
        let mut broken = secret;
        broken.data.as_mut().unwrap().remove(TLS_KEY);
        assert!(matches!(
            Stored::from_secret(&broken),
            Err(CertError::Corrupt(_, TLS_KEY))
        ));
    }
}
