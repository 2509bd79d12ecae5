//! One chat decision, after its request was verified: check the change it names, map the chat
//! user through the Project's `chatIdentities`, and create the Approval **as that user**
//! (impersonation), so the admission webhook records the user and RBAC decides. The operator's
//! own client only reads; no path here creates an Approval as the operator.

use kube::api::{Api, PostParams};

use crate::api::{Approval, ApprovalSpec, ChatIdentity, Decision, Phase, Project, SchemaChange};
use crate::notify::NotificationKind;
use crate::notify::actions::{ChatDecision, approval_name};

/// Label on Approvals created from a chat app, naming the app.
pub const VIA_LABEL: &str = "schemagate.io/via";

/// A verified decision from a chat user.
#[derive(Clone, Debug)]
pub struct Request {
    /// The chat app.
    pub provider: NotificationKind,
    /// The user's id in that app.
    pub chat_id: String,
    /// What they decided, on which change.
    pub decision: ChatDecision,
    /// How it came (`a Slack button`, `an approval link`), for the Approval's comment.
    pub via: &'static str,
}

/// What happened, told to the chat user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The Approval was created and recorded as `user`.
    Recorded {
        /// The Approval's name.
        approval: String,
        /// The Kubernetes user it was created as.
        user: String,
    },
    /// This chat user already decided this way on this change (a repeated click, a replay).
    AlreadyRecorded(String),
    /// The same delivery was seen moments ago.
    Replayed,
    /// The change is gone, was replaced, or its SQL changed since the message.
    Stale(String),
    /// The change is not waiting for an approval.
    NotAwaiting(String),
    /// The chat user is not mapped to a Kubernetes user in the Project.
    Unmapped(String),
    /// The API server refused (the admission webhook, RBAC, or the impersonation itself).
    Refused(String),
    /// Something failed on the way; try again.
    Failed(String),
}

impl Outcome {
    /// Whether an Approval now exists for this decision.
    #[must_use]
    pub fn recorded(&self) -> bool {
        matches!(self, Self::Recorded { .. } | Self::AlreadyRecorded(_))
    }

    /// The message for the chat user.
    #[must_use]
    pub fn message(&self, req: &Request) -> String {
        let c = &req.decision.change;
        let what = format!("{}/{}", c.namespace, c.name);
        let verb = match req.decision.decision {
            Decision::Approve => "approved",
            Decision::Reject => "rejected",
        };
        match self {
            Self::Recorded { user, approval } => {
                format!("{what} {verb} as {user} (Approval {approval}).")
            }
            Self::AlreadyRecorded(a) => format!("You already {verb} {what} (Approval {a})."),
            Self::Replayed => "This request was already handled.".to_owned(),
            Self::Stale(why) => format!("Nothing done: {why}."),
            Self::NotAwaiting(phase) => {
                format!("Nothing done: {what} is not awaiting approval (it is {phase}).")
            }
            Self::Unmapped(project) => format!(
                "Nothing done: your {} account is not mapped to a Kubernetes user in Project {project} (spec.approval.chatIdentities).",
                req.provider.as_str()
            ),
            Self::Refused(why) => format!("Refused: {why}"),
            Self::Failed(why) => format!("Not recorded, try again: {why}"),
        }
    }
}

/// Reads with the operator's client, writes with an impersonating one built from `config`.
pub struct Approver {
    /// The operator's client (reads only).
    pub client: kube::Client,
    /// The operator's connection settings, copied for each impersonating client.
    pub config: kube::Config,
}

impl Approver {
    /// Carries out one decision.
    pub async fn decide(&self, req: &Request) -> Outcome {
        let c = &req.decision.change;
        let changes = Api::<SchemaChange>::namespaced(self.client.clone(), &c.namespace);
        let change = match changes.get_opt(&c.name).await {
            Ok(Some(change)) => change,
            Ok(None) => return Outcome::Stale(format!("SchemaChange {} no longer exists", c.name)),
            Err(e) => return Outcome::Failed(api_message(&e)),
        };
        if change.metadata.uid.as_deref() != Some(c.uid.as_str()) {
            return Outcome::Stale(format!(
                "SchemaChange {} was replaced since the message",
                c.name
            ));
        }
        let status = change.status.clone().unwrap_or_default();
        if status.sql_digest.as_deref() != Some(c.digest.as_str()) {
            return Outcome::Stale(format!("the SQL of {} changed since the message", c.name));
        }
        let phase = status.phase.unwrap_or_default();
        if phase != Phase::AwaitingApproval {
            return Outcome::NotAwaiting(phase.as_str().to_owned());
        }
        let projects = Api::<Project>::namespaced(self.client.clone(), &c.namespace);
        let project = match projects.get_opt(&change.spec.project_ref).await {
            Ok(Some(p)) => p,
            Ok(None) => return Outcome::Unmapped(change.spec.project_ref.clone()),
            Err(e) => return Outcome::Failed(api_message(&e)),
        };
        let Some(identity) = project
            .spec
            .approval
            .chat_identities
            .iter()
            .find(|i| i.provider == req.provider && i.id == req.chat_id)
        else {
            return Outcome::Unmapped(change.spec.project_ref.clone());
        };
        self.create_as(identity, req).await
    }

    async fn create_as(&self, identity: &ChatIdentity, req: &Request) -> Outcome {
        let c = &req.decision.change;
        let name = approval_name(&c.uid, req.provider, &req.chat_id, req.decision.decision);
        let mut config = self.config.clone();
        config.auth_info.impersonate = Some(identity.user.clone());
        config.auth_info.impersonate_groups =
            (!identity.groups.is_empty()).then(|| identity.groups.clone());
        let client = match kube::Client::try_from(config) {
            Ok(client) => client,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let mut approval = Approval::new(
            &name,
            ApprovalSpec {
                schema_change_ref: c.name.clone(),
                sql_digest: c.digest.clone(),
                schema_change_uid: Some(c.uid.clone()),
                decision: req.decision.decision,
                comment: Some(format!(
                    "from {} by {} user {}",
                    req.via,
                    req.provider.as_str(),
                    req.chat_id
                )),
                approver: None,
            },
        );
        approval.metadata.labels =
            Some([(VIA_LABEL.to_owned(), req.provider.as_str().to_owned())].into());
        let api = Api::<Approval>::namespaced(client, &c.namespace);
        match api.create(&PostParams::default(), &approval).await {
            Ok(_) => Outcome::Recorded {
                approval: name,
                user: identity.user.clone(),
            },
            Err(kube::Error::Api(s)) if s.code == 409 => Outcome::AlreadyRecorded(name),
            Err(kube::Error::Api(s)) if (400..500).contains(&s.code) => {
                Outcome::Refused(s.message.clone())
            }
            Err(e) => Outcome::Failed(api_message(&e)),
        }
    }
}

/// An API error in one line (the API server's message, without the request URL).
fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}
