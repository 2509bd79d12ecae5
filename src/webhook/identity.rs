//! Who sent an admission request, and the pure rules about the identity fields: what the
//! mutating webhook writes, what the validating webhook requires.
//!
//! Pure: no client calls.

use k8s_openapi::api::authentication::v1::UserInfo;

use crate::api::identity::{AUTHOR_ANNOTATION, RequestIdentity};
use crate::api::{ApprovalSpec, SchemaChangeSpec};

/// The identity the API server authenticated for a request.
#[must_use]
pub fn from_user_info(user: &UserInfo) -> RequestIdentity {
    RequestIdentity {
        username: user.username.clone().unwrap_or_default(),
        uid: user.uid.clone().filter(|u| !u.is_empty()),
        groups: user.groups.clone().unwrap_or_default(),
    }
}

/// What the mutating webhook does to an Approval or SchemaChange being created or updated.
#[derive(Debug, Clone, PartialEq)]
pub enum Stamp<T> {
    /// Write this spec instead.
    Write(T),
    /// Leave it.
    Keep,
    /// Refuse, with the reason.
    Refuse(String),
}

/// The Approval's spec with the approver recorded. On create a value in the request is refused;
/// on update a missing one is restored from the stored object (a re-apply of the original
/// manifest must not look like an edit).
#[must_use]
pub fn stamp_approval(
    spec: &ApprovalSpec,
    old: Option<&ApprovalSpec>,
    user: &RequestIdentity,
) -> Stamp<ApprovalSpec> {
    match old {
        None if spec.approver.is_some() => Stamp::Refuse(
            "spec.approver is recorded by schemagate from the request's authenticated user; \
             remove it from the Approval"
                .to_owned(),
        ),
        None => Stamp::Write(ApprovalSpec {
            approver: Some(user.clone()),
            ..spec.clone()
        }),
        Some(old) if spec.approver.is_none() && old.approver.is_some() => {
            Stamp::Write(ApprovalSpec {
                approver: old.approver.clone(),
                ..spec.clone()
            })
        }
        Some(_) => Stamp::Keep,
    }
}

/// Who wrote a SchemaChange and who synced it, from the request and the author annotation.
///
/// # Errors
/// When someone other than a GitOps identity sets the author annotation, or it is empty.
pub fn change_authorship(
    user: &RequestIdentity,
    annotation: Option<&str>,
    gitops_identities: &[String],
) -> Result<(RequestIdentity, Option<RequestIdentity>), String> {
    let is_gitops = gitops_identities.contains(&user.username);
    match (is_gitops, annotation) {
        (false, None) => Ok((user.clone(), None)),
        (false, Some(_)) => Err(format!(
            "only a configured GitOps identity may set the {AUTHOR_ANNOTATION} annotation; {} \
             is not one (the author is recorded from the request)",
            user.username
        )),
        (true, Some(author)) => {
            let author = author.trim();
            if author.is_empty() {
                return Err(format!("the {AUTHOR_ANNOTATION} annotation is empty"));
            }
            Ok((
                RequestIdentity {
                    username: author.to_owned(),
                    uid: None,
                    groups: Vec::new(),
                },
                Some(user.clone()),
            ))
        }
        // A GitOps tool that passes no author: it is the author, and is named as the syncer.
        (true, None) => Ok((user.clone(), Some(user.clone()))),
    }
}

/// The SchemaChange's spec with author and syncer recorded (see [`stamp_approval`] for the
/// create/update rules).
#[must_use]
pub fn stamp_change(
    spec: &SchemaChangeSpec,
    old: Option<&SchemaChangeSpec>,
    authorship: Result<(RequestIdentity, Option<RequestIdentity>), String>,
) -> Stamp<SchemaChangeSpec> {
    match old {
        None if spec.author.is_some() || spec.synced_by.is_some() => Stamp::Refuse(
            "spec.author and spec.syncedBy are recorded by schemagate from the request; remove \
             them from the SchemaChange"
                .to_owned(),
        ),
        None => match authorship {
            Ok((author, synced_by)) => Stamp::Write(SchemaChangeSpec {
                author: Some(author),
                synced_by,
                ..spec.clone()
            }),
            Err(message) => Stamp::Refuse(message),
        },
        Some(old)
            if (spec.author.is_none() && old.author.is_some())
                || (spec.synced_by.is_none() && old.synced_by.is_some()) =>
        {
            Stamp::Write(SchemaChangeSpec {
                author: spec.author.clone().or_else(|| old.author.clone()),
                synced_by: spec.synced_by.clone().or_else(|| old.synced_by.clone()),
                ..spec.clone()
            })
        }
        Some(_) => Stamp::Keep,
    }
}

