//! The admission endpoints: the mutating ones record identities, the validating ones check them
//! and decide whether the requester may approve (the change exists and its digest matches, the
//! project's approver policy, a SubjectAccessReview for the `approve` verb).
//!
//! Reads SchemaChanges and Projects and creates SubjectAccessReviews; writes nothing else.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::identity::{AUTHOR_ANNOTATION, RequestIdentity};
use crate::api::{Approval, Project, SchemaChange};
use crate::workflow::{Approver, may_decide};

use super::identity::{
    Stamp, change_authorship, check_approver, check_change, from_user_info, stamp_approval,
    stamp_change,
};

/// What the endpoints share.
pub struct Admission {
    /// The operator's client (reads changes and projects, creates SubjectAccessReviews).
    pub client: Client,
    /// Users whose SchemaChanges are synced from git: the author comes from the annotation.
    pub gitops_identities: Vec<String>,
}

type Review = Json<AdmissionReview<DynamicObject>>;

fn respond(response: AdmissionResponse) -> Review {
    Json(response.into_review())
}

fn request<K: Resource + DeserializeOwned>(
    review: AdmissionReview<K>,
) -> Result<AdmissionRequest<K>, Box<Review>> {
    review
        .try_into()
        .map_err(|e: kube::core::admission::ConvertAdmissionReviewError| {
            Box::new(respond(AdmissionResponse::invalid(e.to_string())))
        })
}

/// The response to a stamping decision: a patch that replaces the object's spec, an
/// unchanged admission, or a denial with its reason.
fn stamped<K: Resource + Serialize, S: Serialize>(
    req: &AdmissionRequest<K>,
    object: &K,
    stamp: Stamp<S>,
) -> AdmissionResponse {
    let spec = match stamp {
        Stamp::Write(spec) => spec,
        Stamp::Keep => return AdmissionResponse::from(req),
        Stamp::Refuse(message) => return AdmissionResponse::from(req).deny(message),
    };
    let before = serde_json::to_value(object).unwrap_or_default();
    let mut after = before.clone();
    after["spec"] = serde_json::to_value(&spec).unwrap_or_default();
    let patch = json_patch::diff(&before, &after);
    match AdmissionResponse::from(req).with_patch(patch) {
        Ok(r) => r,
        Err(e) => AdmissionResponse::from(req).deny(format!("schemagate webhook: {e}")),
    }
}

/// Mutating endpoint for Approvals.
pub async fn mutate_approval(Json(review): Json<AdmissionReview<Approval>>) -> Review {
    let req = match request(review) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    let Some(object) = &req.object else {
        return respond(AdmissionResponse::from(&req));
    };
    let user = from_user_info(&req.user_info);
    let old = req.old_object.as_ref().map(|o| &o.spec);
    respond(stamped(
        &req,
        object,
        stamp_approval(&object.spec, old, &user),
    ))
}

/// Mutating endpoint for SchemaChanges.
pub async fn mutate_change(
    State(admission): State<Arc<Admission>>,
    Json(review): Json<AdmissionReview<SchemaChange>>,
) -> Review {
    let req = match request(review) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    let Some(object) = &req.object else {
        return respond(AdmissionResponse::from(&req));
    };
    let authorship = authorship(&admission, &req, object);
    let old = req.old_object.as_ref().map(|o| &o.spec);
    respond(stamped(
        &req,
        object,
        stamp_change(&object.spec, old, authorship),
    ))
}

fn authorship(
    admission: &Admission,
    req: &AdmissionRequest<SchemaChange>,
    object: &SchemaChange,
) -> Result<(RequestIdentity, Option<RequestIdentity>), String> {
    change_authorship(
        &from_user_info(&req.user_info),
        object
            .annotations()
            .get(AUTHOR_ANNOTATION)
            .map(String::as_str),
        &admission.gitops_identities,
    )
}

/// Validating endpoint for SchemaChanges.
pub async fn validate_change(
    State(admission): State<Arc<Admission>>,
    Json(review): Json<AdmissionReview<SchemaChange>>,
) -> Review {
    let req = match request(review) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    let Some(object) = &req.object else {
        return respond(AdmissionResponse::from(&req));
    };
    let authorship = authorship(&admission, &req, object);
    let old = req.old_object.as_ref().map(|o| &o.spec);
    respond(match check_change(&object.spec, old, authorship) {
        Ok(()) => AdmissionResponse::from(&req),
        Err(message) => AdmissionResponse::from(&req).deny(message),
    })
}

