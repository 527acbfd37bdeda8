//! The user actions Directory Sync sends, as drafts (docs/plan-format.md, "Actions" and the
//! rules table): create_user, update_user (update / adopt / recreated.update_anchor),
//! enable_user / disable_user, restore_user, pending_delete_user — each with its SCIM
//! request, PATCH operations, old → new changes and reason. Only managed attributes (bound
//! or defaulted) are compared and written.

use crate::findings::{self, describe_changes};
use crate::ids::DraftId;
use crate::instance::InstanceState;
use crate::mapping::{Attr, Desired, LazyJson, Mapper, normalized};
use crate::object_keys::ad_user_keys;
use crate::pending::PendingEvidence;
use crate::plan_builder::{Draft, PlanBuilder};
use dirsnap_model::{AdUserView, IidUserView};
use dirsnap_plan::digest;
use dirsnap_plan::{Action, Change, Op, PatchOp, Request, Resource};
use serde_json::Value;

/// A user action with its keys, request and names filled in: `iid` is the IIJ ID user acted
/// on (none for creates), `user` the AD user behind it, `desired` its values.
pub(crate) fn user_action(
    op: Op,
    instance: &str,
    iid: Option<IidUserView<'_>>,
    user: Option<AdUserView<'_>>,
    desired: &Desired,
) -> Action {
    let mut keys = user.map(ad_user_keys).unwrap_or_default();
    if let Some(iid) = iid {
        keys.insert("id", iid.id().to_owned());
    }
    let (method, path) = match (op, iid) {
        (Op::CreateUser, _) | (_, None) => ("POST".to_string(), "Users".to_string()),
        (_, Some(iid)) => ("PATCH".to_string(), format!("Users/{}", iid.id())),
    };
    Action {
        seq: 0,
        op,
        resource: Resource::User,
        instance: instance.to_string(),
        target: iid.map(|u| u.id().to_owned()),
        target_action: None,
        user_name: desired
            .user_name
            .clone()
            .or(iid.map(|u| u.user_name().to_owned())),
        display_name: None,
        external_id: desired
            .external_id
            .clone()
            .or(iid.and_then(|u| u.external_id().map(str::to_owned))),
        keys,
        matched_by: None,
        rule: String::new(),
        reason: String::new(),
        changes: Vec::new(),
        request: Request { method, path },
        operations: Vec::new(),
        body: None,
        members: Vec::new(),
        depends_on: Vec::new(),
        state_digest: iid.map(|u| digest::user_digest(&u.to_row())),
    }
}

/// How an IIJ ID user differs from what AD says, as PATCH operations and changes.
pub(crate) struct UserDiff {
    pub operations: Vec<PatchOp>,
    pub changes: Vec<Change>,
}

/// Attribute differences between what AD says (`desired`) and the IIJ ID user.
pub(crate) fn diff_user(mapper: &Mapper, iid: IidUserView<'_>, desired: &Desired) -> UserDiff {
    let raw = LazyJson::new(iid.raw());
    let mut operations = Vec::new();
    let mut changes = Vec::new();
    for (attr, want) in mapper.managed.iter().zip(&desired.values) {
        if mapper.same_as_current(attr, iid, want) == Some(true) {
            continue;
        }
        let Some(have) = mapper.current(attr, iid, &raw) else {
            // The IID snapshot was read without `raw`: this attribute cannot be compared.
            continue;
        };
        let (want, have) = (normalized(want), normalized(&have));
        if want == have {
            continue;
        }
        let path = attr.scim_path(&mapper.profile);
        operations.push(if want.is_null() {
            PatchOp {
                op: "remove".into(),
                path: Some(path),
                value: None,
            }
        } else {
            PatchOp {
                op: "replace".into(),
                path: Some(path),
                value: Some(mapper.write_value(attr, &want)),
            }
        });
        changes.push(Change {
            attribute: attr.label(),
            old: have,
            new: want,
        });
    }
    UserDiff {
        operations,
        changes,
    }
}

