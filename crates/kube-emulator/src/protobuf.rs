//! Decoder for the Kubernetes protobuf envelope of the few built-in kinds kubectl's typed
//! commands send (`kubectl create namespace|configmap|secret`); turns them into JSON objects.
//! Must not touch the store. Unknown fields are skipped.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};

const MAGIC: &[u8] = b"k8s\0";

struct Reader<'a> {
    buf: &'a [u8],
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Skip,
}

fn bad(what: &str) -> ApiError {
    ApiError::bad_request(format!("invalid protobuf body: {what}"))
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> ApiResult<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .buf
                .split_first()
                .ok_or_else(|| bad("truncated varint"))?;
            self.buf = rest;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(bad("varint too long"))
    }

    fn take(&mut self, n: usize) -> ApiResult<&'a [u8]> {
        if self.buf.len() < n {
            return Err(bad("truncated field"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn next(&mut self) -> ApiResult<Option<(u64, Field<'a>)>> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Field::Skip
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| bad("length"))?;
                Field::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Field::Skip
            }
            _ => return Err(bad("unsupported wire type")),
        };
        Ok(Some((key >> 3, field)))
    }
}

fn fields(buf: &[u8]) -> ApiResult<Vec<(u64, Field<'_>)>> {
    let mut r = Reader { buf };
    let mut out = Vec::new();
    while let Some(f) = r.next()? {
        out.push(f);
    }
    Ok(out)
}

fn string(b: &[u8]) -> Value {
    json!(String::from_utf8_lossy(b))
}

/// Decodes a map entry `{1: key, 2: value}`; `bytes_value` base64-encodes the value.
fn map_entry(b: &[u8], bytes_value: bool, into: &mut Map<String, Value>) -> ApiResult<()> {
    let mut key = String::new();
    let mut value = Value::String(String::new());
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(k)) => key = String::from_utf8_lossy(k).into_owned(),
            (2, Field::Bytes(v)) if bytes_value => {
                value = json!(base64::engine::general_purpose::STANDARD.encode(v))
            }
            (2, Field::Bytes(v)) => value = string(v),
            _ => {}
        }
    }
    into.insert(key, value);
    Ok(())
}

fn object_meta(b: &[u8]) -> ApiResult<Value> {
    let mut meta = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(v)) => _ = meta.insert("name".into(), string(v)),
            (2, Field::Bytes(v)) => _ = meta.insert("generateName".into(), string(v)),
            (3, Field::Bytes(v)) => _ = meta.insert("namespace".into(), string(v)),
            (6, Field::Bytes(v)) => _ = meta.insert("resourceVersion".into(), string(v)),
            (11, Field::Bytes(v)) => map_entry(v, false, &mut labels)?,
            (12, Field::Bytes(v)) => map_entry(v, false, &mut annotations)?,
            (14, Field::Bytes(v)) => finalizers.push(string(v)),
            _ => {}
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), Value::Array(finalizers));
    }
    Ok(Value::Object(meta))
}

fn decode_kind(kind: &str, raw: &[u8]) -> ApiResult<Value> {
    let mut obj = json!({"apiVersion": "v1", "kind": kind});
    let mut data = Map::new();
    let mut binary = Map::new();
    let mut string_data = Map::new();
    for (n, f) in fields(raw)? {
        match (kind, n, f) {
            (_, 1, Field::Bytes(v)) => obj["metadata"] = object_meta(v)?,
            ("ConfigMap", 2, Field::Bytes(v)) => map_entry(v, false, &mut data)?,
            ("ConfigMap", 3, Field::Bytes(v)) => map_entry(v, true, &mut binary)?,
            ("ConfigMap", 4, Field::Varint(v)) | ("Secret", 5, Field::Varint(v)) => {
                obj["immutable"] = json!(v != 0)
            }
            ("Secret", 2, Field::Bytes(v)) => map_entry(v, true, &mut data)?,
            ("Secret", 3, Field::Bytes(v)) => obj["type"] = string(v),
            ("Secret", 4, Field::Bytes(v)) => map_entry(v, false, &mut string_data)?,
            _ => {}
        }
    }
    for (field, map) in [
        ("data", data),
        ("binaryData", binary),
        ("stringData", string_data),
    ] {
        if !map.is_empty() {
            obj[field] = Value::Object(map);
        }
    }
    Ok(obj)
}

/// Decodes a `application/vnd.kubernetes.protobuf` body of a Namespace, ConfigMap or Secret.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing k8s magic prefix"))?;
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, f) in fields(rest)? {
        match (n, f) {
            (1, Field::Bytes(type_meta)) => {
                for (m, g) in fields(type_meta)? {
                    if let (2, Field::Bytes(k)) = (m, g) {
                        kind = String::from_utf8_lossy(k).into_owned();
                    }
                }
            }
            (2, Field::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    match kind.as_str() {
        "Namespace" | "ConfigMap" | "Secret" => decode_kind(&kind, raw),
        other => Err(ApiError::unsupported_media_type(format!(
            "protobuf bodies are only supported for Namespace, ConfigMap and Secret, not {other:?}; send application/json"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn field(n: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![(n << 3) | 2, u8::try_from(payload.len()).unwrap()];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn decodes_a_configmap_envelope() {
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let meta = [
            field(1, b"c"),
            field(11, &[field(1, b"app"), field(2, b"web")].concat()),
        ]
        .concat();
        let raw = [
            field(1, &meta),
            field(2, &[field(1, b"k"), field(2, b"v")].concat()),
        ]
        .concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        let obj = decode(&body).unwrap();
        assert_eq!(
            obj,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"app": "web"}}, "data": {"k": "v"}})
        );
    }
}