/// Validating endpoint for Approvals.
pub async fn validate_approval(
    State(admission): State<Arc<Admission>>,
    Json(review): Json<AdmissionReview<Approval>>,
) -> Review {
    let req = match request(review) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    let Some(object) = &req.object else {
        return respond(AdmissionResponse::from(&req));
    };
    let user = from_user_info(&req.user_info);
    let old = req.old_object.as_ref().map(|o| &o.spec);
    if let Err(message) = check_approver(&object.spec, old, &user) {
        return respond(AdmissionResponse::from(&req).deny(message));
    }
    if req.operation != Operation::Create {
        return respond(AdmissionResponse::from(&req));
    }
    let namespace = req.namespace.clone().unwrap_or_default();
    respond(
        match may_approve(&admission, &namespace, &object.spec, &req).await {
            Ok(()) => AdmissionResponse::from(&req),
            Err(message) => {
                tracing::info!(
                    namespace = %namespace,
                    user = %user.username,
                    change = %object.spec.schema_change_ref,
                    reason = %message,
                    "Approval refused at admission"
                );
                AdmissionResponse::from(&req).deny(message)
            }
        },
    )
}

/// Whether the requester may make this decision on this change.
async fn may_approve(
    admission: &Admission,
    namespace: &str,
    spec: &crate::api::ApprovalSpec,
    req: &AdmissionRequest<Approval>,
) -> Result<(), String> {
    let user = from_user_info(&req.user_info);
    let name = &spec.schema_change_ref;
    let changes: Api<SchemaChange> = Api::namespaced(admission.client.clone(), namespace);
    let change = changes
        .get_opt(name)
        .await
        .map_err(|e| format!("schemagate could not read SchemaChange {name}: {e}"))?
        .ok_or_else(|| format!("no SchemaChange named {name} in namespace {namespace}"))?;
    if let Some(uid) = &spec.schema_change_uid
        && change.metadata.uid.as_ref() != Some(uid)
    {
        return Err(format!(
            "schemaChangeUid {uid} names another object than SchemaChange {name} (uid {})",
            change.metadata.uid.clone().unwrap_or_default()
        ));
    }
    match change.status.as_ref().and_then(|s| s.sql_digest.as_deref()) {
        None => {
            return Err(format!(
                "SchemaChange {name} has not been reviewed yet: approve it once it is \
                 AwaitingApproval"
            ));
        }
        Some(digest) if digest != spec.sql_digest => {
            return Err(format!(
                "sqlDigest {} differs from the reviewed SQL of SchemaChange {name} ({digest})",
                spec.sql_digest
            ));
        }
        Some(_) => {}
    }
    let projects: Api<Project> = Api::namespaced(admission.client.clone(), namespace);
    let project = &change.spec.project_ref;
    let policy = projects
        .get_opt(project)
        .await
        .map_err(|e| format!("schemagate could not read Project {project}: {e}"))?
        .ok_or_else(|| format!("Project {project} of SchemaChange {name} does not exist"))?
        .spec
        .approval;
    let approver = Approver {
        user: user.username.clone(),
        uid: user.uid.clone(),
        groups: user.groups.clone(),
    };
    may_decide(
        &policy,
        Some(&approver),
        true,
        change.spec.author.as_ref().map(|a| a.username.as_str()),
        spec.decision,
        name,
    )
    .map_err(|verdict| format!("{}: {}", verdict.reason, verdict.message))?;
    let allowed = subject_access_review(&admission.client, namespace, name, req).await?;
    if !allowed {
        return Err(format!(
            "NotAllowedByRBAC: {} may not `approve` schemachanges in namespace {namespace} \
             (Kubernetes RBAC: grant the verb approve on schemachanges.schemagate.io, \
             optionally for this resourceName)",
            user.username
        ));
    }
    Ok(())
}

async fn subject_access_review(
    client: &Client,
    namespace: &str,
    change: &str,
    req: &AdmissionRequest<Approval>,
) -> Result<bool, String> {
    let user = &req.user_info;
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: user.username.clone(),
            uid: user.uid.clone(),
            groups: user.groups.clone(),
            extra: user.extra.clone(),
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.to_owned()),
                verb: Some("approve".to_owned()),
                group: Some(crate::api::GROUP.to_owned()),
                resource: Some("schemachanges".to_owned()),
                name: Some(change.to_owned()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| format!("schemagate could not check RBAC (SubjectAccessReview): {e}"))?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}
