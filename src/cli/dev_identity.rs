//! The playground's stand-in for the admission webhook: the emulator calls no webhooks, so
//! `schemagate dev` records identities in-process with the same rules (`webhook::identity`).
//! The playground has one user, who is then author and approver (its example Project allows
//! self-approval). No lookups: the emulator forbids calling back into it from a hook.

use kube_emulator::{AdmissionHook, AdmissionRequest, AdmissionResponse, AdmitFuture};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::identity::{AUTHOR_ANNOTATION, RequestIdentity};
use crate::api::{ApprovalSpec, SchemaChangeSpec};
use crate::webhook::identity::{Stamp, change_authorship, stamp_approval, stamp_change};

/// Records the requesting user on Approvals and SchemaChanges.
pub struct PlaygroundIdentity;

fn spec<T: DeserializeOwned>(object: Option<&serde_json::Value>) -> Option<T> {
    serde_json::from_value(object?.get("spec")?.clone()).ok()
}

fn apply<T: Serialize>(request: &AdmissionRequest, stamp: Stamp<T>) -> AdmissionResponse {
    match stamp {
        Stamp::Keep => AdmissionResponse::Allow,
        Stamp::Refuse(message) => AdmissionResponse::Deny(message),
        Stamp::Write(spec) => {
            let Some(mut object) = request.object.clone() else {
                return AdmissionResponse::Allow;
            };
            match serde_json::to_value(spec) {
                Ok(spec) => {
                    object["spec"] = spec;
                    AdmissionResponse::Mutate(object)
                }
                Err(e) => AdmissionResponse::Deny(e.to_string()),
            }
        }
    }
}

fn decide(request: &AdmissionRequest) -> AdmissionResponse {
    if request.group != crate::api::GROUP
        || request.subresource.is_some()
        || !(request.operation == "CREATE" || request.operation == "UPDATE")
    {
        return AdmissionResponse::Allow;
    }
    let user = RequestIdentity {
        username: request.user.username.clone(),
        uid: None,
        groups: request.user.groups.clone(),
    };
    match request.resource.as_str() {
        "approvals" => {
            let Some(new) = spec::<ApprovalSpec>(request.object.as_ref()) else {
                return AdmissionResponse::Allow;
            };
            let old = spec::<ApprovalSpec>(request.old_object.as_ref());
            apply(request, stamp_approval(&new, old.as_ref(), &user))
        }
        "schemachanges" => {
            let Some(new) = spec::<SchemaChangeSpec>(request.object.as_ref()) else {
                return AdmissionResponse::Allow;
            };
            let old = spec::<SchemaChangeSpec>(request.old_object.as_ref());
            let annotation = request
                .object
                .as_ref()
                .and_then(|o| o.pointer("/metadata/annotations"))
                .and_then(|a| a.get(AUTHOR_ANNOTATION))
                .and_then(|v| v.as_str());
            let authorship = change_authorship(&user, annotation, &[]);
            apply(request, stamp_change(&new, old.as_ref(), authorship))
        }
        _ => AdmissionResponse::Allow,
    }
}

impl AdmissionHook for PlaygroundIdentity {
    fn admit<'a>(&'a self, request: &'a AdmissionRequest) -> AdmitFuture<'a> {
        Box::pin(async move { decide(request) })
    }
}