/// create_user for an in-scope AD user no IIJ ID user matches (`create.enabled` /
/// `create.disabled`), with NO_NOTIFICATION_EMAIL when it gets no email.
pub(crate) fn create_user(
    plan: &mut PlanBuilder,
    inst: &InstanceState<'_>,
    user: AdUserView<'_>,
    desired: &Desired,
) -> DraftId {
    let instance = inst.name();
    let mapper = &inst.mapper;
    let mut action = user_action(Op::CreateUser, instance, None, Some(user), desired);
    action.rule = if desired.active {
        "create.enabled".into()
    } else {
        "create.disabled".into()
    };
    action.reason = format!(
        "the AD user {} is in scope and no IIJ ID user has its externalId or userName{}",
        user.dn(),
        if desired.active {
            ""
        } else {
            "; it is created disabled because the AD account is disabled or expired"
        }
    );
    action.changes = mapper
        .managed
        .iter()
        .zip(&desired.values)
        .filter(|(_, v)| !normalized(v).is_null())
        .map(|(attr, v)| Change {
            attribute: attr.label(),
            old: Value::Null,
            new: normalized(v),
        })
        .chain(std::iter::once(Change {
            attribute: "active".into(),
            old: Value::Null,
            new: Value::Bool(desired.active),
        }))
        .collect();
    action.body = Some(mapper.create_body(desired));
    let name = desired.user_name.clone().unwrap_or_default();
    let id = plan.add_draft(Draft::new(action, &name));
    let has_email = mapper
        .index_of(&Attr::Emails)
        .and_then(|i| desired.values.get(i))
        .is_some_and(|v| !normalized(v).is_null());
    if !has_email {
        let sources = mapper.sources_of(&Attr::Emails);
        plan.add_finding(
            findings::no_notification_email(instance, &name, ad_user_keys(user), &sources),
            vec![id],
        );
    }
    id
}

/// Which rule an update_user follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpdateRule {
    /// Bound attributes differ.
    Update,
    /// Matched by userName a pre-existing IIJ ID user without externalId: taken over.
    Adopt,
    /// A recreated AD account whose IIJ ID user is updated in place (profile
    /// `recreated_live_user: update`).
    UpdateAnchor,
}

impl UpdateRule {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UpdateRule::Update => "update",
            UpdateRule::Adopt => "adopt",
            UpdateRule::UpdateAnchor => "recreated.update_anchor",
        }
    }
}

/// The AD user and the IIJ ID user it matched, for the actions on a matched user.
pub(crate) struct MatchedPair<'r> {
    pub instance: &'r str,
    pub user: AdUserView<'r>,
    pub iid: IidUserView<'r>,
    /// The key that matched.
    pub by: &'static str,
}

/// update_user writing `diff` under `rule`.
pub(crate) fn update_user(
    pair: &MatchedPair<'_>,
    desired: &Desired,
    rule: UpdateRule,
    diff: UserDiff,
) -> Draft {
    let (user, iid) = (pair.user, pair.iid);
    let reason = match rule {
        UpdateRule::Adopt => format!(
            "adopting the pre-existing IIJ ID user {} (matched by userName; it had no externalId): {}",
            iid.user_name(),
            describe_changes(&diff.changes)
        ),
        UpdateRule::UpdateAnchor => format!(
            "the AD account was recreated (new objectGUID {}); its anchors are updated in place: {}",
            user.object_guid(),
            describe_changes(&diff.changes)
        ),
        UpdateRule::Update => format!(
            "AD values differ from IIJ ID: {}",
            describe_changes(&diff.changes)
        ),
    };
    let mut action = user_action(
        Op::UpdateUser,
        pair.instance,
        Some(iid),
        Some(user),
        desired,
    );
    action.matched_by = Some(pair.by.into());
    action.rule = rule.as_str().into();
    action.reason = reason;
    action.changes = diff.changes;
    action.operations = diff.operations;
    Draft::new(action, iid.user_name())
}