/// The validating webhook's check of a SchemaChange: on create the recorded author and syncer
/// are exactly what this request implies; on update they, and every field the change was
/// reviewed and approved for, are unchanged (the CRD's CEL rules say the same; this is the
/// second check the design asks for).
///
/// # Errors
/// The reason for refusing.
pub fn check_change(
    spec: &SchemaChangeSpec,
    old: Option<&SchemaChangeSpec>,
    authorship: Result<(RequestIdentity, Option<RequestIdentity>), String>,
) -> Result<(), String> {
    let Some(old) = old else {
        let (author, synced_by) = authorship?;
        if spec.author.as_ref() != Some(&author) || spec.synced_by != synced_by {
            return Err(
                "spec.author/spec.syncedBy do not match the request's authenticated user: they \
                 are recorded by schemagate and cannot be supplied"
                    .to_owned(),
            );
        }
        return Ok(());
    };
    let unchanged = [
        ("author", spec.author == old.author),
        ("syncedBy", spec.synced_by == old.synced_by),
        ("sql", spec.sql == old.sql),
        ("sqlFrom", spec.sql_from == old.sql_from),
        ("instanceRef", spec.instance_ref == old.instance_ref),
        ("projectRef", spec.project_ref == old.project_ref),
        ("version", spec.version == old.version),
        (
            "transactionMode",
            spec.transaction_mode == old.transaction_mode,
        ),
    ];
    match unchanged.iter().find(|(_, same)| !same) {
        Some((field, _)) => Err(format!(
            "spec.{field} of a SchemaChange is immutable: create a new SchemaChange"
        )),
        None => Ok(()),
    }
}

/// The validating webhook's identity check of an Approval: on create the recorded approver is
/// exactly the request's user; on update it is unchanged.
///
/// # Errors
/// The reason for refusing.
pub fn check_approver(
    spec: &ApprovalSpec,
    old: Option<&ApprovalSpec>,
    user: &RequestIdentity,
) -> Result<(), String> {
    match old {
        None if spec.approver.as_ref() != Some(user) => Err(format!(
            "spec.approver does not match the request's authenticated user {}: the approver is \
             recorded by schemagate and cannot be supplied or forged",
            user.username
        )),
        Some(old) if spec.approver != old.approver => Err("spec.approver is immutable".to_owned()),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::api::Decision;

    fn user(name: &str) -> RequestIdentity {
        RequestIdentity {
            username: name.into(),
            uid: Some(format!("uid-{name}")),
            groups: vec!["dba".into()],
        }
    }

    fn approval(approver: Option<RequestIdentity>) -> ApprovalSpec {
        ApprovalSpec {
            schema_change_ref: "c".into(),
            sql_digest: "a".repeat(64),
            schema_change_uid: None,
            decision: Decision::Approve,
            comment: None,
            approver,
        }
    }

    fn change() -> SchemaChangeSpec {
        serde_json::from_value(serde_json::json!({
            "projectRef": "p", "instanceRef": "i", "version": "1", "sql": "SELECT 1"
        }))
        .unwrap()
    }

    #[test]
    fn an_approval_is_stamped_with_the_requester_and_a_supplied_approver_is_refused() {
        let alice = user("alice");
        let Stamp::Write(stamped) = stamp_approval(&approval(None), None, &alice) else {
            panic!("not stamped")
        };
        assert_eq!(stamped.approver, Some(alice.clone()));
        assert!(check_approver(&stamped, None, &alice).is_ok());
        assert!(matches!(
            stamp_approval(&approval(Some(alice.clone())), None, &user("bob")),
            Stamp::Refuse(m) if m.contains("recorded by schemagate")
        ));
        // A forged approver that got past the mutating step is still refused.
        let err = check_approver(&approval(Some(alice.clone())), None, &user("bob")).unwrap_err();
        assert!(err.contains("cannot be supplied or forged"), "{err}");
        // Updates keep it: restored when left out, refused when changed.
        assert_eq!(
            stamp_approval(&approval(None), Some(&stamped), &user("bob")),
            Stamp::Write(stamped.clone())
        );
        assert!(
            check_approver(&approval(Some(user("bob"))), Some(&stamped), &user("bob")).is_err()
        );
    }

    #[test]
    fn only_a_gitops_identity_names_the_author() {
        let gitops = vec!["argocd".to_owned()];
        let (author, syncer) = change_authorship(&user("argocd"), Some("bob"), &gitops).unwrap();
        assert_eq!(author.username, "bob");
        assert_eq!(syncer.unwrap().username, "argocd");
        let err = change_authorship(&user("carol"), Some("bob"), &gitops).unwrap_err();
        assert!(err.contains("only a configured GitOps identity"), "{err}");
        let (author, syncer) = change_authorship(&user("carol"), None, &gitops).unwrap();
        assert_eq!((author.username.as_str(), syncer), ("carol", None));
        assert!(change_authorship(&user("argocd"), Some(" "), &gitops).is_err());
    }

    #[test]
    fn a_change_records_its_author_and_its_reviewed_fields_stay_put() {
        let bob = user("bob");
        let Stamp::Write(stamped) = stamp_change(&change(), None, Ok((bob.clone(), None))) else {
            panic!("not stamped")
        };
        assert_eq!(stamped.author, Some(bob.clone()));
        assert!(check_change(&stamped, None, Ok((bob.clone(), None))).is_ok());
        assert!(check_change(&stamped, None, Ok((user("carol"), None))).is_err());
        assert!(matches!(
            stamp_change(&stamped, None, Ok((bob.clone(), None))),
            Stamp::Refuse(_)
        ));
        let mut edited = stamped.clone();
        edited.sql = Some("DROP TABLE t".into());
        let err = check_change(&edited, Some(&stamped), Ok((bob.clone(), None))).unwrap_err();
        assert!(err.contains("spec.sql"), "{err}");
        assert_eq!(
            stamp_change(&change(), Some(&stamped), Ok((user("carol"), None))),
            Stamp::Write(stamped)
        );
    }
}