/// enable_user / disable_user: `active` (from userAccountControl / accountExpires) differs.
pub(crate) fn set_active(pair: &MatchedPair<'_>, desired: &Desired) -> Draft {
    let (user, iid) = (pair.user, pair.iid);
    let op = if desired.active {
        Op::EnableUser
    } else {
        Op::DisableUser
    };
    let mut action = user_action(op, pair.instance, Some(iid), Some(user), desired);
    action.matched_by = Some(pair.by.into());
    action.rule = if desired.active {
        "enable".into()
    } else {
        "disable".into()
    };
    action.reason = if desired.active {
        "the AD account is enabled again (userAccountControl / accountExpires)".into()
    } else if user
        .user_account_control()
        .is_some_and(|uac| uac & dirsnap_model::UAC_ACCOUNTDISABLE != 0)
        || (user.user_account_control().is_none() && !user.enabled())
    {
        "the AD account is disabled (userAccountControl ACCOUNTDISABLE)".into()
    } else {
        format!(
            "the AD account expired (accountExpires {})",
            user.account_expires()
                .map(|t| t.to_rfc3339())
                .unwrap_or_default()
        )
    };
    action.changes = vec![Change {
        attribute: "active".into(),
        old: Value::Bool(iid.active()),
        new: Value::Bool(desired.active),
    }];
    action.operations = vec![PatchOp {
        op: "replace".into(),
        path: Some("active".into()),
        value: Some(Value::Bool(desired.active)),
    }];
    Draft::new(action, iid.user_name())
}

/// restore_user: the pending IIJ ID user's AD user is in scope again and both userName and
/// externalId match. Every managed attribute is written (Directory Sync overwrites the
/// restored user with the AD values).
/// `evidence`: where the pending deletion comes from, when the live listing lacks the user.
pub(crate) fn restore_user(
    mapper: &Mapper,
    pair: &MatchedPair<'_>,
    desired: &Desired,
    evidence: Option<&PendingEvidence>,
) -> Draft {
    let (user, iid) = (pair.user, pair.iid);
    let profile = &mapper.profile;
    let mut action = user_action(
        Op::RestoreUser,
        pair.instance,
        Some(iid),
        Some(user),
        desired,
    );
    action.request.method = profile.restore_method.clone();
    action.matched_by = Some(pair.by.into());
    action.rule = "restore".into();
    action.reason = "the AD user is in scope again and both userName and externalId match the user pending deletion; Directory Sync restores it and overwrites its attributes with the AD values".into();
    if let Some(e) = evidence {
        // The live listing cannot show a pending user: the reason says what the state rests on.
        action.reason = format!("{} (the user is {})", action.reason, e.describe());
    }
    let raw = LazyJson::new(iid.raw());
    let mut operations = Vec::new();
    let mut changes = Vec::new();
    for (attr, want) in mapper.managed.iter().zip(&desired.values) {
        let want = normalized(want);
        let path = attr.scim_path(profile);
        let have = mapper.current(attr, iid, &raw).map(|v| normalized(&v));
        if have.as_ref() != Some(&want) {
            changes.push(Change {
                attribute: attr.label(),
                old: have.clone().unwrap_or(Value::Null),
                new: want.clone(),
            });
        }
        if want.is_null() {
            if have.is_some_and(|h| !h.is_null()) {
                operations.push(PatchOp {
                    op: "remove".into(),
                    path: Some(path),
                    value: None,
                });
            }
        } else {
            operations.push(PatchOp {
                op: "replace".into(),
                path: Some(path),
                value: Some(mapper.write_value(attr, &want)),
            });
        }
    }
    changes.push(Change {
        attribute: "pendingDeletion".into(),
        old: Value::Bool(true),
        new: Value::Bool(false),
    });
    if iid.active() != desired.active {
        changes.push(Change {
            attribute: "active".into(),
            old: Value::Bool(iid.active()),
            new: Value::Bool(desired.active),
        });
    }
    operations.push(PatchOp {
        op: "replace".into(),
        path: Some("active".into()),
        value: Some(Value::Bool(desired.active)),
    });
    action.operations = operations;
    action.changes = changes;
    Draft::new(action, iid.user_name())
}

/// pending_delete_user of `iid` under `rule` (never a hard delete: Directory Sync puts
/// users into pending deletion).
pub(crate) fn pending_delete(
    inst: &InstanceState<'_>,
    iid: IidUserView<'_>,
    rule: &str,
    reason: String,
) -> Draft {
    let mut action = user_action(
        Op::PendingDeleteUser,
        inst.name(),
        Some(iid),
        None,
        &Desired::default(),
    );
    action.user_name = Some(iid.user_name().to_owned());
    action.external_id = iid.external_id().map(str::to_owned);
    action.request.method = inst.mapper.profile.pending_delete_method.clone();
    action.rule = rule.into();
    action.reason = reason;
    action.changes = vec![Change {
        attribute: "pendingDeletion".into(),
        old: Value::Bool(false),
        new: Value::Bool(true),
    }];
    Draft::new(action, iid.user_name())
}
