//! What the plan tells people besides its actions, worded in one place: one constructor per
//! finding (its subject, message and remediation; docs/findings.md says when each is
//! raised), then the reasons of skipped objects (`skipped`) and the plan's notes
//! (`notes`). The rules decide; these functions only word. Action reasons (`reason` of an
//! action) stay with the rule that plans the action. The codes themselves, with their usual
//! severities, are part of the plan contract (`dirsnap_plan::codes`).

use crate::index::eq_ci;
use crate::m365::LinkedBy;
use crate::m365_lifecycle::{LinkedAccountLine, Path, PathAccounts, PathCounts};
use crate::object_keys::iid_keys;
use crate::pending::PendingEvidence;
use crate::thresholds::{Counted, ThresholdCheck};
use crate::users::matching::Ambiguity;
use crate::users::recreated::AnchorChange;
use chrono::{DateTime, Utc};
use dirsnap_config::Threshold;
use dirsnap_filter::ldap::LdapFilter;
use dirsnap_model::{AdGroup, AdUserView, IidGroup, IidUserView, M365User};
use dirsnap_plan::codes;
use dirsnap_plan::{
    Action, Change, Confidence, Finding, InputDigest, Keys, MemberRef, Resource, Severity, show,
};

/// A finding of `code` about `subject`, with no keys, no text yet and high confidence.
fn about(code: &str, severity: Severity, instance: Option<&str>, subject: String) -> Finding {
    Finding {
        code: code.to_string(),
        severity,
        instance: instance.map(str::to_string),
        subject,
        keys: Keys::new(),
        message: String::new(),
        remediation: String::new(),
        confidence: Confidence::High,
        actions: Vec::new(),
        allowed: false,
    }
}

fn user_subject(name: &str) -> String {
    format!("user {name}")
}

fn group_subject(name: &str) -> String {
    format!("group {name}")
}

/// The config key of the filter that decides which IIJ ID objects of `resource` an
/// instance owns.
fn iid_filter_key(resource: Resource) -> &'static str {
    match resource {
        Resource::User => "iid.scim.filter.user",
        Resource::Group => "iid.scim.filter.group",
    }
}

/// `attribute: old → new; …`, for action reasons and drift findings.
pub(crate) fn describe_changes(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.attribute, show(&c.old), show(&c.new)))
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------------------------------
// Scope and ownership
// ---------------------------------------------------------------------------------------

/// FILTER_WIDER_THAN_SNAPSHOT: the config's filter (`config`; none: every object) for
/// `what`s may select objects the snapshot, exported with `export`, does not hold.
pub(crate) fn filter_wider_than_snapshot(
    instance: &str,
    what: &str,
    key: &str,
    config: Option<&LdapFilter>,
    export: &str,
) -> Finding {
    let config = config.map_or_else(
        || "(none: every object)".to_string(),
        |filter| filter.to_string(),
    );
    Finding {
        message: format!(
            "{key} is {config} but the AD snapshot was exported with {export}; the snapshot is the outer bound, so {what}s the new filter selects that the export filter did not are missing from this plan, and IIJ ID {what}s without an AD row in the snapshot are not deleted (listed as skipped)"
        ),
        remediation: format!(
            "re-export AD with the new config (`dirsnap export ad --config …`) to see every {what} the new filter selects"
        ),
        confidence: Confidence::Low,
        ..about(
            codes::FILTER_WIDER_THAN_SNAPSHOT,
            Severity::Warning,
            Some(instance),
            format!("{key} ({what}s)"),
        )
    }
}

/// The IIJ ID object an AD object maps to, and by which key.
pub(crate) struct Counterpart<'t> {
    pub name: &'t str,
    pub id: &'t str,
    pub matched_by: &'t str,
}

/// OWNERSHIP_CONFLICT: the AD object `label` maps to an IIJ ID object the instance does not
/// own. `keys`: the AD object's and the IIJ ID object's.
pub(crate) fn ownership_conflict(
    instance: &str,
    resource: Resource,
    label: &str,
    keys: Keys,
    counterpart: &Counterpart<'_>,
) -> Finding {
    let what = resource.as_str();
    let filter_key = iid_filter_key(resource);
    let Counterpart {
        name: iid_name,
        id: iid_id,
        matched_by: by,
    } = counterpart;
    Finding {
        keys,
        message: format!(
            "the AD {what} {label} maps (by {by}) to the IIJ ID {what} {iid_name} (id {iid_id}), which {filter_key} of instance {instance} does not select: Directory Sync will neither update it nor be able to create another one (409 uniqueness)"
        ),
        remediation: format!(
            "widen {filter_key} to include it if this instance should own it, or exclude the AD object with ad.ldap.filter"
        ),
        ..about(
            codes::OWNERSHIP_CONFLICT,
            Severity::Error,
            Some(instance),
            format!("{what} {label}"),
        )
    }
}

/// OWNERSHIP_CONFLICT: the IIJ ID object the in-scope AD object `label` would create is not
/// selected by the instance's SCIM filter.
pub(crate) fn unowned_create(
    instance: &str,
    resource: Resource,
    label: &str,
    keys: Keys,
) -> Finding {
    let what = resource.as_str();
    let filter_key = iid_filter_key(resource);
    Finding {
        keys,
        message: format!(
            "the AD {what} {label} is in the sync scope of instance {instance}, but the IIJ ID {what} it would create is not selected by {filter_key}: the next run would not see it and would fail creating it again (409 uniqueness); it is not created"
        ),
        remediation: format!(
            "make ad.ldap.filter and {filter_key} of instance {instance} select the same objects"
        ),
        ..about(
            codes::OWNERSHIP_CONFLICT,
            Severity::Error,
            Some(instance),
            format!("{what} {label}"),
        )
    }
}

/// The code of the finding about deleting an object another instance synchronizes.
pub(crate) fn foreign_delete_code(resource: Resource) -> &'static str {
    match resource {
        Resource::User => codes::FOREIGN_USER_DELETE,
        Resource::Group => codes::FOREIGN_GROUP_DELETE,
    }
}

/// FOREIGN_USER_DELETE / FOREIGN_GROUP_DELETE: `instance` would put into pending deletion
/// (delete) the IIJ ID object `name` that instance `other` synchronizes.
pub(crate) fn foreign_delete(
    instance: &str,
    other: &str,
    resource: Resource,
    name: &str,
    id: &str,
) -> Finding {
    let (what, filter_key) = (resource.as_str(), iid_filter_key(resource));
    let verb = match resource {
        Resource::User => "put into pending deletion",
        Resource::Group => "delete",
    };
    Finding {
        keys: iid_keys(id),
        message: format!(
            "instance {instance} owns the IIJ ID {what} {name} (its {filter_key} does not exclude it) but has no AD {what} for it, so Directory Sync of {instance} would {verb} it — yet instance {other} synchronizes it. The action is left out of this plan"
        ),
        remediation: format!(
            "set {filter_key} of instance {instance} so it excludes {other}'s {what}s{}",
            if resource == Resource::Group {
                ", or let only one instance sync groups (precautions: ad.ldap.filter.group '!(cn=*)' and iid.scim.filter.group 'displayName eq \"\"')"
            } else {
                ""
            }
        ),
        ..about(
            foreign_delete_code(resource),
            Severity::Error,
            Some(instance),
            format!("{what} {name}"),
        )
    }
}

// ---------------------------------------------------------------------------------------
// User matching
// ---------------------------------------------------------------------------------------

/// DUPLICATE_KEY: `count` AD objects (`names`, described) map to one userName or
/// externalId.
pub(crate) fn duplicate_key(attr: &str, value: &str, count: usize, names: &[String]) -> Finding {
    Finding {
        message: format!(
            "{count} AD objects map to the {attr} {value:?}: {}. IIJ ID keeps {attr} unique and answers 409 (uniqueness), so none of them is synchronized",
            names.join("; ")
        ),
        remediation: format!(
            "change the AD attribute bound to {attr} on all but one of them, or narrow ad.ldap.filter.user so only one is in scope"
        ),
        ..about(
            codes::DUPLICATE_KEY,
            Severity::Error,
            None,
            format!("{attr} {value}"),
        )
    }
}

/// How an AD user in a DUPLICATE_KEY finding is described.
pub(crate) fn duplicate_key_member(user: AdUserView<'_>, instance: &str) -> String {
    format!(
        "{} ({}, objectGUID {}, instance {instance})",
        user.label(),
        user.dn(),
        user.object_guid()
    )
}

/// MISSING_USER_NAME: nothing bound to userName (`sources`) has a value.
pub(crate) fn missing_user_name(
    instance: &str,
    user: AdUserView<'_>,
    keys: Keys,
    sources: &str,
) -> Finding {
    Finding {
        keys,
        message: format!(
            "the AD user {} has no value for {sources} (bound to userName), so Directory Sync cannot synchronize it",
            user.dn()
        ),
        remediation: format!(
            "set {sources} on the AD user, or exclude it with ad.ldap.filter.user"
        ),
        ..about(
            codes::MISSING_USER_NAME,
            Severity::Warning,
            Some(instance),
            user_subject(user.label()),
        )
    }
}

/// Why an AD user cannot be matched to one IIJ ID user, for AMBIGUOUS_MATCH and its
/// skipped entry.
pub(crate) fn ambiguity(why: &Ambiguity<'_>) -> String {
    let describe = |users: &[IidUserView<'_>]| -> String {
        users
            .iter()
            .map(|u| format!("{} (id {})", u.user_name(), u.id()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let one = |user: &Option<IidUserView<'_>>| describe(user.as_slice());
    match why {
        Ambiguity::SeveralByExternalId(users) => format!(
            "externalId matches several IIJ ID users: {}",
            describe(users)
        ),
        Ambiguity::SeveralByLinkingId(users) => format!(
            "downstreamId matches several IIJ ID users: {}",
            describe(users)
        ),
        Ambiguity::ExternalIdVsLinkingId {
            by_external_id,
            by_linking_id,
        } => format!(
            "externalId matches {} but downstreamId matches {}",
            one(by_external_id),
            one(by_linking_id)
        ),
        Ambiguity::KeyVsUserName {
            by,
            by_key,
            by_user_name,
        } => format!(
            "{by} matches {} but the userName belongs to {}",
            one(by_key),
            one(by_user_name)
        ),
        Ambiguity::SeveralByUserName(users) => {
            format!("userName matches several IIJ ID users: {}", describe(users))
        }
        Ambiguity::ClaimedByAnother(user) => format!(
            "the IIJ ID user {} is also matched by another AD object",
            user.map(|u| format!("{} (id {})", u.user_name(), u.id()))
                .unwrap_or_default()
        ),
    }
}

/// AMBIGUOUS_MATCH for a user; `why` from [`ambiguity`].
pub(crate) fn ambiguous_user(
    instance: &str,
    user: AdUserView<'_>,
    keys: Keys,
    why: &str,
) -> Finding {
    Finding {
        keys,
        message: format!(
            "the AD user {} cannot be matched to one IIJ ID user: {why}; nothing is done for it",
            user.dn()
        ),
        remediation: "decide which IIJ ID user is this person's: fix externalId / userName in IIJ ID Console (or delete the stray user), then reconcile again".into(),
        ..about(
            codes::AMBIGUOUS_MATCH,
            Severity::Error,
            Some(instance),
            user_subject(user.label()),
        )
    }
}

// ---------------------------------------------------------------------------------------
// User lifecycle
// ---------------------------------------------------------------------------------------

/// ADOPTION: the pre-existing IIJ ID user `iid` (no externalId) is taken over by userName.
pub(crate) fn adoption(instance: &str, iid: IidUserView<'_>, keys: Keys) -> Finding {
    Finding {
        keys,
        message: format!(
            "the IIJ ID user {} existed before and has no externalId; Directory Sync takes it over by userName and writes the AD values",
            iid.user_name()
        ),
        remediation: "check it is the same person as the AD user before applying".into(),
        ..about(
            codes::ADOPTION,
            Severity::Info,
            Some(instance),
            user_subject(iid.user_name()),
        )
    }
}

/// NO_NOTIFICATION_EMAIL: the user `name` is created without an email; `sources` are the
/// AD attributes bound to emails.
pub(crate) fn no_notification_email(
    instance: &str,
    name: &str,
    keys: Keys,
    sources: &[String],
) -> Finding {
    Finding {
        keys,
        message: format!(
            "{name} will be created without a notification email ({}). Directory Sync sends no registration email; a user who does not use Password Sync gets a temporary password only by entering the login ID on the login page, and it is sent to the notification email: this user cannot receive one",
            if sources.is_empty() {
                "no AD attribute is bound to emails".to_string()
            } else {
                format!("{} is empty in AD", sources.join(", "))
            }
        ),
        remediation: "set the AD attribute bound to emails (mail) before the sync, use Password Sync for this user, or set the notification email in IIJ ID Console after creation".into(),
        ..about(
            codes::NO_NOTIFICATION_EMAIL,
            Severity::Warning,
            Some(instance),
            user_subject(name),
        )
    }
}

/// Why an AD user with the login ID of a pending (or soon pending) IIJ ID user can be
/// neither restored nor created.
pub(crate) enum PendingConflict<'t> {
    /// A new AD object: its anchor-derived linkage differs from the pending user's.
    NewObject(&'t AnchorChange),
    /// Same login ID, another externalId.
    ExternalIdDiffers {
        new: Option<&'t str>,
        old: Option<&'t str>,
    },
    /// Another userName (the externalId or linking ID matched).
    UserNameDiffers { new: Option<&'t str> },
    /// A new AD object whose old, live IIJ ID user this plan first puts into pending
    /// deletion (profile `recreated_live_user: pending_delete`).
    OldUserDeletedByThisPlan(&'t AnchorChange),
}

/// RECREATED_PENDING_DELETION: the AD user `user` has the login ID of `iid`, pending
/// deletion (or put into it by this plan), and cannot be restored.
pub(crate) fn recreated_pending_deletion(
    instance: &str,
    user: AdUserView<'_>,
    iid: IidUserView<'_>,
    keys: Keys,
    conflict: PendingConflict<'_>,
    evidence: Option<&PendingEvidence>,
) -> Finding {
    let why = match conflict {
        PendingConflict::NewObject(AnchorChange {
            attribute,
            old,
            new,
        }) => format!(
            "it is a new AD object (objectGUID {}): its {attribute} {new} differs from the pending user's {old}",
            user.object_guid()
        ),
        PendingConflict::ExternalIdDiffers { new, old } => format!(
            "its externalId {} differs from the pending user's {}",
            new.unwrap_or("(none)"),
            old.unwrap_or("(none)")
        ),
        PendingConflict::UserNameDiffers { new } => format!(
            "its userName {} differs from the pending user's {}",
            new.unwrap_or("(none)"),
            iid.user_name()
        ),
        PendingConflict::OldUserDeletedByThisPlan(AnchorChange {
            attribute,
            old,
            new,
        }) => format!(
            "it is a new AD object (objectGUID {}) whose {attribute} {new} differs from {old}; this plan first puts {} into pending deletion",
            user.object_guid(),
            iid.user_name()
        ),
    };
    let pending_now = !matches!(conflict, PendingConflict::OldUserDeletedByThisPlan(_));
    Finding {
        keys,
        message: format!(
            "the AD user {} has the login ID of the IIJ ID user {} (id {}){}, but {why}. Directory Sync cannot restore or create it and logs an error on every run until that user is deleted in the console; nothing is done for the AD user",
            user.dn(),
            iid.user_name(),
            iid.id(),
            if pending_now {
                ", which is pending deletion"
            } else {
                ""
            },
        ) + &evidence
            .map(|e| format!(". Its pending deletion: it is {}", e.describe()))
            .unwrap_or_default(),
        confidence: evidence.map_or(Confidence::High, PendingEvidence::confidence),
        remediation: format!(
            "in IIJ ID Console, delete {} permanently (Users pending deletion → delete){}; the next sync then creates the new user. Check this user's Microsoft 365 findings first",
            iid.user_name(),
            if pending_now {
                ""
            } else {
                " after this plan has put it into pending deletion"
            }
        ),
        ..about(
            codes::RECREATED_PENDING_DELETION,
            Severity::Error,
            Some(instance),
            user_subject(user.label()),
        )
    }
}

/// What became of the IIJ ID user of a recreated AD account (RECREATED_USER).
pub(crate) enum RecreatedUser<'t> {
    /// History shows the recreation (`old_guid` replaced), the linkage ID is unchanged: the
    /// IIJ ID user continues, or is `restored` from pending deletion.
    Continues {
        old_guid: &'t str,
        iid: IidUserView<'t>,
        restored: bool,
        /// Where the restored user's pending deletion comes from, when the live listing
        /// lacks it.
        evidence: Option<&'t PendingEvidence>,
    },
    /// Profile `recreated_live_user: update`: the user's anchors are rewritten in place.
    UpdatedInPlace { iid: IidUserView<'t> },
    /// Profile `restore_requires_same_linking_id: false` (RC14): a new AD object with the
    /// userName and externalId of a user pending deletion restores it, and the restore
    /// overwrites the linking ID.
    RestoredOverAnchor {
        iid: IidUserView<'t>,
        change: &'t AnchorChange,
        evidence: Option<&'t PendingEvidence>,
    },
    /// History shows the recreation, and no IIJ ID user with the login ID is visible.
    NotVisible { old_guid: &'t str },
}

/// RECREATED_USER: the AD account `user` was recreated (new objectGUID, same login ID).
pub(crate) fn recreated_user(
    instance: &str,
    user: AdUserView<'_>,
    keys: Keys,
    outcome: RecreatedUser<'_>,
) -> Finding {
    let (message, severity) = match outcome {
        RecreatedUser::Continues {
            old_guid,
            iid,
            restored,
            evidence,
        } => (
            format!(
                "the AD account {} was recreated (objectGUID {} replaced {old_guid}), but nothing Directory Sync sends identifies the AD object, so the new account {} the IIJ ID user {} (id {}{}) and its Microsoft 365 linkage",
                user.dn(),
                user.object_guid(),
                if restored { "restores" } else { "continues as" },
                iid.user_name(),
                iid.id(),
                evidence
                    .map(|e| format!(", {}", e.describe()))
                    .unwrap_or_default()
            ),
            Severity::Info,
        ),
        RecreatedUser::UpdatedInPlace { iid } => (
            format!(
                "the AD account {} was recreated (new objectGUID {}); profile recreated_live_user = update, so the IIJ ID user {} (id {}) is updated in place with the new anchors, changing its Microsoft 365 linkage ID",
                user.dn(),
                user.object_guid(),
                iid.user_name(),
                iid.id()
            ),
            Severity::Warning,
        ),
        RecreatedUser::RestoredOverAnchor {
            iid,
            change,
            evidence,
        } => (
            format!(
                "the AD account {} is a new AD object (objectGUID {}; its {} {} differs from the pending user's {}) with the userName and externalId of the IIJ ID user {} (id {}{}), which is pending deletion. Under profile restore_requires_same_linking_id = false (assumption RC14: the restore rule's text alone), Directory Sync restores that user and overwrites its {} with {}, which changes its Microsoft 365 linkage",
                user.dn(),
                user.object_guid(),
                change.attribute,
                change.new,
                change.old,
                iid.user_name(),
                iid.id(),
                evidence
                    .map(|e| format!(", {}", e.describe()))
                    .unwrap_or_default(),
                change.attribute,
                change.new
            ),
            Severity::Warning,
        ),
        RecreatedUser::NotVisible { old_guid } => (
            format!(
                "the AD account {} was recreated (objectGUID {} replaced {old_guid}) and no IIJ ID user with its login ID is visible, so a new IIJ ID user is planned. If the old user is in pending deletion — where Directory Sync puts the user of a deleted AD account, and which IIJ ID does not list over SCIM (assumption MK2) — the create fails with 409 (login ID taken) until that user is deleted for good (lifecycle table: Recreate user → error)",
                user.dn(),
                user.object_guid()
            ),
            Severity::Warning,
        ),
    };
    let (remediation, confidence) = match outcome {
        RecreatedUser::NotVisible { .. } => (
            format!(
                "look for {} in IIJ ID Console → Users pending deletion; if it is there, check this user's Microsoft 365 findings, then delete it for good before applying (or restore it instead, by giving the AD account the old linkage ID)",
                user.label()
            ),
            Confidence::Low,
        ),
        RecreatedUser::RestoredOverAnchor { .. } => (
            "confirm the recreation was intended and that the old user's data may go to the new AD account; see this user's Microsoft 365 findings. With the default reading (restore_requires_same_linking_id: true, SPEC §5) this is RECREATED_PENDING_DELETION instead".into(),
            Confidence::Low,
        ),
        RecreatedUser::Continues {
            evidence: Some(e), ..
        } => (
            "confirm the recreation was intended; see this user's Microsoft 365 findings".into(),
            e.confidence(),
        ),
        _ => (
            "confirm the recreation was intended; see this user's Microsoft 365 findings".into(),
            Confidence::High,
        ),
    };
    Finding {
        keys,
        message,
        remediation,
        confidence,
        ..about(
            codes::RECREATED_USER,
            severity,
            Some(instance),
            user_subject(user.label()),
        )
    }
}

// ---------------------------------------------------------------------------------------
// Microsoft 365 (precautions, "Recreating Active Directory Accounts When IDs Are Linked
// with Microsoft 365")
// ---------------------------------------------------------------------------------------

/// A Microsoft 365 finding about a recreated user whose old IIJ ID user the live listing
/// lacks: says where its pending deletion comes from, and is no surer than that.
pub(crate) fn m365_old_user_pending(mut finding: Finding, evidence: &PendingEvidence) -> Finding {
    finding.message = format!(
        "{}. The old IIJ ID user is {}",
        finding.message,
        evidence.describe()
    );
    if evidence.confidence() == Confidence::Low {
        finding.confidence = Confidence::Low;
    }
    finding
}

/// Whom a Microsoft 365 finding is about: the user's UPN (its userName) and AD keys.
pub(crate) struct M365Subject<'t> {
    pub instance: &'t str,
    pub upn: &'t str,
    pub keys: Keys,
    /// The linkage ID the (recreated or new) IIJ ID user will have; `None`: its UUID.
    pub new_linkage: Option<&'t str>,
}

impl<'t> M365Subject<'t> {
    fn new_linkage_text(&self) -> &'t str {
        self.new_linkage.unwrap_or("(the new IIJ ID user's UUID)")
    }

    fn finding(self, code: &str, severity: Severity) -> Finding {
        Finding {
            keys: self.keys,
            ..about(code, severity, Some(self.instance), user_subject(self.upn))
        }
    }
}

/// Why the state of Microsoft 365 is a guess without `--m365`.
const M365_INFERRED: &str = "inferred from IIJ ID state without a Microsoft 365 snapshot (pass --m365 for certainty): the IIJ ID user existed, so its Microsoft 365 account presumably exists and is blocked once the user is disabled or pending deletion";

/// M365_RECREATE_UNBLOCK without a Microsoft 365 snapshot: the linkage ID is unchanged.
pub(crate) fn m365_unblock_inferred(subject: M365Subject<'_>) -> Finding {
    let (upn, new_text) = (subject.upn, subject.new_linkage_text());
    Finding {
        message: format!(
            "the recreated user's linkage ID {new_text} equals the previous one; a blocked Microsoft 365 account {upn} would be unblocked and reused ({M365_INFERRED})"
        ),
        remediation:
            "export Microsoft 365 (`dirsnap export m365`) and reconcile with --m365 to confirm"
                .into(),
        confidence: Confidence::Low,
        ..subject.finding(codes::M365_RECREATE_UNBLOCK, Severity::Info)
    }
}

/// M365_RECREATE_COLLISION without a Microsoft 365 snapshot: the linkage ID was `old`.
pub(crate) fn m365_collision_inferred(subject: M365Subject<'_>, old: &str) -> Finding {
    let (upn, new_text) = (subject.upn, subject.new_linkage_text());
    Finding {
        message: format!(
            "the recreated user's linkage ID {new_text} differs from the previous {old}; if the Microsoft 365 account {upn} exists blocked, linkage fails as a duplicate ({M365_INFERRED})"
        ),
        remediation: "export Microsoft 365 and reconcile with --m365; if a blocked account exists, permanently delete it, or restore the old application-linking ID / externalId on the AD account".into(),
        confidence: Confidence::Low,
        ..subject.finding(codes::M365_RECREATE_COLLISION, Severity::Error)
    }
}

/// The linkage ID a blocked Microsoft 365 account was linked with.
pub(crate) enum PreviousLinkage<'t> {
    /// Its immutableId, as the Microsoft 365 snapshot says (`None`: unset).
    Known(Option<&'t str>),
    /// Not in the snapshot (the admin center CSV): the old IIJ ID user's linkage ID.
    Inferred(Option<&'t str>),
}

/// A Microsoft 365 account the recreated user's UPN has, blocked or about to be.
pub(crate) struct BlockedAccount<'t> {
    pub account: &'t M365User,
    /// Blocked already (else: blocked when Directory Sync disables or deletes the old user).
    pub blocked_now: bool,
    pub previous: PreviousLinkage<'t>,
}

impl BlockedAccount<'_> {
    fn state(&self) -> &'static str {
        if self.blocked_now {
            "is blocked"
        } else {
            "will be blocked when Directory Sync disables or deletes the IIJ ID user"
        }
    }

    fn previous_text(&self) -> &str {
        match self.previous {
            PreviousLinkage::Known(id) => id.unwrap_or("(none)"),
            PreviousLinkage::Inferred(id) => id.unwrap_or("(unknown)"),
        }
    }

    fn confidence(&self) -> Confidence {
        match self.previous {
            PreviousLinkage::Known(_) => Confidence::High,
            PreviousLinkage::Inferred(_) => Confidence::Low,
        }
    }
}

/// M365_RECREATE_UNBLOCK: the recreated user keeps the linkage ID of the blocked account.
pub(crate) fn m365_unblock(subject: M365Subject<'_>, blocked: &BlockedAccount<'_>) -> Finding {
    let (upn, new_text) = (subject.upn, subject.new_linkage_text());
    Finding {
        message: format!(
            "the Microsoft 365 account {upn} (id {}) {}; the recreated user's linkage ID {new_text} is the same as before ({}), so linkage succeeds: the account is unblocked and reused",
            blocked.account.id,
            blocked.state(),
            blocked.previous_text()
        ),
        remediation: "nothing to do; licenses removed while blocked may need to be re-assigned"
            .into(),
        confidence: blocked.confidence(),
        ..subject.finding(codes::M365_RECREATE_UNBLOCK, Severity::Info)
    }
}

/// M365_RECREATE_COLLISION: the recreated user's linkage ID differs from the blocked
/// account's.
pub(crate) fn m365_collision(subject: M365Subject<'_>, blocked: &BlockedAccount<'_>) -> Finding {
    let (upn, new_text) = (subject.upn, subject.new_linkage_text());
    Finding {
        message: format!(
            "the Microsoft 365 account {upn} (id {}) {} and carries immutableId {}, but the recreated user's linkage ID is {new_text}: IIJ ID's linkage will fail as a duplicate of the blocked account",
            blocked.account.id,
            blocked.state(),
            blocked.previous_text()
        ),
        remediation: "permanently delete the blocked Microsoft 365 account (Microsoft 365 admin center → Deleted users → delete permanently), or restore the old application-linking ID / externalId on the AD account (e.g. set mS-DS-ConsistencyGuid to the old value)".into(),
        confidence: blocked.confidence(),
        ..subject.finding(codes::M365_RECREATE_COLLISION, Severity::Error)
    }
}

/// M365_RECREATE_NEW_ACCOUNT: no Microsoft 365 account has the UPN (`deleted`: a
/// soft-deleted one does).
pub(crate) fn m365_new_account(subject: M365Subject<'_>, deleted: Option<&M365User>) -> Finding {
    let upn = subject.upn;
    let extra = deleted
        .map(|d| {
            format!(
                " (a soft-deleted account with this UPN, id {}, is in the recycle bin)",
                d.id
            )
        })
        .unwrap_or_default();
    Finding {
        message: format!(
            "no Microsoft 365 account has the UPN {upn}{extra}: linkage creates a new account for the recreated user"
        ),
        remediation:
            "nothing to do; the new account starts without the old mailbox data and licenses".into(),
        ..subject.finding(codes::M365_RECREATE_NEW_ACCOUNT, Severity::Info)
    }
}

/// M365_RECREATE_COLLISION: a soft-deleted account keeps the UPN reserved (assumption M1).
pub(crate) fn m365_soft_deleted_collision(subject: M365Subject<'_>, account: &M365User) -> Finding {
    let upn = subject.upn;
    Finding {
        message: format!(
            "the Microsoft 365 account {upn} (id {}, immutableId {}) is soft-deleted, in the recycle bin; Entra ID keeps a soft-deleted user's userPrincipalName and immutableId reserved until it is deleted for good (assumption M1), so linking this user to {upn} fails until then",
            account.id,
            account.immutable_id.as_deref().unwrap_or("(unknown)")
        ),
        remediation: "permanently delete the account (Microsoft 365 admin center → Deleted users → delete permanently), or restore it if it is this person's; dirsnap.profile.m365_soft_deleted_reserves: false treats it as absent".into(),
        confidence: Confidence::Low,
        ..subject.finding(codes::M365_RECREATE_COLLISION, Severity::Error)
    }
}

/// M365_RECREATE_UNBLOCK: a user to be created has the immutableId of a blocked account.
pub(crate) fn m365_new_user_unblocks(subject: M365Subject<'_>, account: &M365User) -> Finding {
    let upn = subject.upn;
    Finding {
        message: format!(
            "a blocked Microsoft 365 account {upn} (id {}) has the new user's linkage ID; it will be unblocked and reused",
            account.id
        ),
        remediation: "nothing to do".into(),
        ..subject.finding(codes::M365_RECREATE_UNBLOCK, Severity::Info)
    }
}

/// M365_RECREATE_COLLISION: a user to be created has another linkage ID than the blocked
/// account with its UPN.
pub(crate) fn m365_new_user_collides(subject: M365Subject<'_>, account: &M365User) -> Finding {
    let (upn, new_text) = (subject.upn, subject.new_linkage_text());
    Finding {
        message: format!(
            "a blocked Microsoft 365 account {upn} (id {}) exists with immutableId {}, but the user to be created has linkage ID {new_text}: linkage will fail as a duplicate",
            account.id,
            account.immutable_id.as_deref().unwrap_or("(none)"),
        ),
        remediation: "permanently delete the blocked Microsoft 365 account, or give the AD account the old linkage ID".into(),
        ..subject.finding(codes::M365_RECREATE_COLLISION, Severity::Error)
    }
}

// ---------------------------------------------------------------------------------------
// Microsoft 365 consequences of disable, pending deletion, restore and enable
// (m365_lifecycle.rs; precautions' footnote, admj/16877844, assumptions M1-M4)
// ---------------------------------------------------------------------------------------

/// How many accounts a Microsoft 365 finding names before it counts the rest: a run that
/// disables 20,000 users gets one readable finding; each action's reason names its own.
const M365_LISTED: usize = 20;

/// An account's licences, for a message.
pub(crate) fn licences_text(account: &M365User) -> String {
    if account.licenses.is_empty() {
        "no licences".into()
    } else {
        format!("licences {}", account.licenses.join(", "))
    }
}

fn linked_account_text(line: &LinkedAccountLine<'_>) -> String {
    let account = line.account;
    let whose = if eq_ci(line.user_name, &account.user_principal_name) {
        String::new()
    } else {
        format!("{}: ", line.user_name)
    };
    let by = match line.by {
        LinkedBy::ImmutableId => "by immutableId",
        LinkedBy::Upn => "by UPN",
    };
    let deleted = match (account.deleted, account.deleted_at) {
        (true, Some(at)) => format!(", deleted {}", at.to_rfc3339()),
        _ => String::new(),
    };
    format!(
        "{whose}{} (id {}, {by}; {}{deleted})",
        account.user_principal_name,
        account.id,
        licences_text(account)
    )
}

/// `lines` as a list, the first [`M365_LISTED`] named and the rest counted.
fn linked_accounts_text(lines: &[LinkedAccountLine<'_>]) -> String {
    let mut text = lines
        .iter()
        .take(M365_LISTED)
        .map(linked_account_text)
        .collect::<Vec<_>>()
        .join("; ");
    if lines.len() > M365_LISTED {
        text.push_str(&format!(
            "; … and {} more (each action's reason names its account)",
            lines.len() - M365_LISTED
        ));
    }
    text
}

fn users(n: usize) -> String {
    if n == 1 {
        "1 user".into()
    } else {
        format!("{n} users")
    }
}

/// What the plan does to the users of `path`, short (`… more users it disables`).
fn path_verb(path: Path) -> &'static str {
    match path {
        Path::Disable => "disables",
        Path::PendingDeletion => "puts into pending deletion",
        Path::Restore => "restores",
        Path::Enable => "enables",
    }
}

/// What the plan does to `who` on `path` (`puts 3 users into pending deletion`).
fn path_phrase(path: Path, who: &str) -> String {
    match path {
        Path::Disable => format!("disables {who}"),
        Path::PendingDeletion => format!("puts {who} into pending deletion"),
        Path::Restore => format!("restores {who} from pending deletion"),
        Path::Enable => format!("enables {who}"),
    }
}

/// What IIJ ID does to the Microsoft 365 account on `path`, and the source.
fn path_rule(path: Path) -> &'static str {
    match path {
        Path::Disable | Path::PendingDeletion => {
            "when Directory Sync disables an IIJ ID user or puts it into pending deletion, IIJ ID blocks its Microsoft 365 account and deactivates its licences (precautions, footnote to the Microsoft 365 table)"
        }
        Path::Restore => {
            "restoring an IIJ ID user from pending deletion unblocks its Microsoft 365 account (admj/16877844)"
        }
        Path::Enable => {
            "IIJ ID's linkage writes the user's enabled state to the account's accountEnabled (faq/19644093; assumption M2), so enabling the user unblocks its Microsoft 365 account"
        }
    }
}

fn m365_path_subject(path: Path) -> String {
    format!("m365 {}", path.op())
}

/// M365_ACCOUNTS_BLOCKED / M365_ACCOUNTS_UNBLOCKED: the linked accounts of the users one op
/// of this plan acts on, in one finding per instance and op.
pub(crate) fn m365_accounts(instance: &str, path: Path, accounts: &PathAccounts<'_>) -> Finding {
    let code = if path.blocks() {
        codes::M365_ACCOUNTS_BLOCKED
    } else {
        codes::M365_ACCOUNTS_UNBLOCKED
    };
    let linked = accounts.changed.len() + accounts.unchanged.len();
    let mut message = format!(
        "this plan {}; {}.",
        path_phrase(
            path,
            &format!("{} with a linked Microsoft 365 account", users(linked))
        ),
        path_rule(path)
    );
    let (changed, unchanged) = if path.blocks() {
        ("Blocked, licences deactivated", "Already blocked")
    } else {
        ("Unblocked", "Already enabled")
    };
    if !accounts.changed.is_empty() {
        message.push_str(&format!(
            " {changed} ({}): {}.",
            accounts.changed.len(),
            linked_accounts_text(&accounts.changed)
        ));
    }
    if !accounts.unchanged.is_empty() {
        message.push_str(&format!(
            " {unchanged} ({}): {}.",
            accounts.unchanged.len(),
            linked_accounts_text(&accounts.unchanged)
        ));
    }
    if !path.blocks() && !accounts.changed.is_empty() {
        message.push_str(" Whether IIJ ID assigns again the licences it deactivated is not documented (assumption M3): the licences named are those the account has now.");
    }
    if accounts.no_account > 0 {
        let (more, has) = if accounts.no_account == 1 {
            ("1 more user".to_string(), "has")
        } else {
            (format!("{} more users", accounts.no_account), "have")
        };
        message.push_str(&format!(
            " {more} it {} {has} no Microsoft 365 account (none has the linkage ID as immutableId or the userName as UPN){}.",
            path_verb(path),
            if path.blocks() {
                ": nothing changes there"
            } else {
                ": what IIJ ID's linkage does for them is not documented"
            }
        ));
    }
    let remediation = if path.blocks() {
        "confirm these users are meant to lose Microsoft 365 (sign-in blocked; with the licences deactivated their mailbox, OneDrive and Teams are out of their reach); each action's reason names its user's account and licences"
    } else {
        "after the sync, check in the Microsoft 365 admin center that these accounts are unblocked and have the licences their users need; each action's reason names its user's account"
    };
    Finding {
        message,
        remediation: remediation.into(),
        ..about(
            code,
            Severity::Info,
            Some(instance),
            m365_path_subject(path),
        )
    }
}

/// M365_ACCOUNT_IN_RECYCLE_BIN: users this plan restores or enables whose only Microsoft 365
/// account is soft-deleted (assumption M1).
pub(crate) fn m365_accounts_in_recycle_bin(
    instance: &str,
    path: Path,
    lines: &[LinkedAccountLine<'_>],
) -> Finding {
    Finding {
        message: format!(
            "this plan {}, in the recycle bin: {}. Normally {}; but a deleted account cannot be unblocked, and Entra ID keeps its userPrincipalName and immutableId reserved until it is deleted for good (assumption M1), so the user gets no Microsoft 365 access and IIJ ID's linkage fails until the account is restored or deleted for good",
            path_phrase(
                path,
                &format!(
                    "{} whose Microsoft 365 account is soft-deleted",
                    users(lines.len())
                )
            ),
            linked_accounts_text(lines),
            path_rule(path)
        ),
        remediation: "if the account is this person's, restore it before the sync (Microsoft 365 admin center → Users → Deleted users → Restore); otherwise delete it permanently so that the linkage can create a new one; dirsnap.profile.m365_soft_deleted_reserves: false treats it as absent".into(),
        confidence: Confidence::Low,
        ..about(
            codes::M365_ACCOUNT_IN_RECYCLE_BIN,
            Severity::Warning,
            Some(instance),
            m365_path_subject(path),
        )
    }
}

/// M365_LINKAGE_UNVERIFIED: without a Microsoft 365 snapshot, what the plan's disables,
/// pending deletions, restores and enables do to Microsoft 365 (profile `m365_linkage`, RC6).
pub(crate) fn m365_linkage_unverified(instance: &str, counts: &PathCounts) -> Finding {
    let done = Path::ALL
        .iter()
        .zip(&counts.by_path)
        .filter(|(_, actions)| !actions.is_empty())
        .map(|(path, actions)| path_phrase(*path, &users(actions.len())))
        .collect::<Vec<_>>()
        .join(", ");
    Finding {
        message: format!(
            "this plan {done}. If this tenant links IIJ ID users to Microsoft 365 (dirsnap.profile.m365_linkage, assumption RC6), IIJ ID blocks the Microsoft 365 account of each user Directory Sync disables or puts into pending deletion and deactivates its licences (precautions, footnote to the Microsoft 365 table), and unblocks the account of each user it restores (admj/16877844) or enables (assumption M2). Which accounts and licences that touches is unverified: no Microsoft 365 snapshot (--m365) was given"
        ),
        remediation: "export Microsoft 365 (`dirsnap export m365`) and reconcile with --m365 to see each user's account, its state and licences; set dirsnap.profile.m365_linkage: false if this tenant does not link users to Microsoft 365".into(),
        confidence: Confidence::Low,
        ..about(
            codes::M365_LINKAGE_UNVERIFIED,
            Severity::Info,
            Some(instance),
            "m365 linkage".into(),
        )
    }
}

// ---------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------

/// GROUP_NAME_COLLISION: `count` AD groups (`described`) map to the group name `name`.
pub(crate) fn group_name_collision(name: &str, count: usize, described: &[String]) -> Finding {
    Finding {
        message: format!(
            "{count} different AD groups map to the IIJ ID group name {name:?}: {}. Group names are unique in IIJ ID, so different groups with the same name cannot be synchronized; none of them is",
            described.join("; ")
        ),
        remediation: "rename all but one of them in AD, or change ad.ldap.filter.group so only one is synchronized".into(),
        ..about(
            codes::GROUP_NAME_COLLISION,
            Severity::Error,
            None,
            group_subject(name),
        )
    }
}

/// How an AD group in a GROUP_NAME_COLLISION finding is described.
pub(crate) fn group_name_collision_member(group: &AdGroup, instance: &str) -> String {
    format!(
        "{} (objectGUID {}, instance {instance})",
        group.dn, group.object_guid
    )
}

/// AMBIGUOUS_MATCH: `count` IIJ ID groups have the AD group's name.
pub(crate) fn ambiguous_group_name(
    instance: &str,
    group: &AdGroup,
    keys: Keys,
    name: &str,
    count: usize,
) -> Finding {
    Finding {
        keys,
        message: format!(
            "{count} IIJ ID groups are named {name:?}; the AD group {} cannot be matched to one of them",
            group.dn
        ),
        remediation: "delete or rename the extra IIJ ID groups in the console".into(),
        ..about(
            codes::AMBIGUOUS_MATCH,
            Severity::Error,
            Some(instance),
            group_subject(name),
        )
    }
}

/// AMBIGUOUS_MATCH: the IIJ ID group `claimed` (its name) is claimed by another AD group
/// too.
pub(crate) fn ambiguous_group_claim(
    instance: &str,
    group: &AdGroup,
    keys: Keys,
    claimed: &str,
) -> Finding {
    Finding {
        keys,
        message: format!(
            "the IIJ ID group {claimed:?} is claimed by more than one AD group (one was renamed from this name); {} is left alone",
            group.dn
        ),
        remediation:
            "rename one of the AD groups so the names no longer overlap, then reconcile again"
                .into(),
        ..about(
            codes::AMBIGUOUS_MATCH,
            Severity::Error,
            Some(instance),
            group_subject(group.label()),
        )
    }
}

// ---------------------------------------------------------------------------------------
// Normal mode: the cache (last-known state) against the live tenant
// ---------------------------------------------------------------------------------------

/// CONSOLE_DRIFT: an owned user of the cache is gone from the live tenant.
pub(crate) fn console_drift_user_gone(instance: &str, cached: IidUserView<'_>) -> Finding {
    Finding {
        keys: iid_keys(cached.id()),
        message: format!(
            "the IIJ ID user {} (id {}) that the last sync wrote is gone from the live tenant (deleted in the console?)",
            cached.user_name(), cached.id()
        ),
        remediation: "run Directory Sync in recovery mode (it rebuilds the cache from the live tenant); review this plan in --mode recovery first".into(),
        ..about(
            codes::CONSOLE_DRIFT,
            Severity::Warning,
            Some(instance),
            user_subject(cached.user_name()),
        )
    }
}

/// CONSOLE_DRIFT: an owned user differs between the cache and the live tenant (`changes`:
/// cache → live).
pub(crate) fn console_drift_user_changed(
    instance: &str,
    cached: IidUserView<'_>,
    changes: &[Change],
) -> Finding {
    Finding {
        keys: iid_keys(cached.id()),
        message: format!(
            "the IIJ ID user {} differs from what the last sync wrote (edited in the console): {}",
            cached.user_name(),
            describe_changes(changes)
        ),
        remediation: "run Directory Sync in recovery mode so it re-reads the tenant (normal mode keeps sending requests computed from the stale cache); the precautions ask not to edit synchronized users in the console".into(),
        ..about(
            codes::CONSOLE_DRIFT,
            Severity::Warning,
            Some(instance),
            user_subject(cached.user_name()),
        )
    }
}

/// CONSOLE_DRIFT: a live user the instance would own is not in the cache.
pub(crate) fn console_drift_user_created(instance: &str, live: IidUserView<'_>) -> Finding {
    Finding {
        keys: iid_keys(live.id()),
        message: format!(
            "the IIJ ID user {} (id {}) exists in the live tenant but not in the last-known state: created outside Directory Sync since the last sync",
            live.user_name(), live.id()
        ),
        remediation: "run recovery mode so Directory Sync learns about it (it then adopts or deletes it according to AD)".into(),
        ..about(
            codes::CONSOLE_DRIFT,
            Severity::Warning,
            Some(instance),
            user_subject(live.user_name()),
        )
    }
}

/// CONSOLE_DRIFT: an owned group of the cache is gone from the live tenant.
pub(crate) fn console_drift_group_gone(instance: &str, cached: &IidGroup) -> Finding {
    Finding {
        keys: iid_keys(&cached.id),
        message: format!(
            "the IIJ ID group {} (id {}) that the last sync wrote is gone from the live tenant",
            cached.display_name, cached.id
        ),
        remediation: "run Directory Sync in recovery mode".into(),
        ..about(
            codes::CONSOLE_DRIFT,
            Severity::Warning,
            Some(instance),
            group_subject(&cached.display_name),
        )
    }
}

/// How an owned group differs between the cache and the live tenant.
pub(crate) struct GroupDrift<'t> {
    /// The live name, when it differs.
    pub renamed_to: Option<&'t str>,
    /// Member ids (added, removed) in the live tenant, when they differ.
    pub members: Option<(usize, usize)>,
}

/// CONSOLE_DRIFT: an owned group differs between the cache and the live tenant.
pub(crate) fn console_drift_group_changed(
    instance: &str,
    cached: &IidGroup,
    drift: &GroupDrift<'_>,
) -> Finding {
    let mut diffs = Vec::new();
    if let Some(live_name) = drift.renamed_to {
        diffs.push(format!(
            "displayName: {} → {}",
            cached.display_name, live_name
        ));
    }
    if let Some((added, removed)) = drift.members {
        diffs.push(format!("members: {added} added, {removed} removed"));
    }
    Finding {
        keys: iid_keys(&cached.id),
        message: format!(
            "the IIJ ID group {} differs from what the last sync wrote: {}",
            cached.display_name,
            diffs.join("; ")
        ),
        remediation: "run Directory Sync in recovery mode".into(),
        ..about(
            codes::CONSOLE_DRIFT,
            Severity::Warning,
            Some(instance),
            group_subject(&cached.display_name),
        )
    }
}

/// An error finding about the request of `action` on the live tenant.
fn about_request(code: &str, action: &Action) -> Finding {
    let subject = match action.resource {
        Resource::User => user_subject(action.user_name.as_deref().unwrap_or_default()),
        Resource::Group => group_subject(action.display_name.as_deref().unwrap_or_default()),
    };
    Finding {
        keys: action.keys.clone(),
        ..about(code, Severity::Error, Some(&action.instance), subject)
    }
}

/// LIVE_NOT_FOUND: the object `action` targets is gone from the live tenant (`evidence`: or
/// not listed, because it is pending deletion).
pub(crate) fn live_target_not_found(
    action: &Action,
    evidence: Option<&PendingEvidence>,
) -> Finding {
    let name = action
        .user_name
        .clone()
        .or(action.display_name.clone())
        .unwrap_or_default();
    let target = action.target.clone().unwrap_or_default();
    let message = match evidence {
        None => format!(
            "{} targets {} {name} (id {target}), which the cache has but the live tenant does not: the request will fail with 404",
            action.op,
            action.resource.as_str(),
        ),
        Some(e) => format!(
            "{} targets {} {name} (id {target}), which the cache has but the live tenant does not list: it is {}. IIJ ID answers 404 for a pending user (assumption MK2) — unless a PATCH restores it, as assumption RC7 has it, in which case a PATCH request restores it with only the values it sends",
            action.op,
            action.resource.as_str(),
            e.describe()
        ),
    };
    Finding {
        message,
        remediation: "run recovery mode (the cache is stale)".into(),
        confidence: evidence.map_or(Confidence::High, PendingEvidence::confidence),
        ..about_request(codes::LIVE_NOT_FOUND, action)
    }
}

/// LIVE_NOT_FOUND: the member `member` (id `id`) of `action` is gone from the live tenant.
pub(crate) fn live_member_not_found(
    action: &Action,
    member: &MemberRef,
    id: &str,
    evidence: Option<&PendingEvidence>,
) -> Finding {
    Finding {
        message: format!(
            "{} names the member {} (id {id}), which the live tenant no longer has{}: the request will fail",
            action.op,
            member.display,
            hidden_pending(evidence)
        ),
        remediation: "run recovery mode (the cache is stale)".into(),
        ..about_request(codes::LIVE_NOT_FOUND, action)
    }
}

/// LIVE_UNIQUENESS_CONFLICT: the live user `taken` already has the `attr` of the user
/// `action` creates.
pub(crate) fn live_user_taken(
    action: &Action,
    attr: &str,
    taken: IidUserView<'_>,
    evidence: Option<&PendingEvidence>,
) -> Finding {
    let pending = match evidence {
        Some(e) => format!(", {}", e.describe()),
        None if taken.pending_deletion() => ", pending deletion".to_string(),
        None => String::new(),
    };
    let remediation = if taken.pending_deletion() {
        "the user holding it is pending deletion: delete it for good in IIJ ID Console (Users pending deletion) if the new user should be created, after reading its Microsoft 365 findings; recovery mode reports it as RECREATED_PENDING_DELETION or restores it"
    } else {
        "run recovery mode, which matches existing users by externalId / userName instead of creating them"
    };
    Finding {
        message: format!(
            "create_user {} will fail with 409: the live tenant already has this {attr} on user {} (id {}{pending}), which the cache does not know",
            action.user_name.clone().unwrap_or_default(),
            taken.user_name(),
            taken.id(),
        ),
        remediation: remediation.into(),
        confidence: evidence.map_or(Confidence::High, PendingEvidence::confidence),
        ..about_request(codes::LIVE_UNIQUENESS_CONFLICT, action)
    }
}

/// ", which is presumed pending deletion (…) and hidden over SCIM" for a request about a user
/// the live listing lacks because it is pending: IIJ ID answers 404 for it either way (MK2).
fn hidden_pending(evidence: Option<&PendingEvidence>) -> String {
    evidence
        .map(|e| {
            format!(
                " (it is {}; IIJ ID hides a pending user over SCIM, assumption MK2)",
                e.describe()
            )
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Pending deletion the live listing cannot show
// ---------------------------------------------------------------------------------------

/// PENDING_DELETION_PRESUMED: the user `evidence` is about is pending deletion though the
/// live listing lacks it.
pub(crate) fn pending_deletion_presumed(evidence: &PendingEvidence) -> Finding {
    let id = if evidence.id_known {
        format!("id {}", evidence.id)
    } else {
        "SCIM id unknown".to_string()
    };
    let remediation = match (&evidence.source, evidence.id_known) {
        (crate::pending::PendingSource::History { .. }, _) => format!(
            "confirm in IIJ ID Console → Users pending deletion that {} is there; give that view as --pending-list (docs/pending-deletion.md) to make it certain, or to say it was deleted for good",
            evidence.user_name
        ),
        (_, false) => format!(
            "add {}'s id (IIJ ID Console shows it) to the list's id column: nothing can be sent to a user whose id is unknown, a restore included",
            evidence.user_name
        ),
        (_, true) => "nothing: the findings about this user take the state into account".into(),
    };
    Finding {
        keys: if evidence.id_known {
            iid_keys(&evidence.id)
        } else {
            Keys::new()
        },
        message: format!(
            "the IIJ ID user {} ({id}) is {}. While pending it keeps its login ID and externalId (assumption MK1): a create with either is refused (409), and its AD user back in scope is restored when userName and externalId match (lifecycle table)",
            evidence.user_name,
            evidence.describe()
        ),
        remediation,
        confidence: evidence.confidence(),
        ..about(
            codes::PENDING_DELETION_PRESUMED,
            Severity::Info,
            None,
            user_subject(&evidence.user_name),
        )
    }
}

/// LIVE_UNIQUENESS_CONFLICT: the live group `taken` already has the name of the group
/// `action` creates.
pub(crate) fn live_group_taken(action: &Action, taken: &IidGroup) -> Finding {
    Finding {
        message: format!(
            "create_group {} will fail with 409: the live tenant already has a group with that name (id {})",
            taken.display_name, taken.id
        ),
        remediation: "run recovery mode".into(),
        ..about_request(codes::LIVE_UNIQUENESS_CONFLICT, action)
    }
}

// ---------------------------------------------------------------------------------------
// History, thresholds, token
// ---------------------------------------------------------------------------------------

/// DN_CHANGED: an in-scope AD user's DN differs from its row `previous` in the previous
/// snapshot.
pub(crate) fn dn_changed_user(
    instance: &str,
    user: AdUserView<'_>,
    keys: Keys,
    previous: AdUserView<'_>,
) -> Finding {
    Finding {
        keys,
        message: format!(
            "the AD user's DN changed from {} to {} (moved or renamed); it is the same object (objectGUID {}), so its IIJ ID user and group memberships follow it",
            previous.dn(), user.dn(), user.object_guid()
        ),
        remediation: "nothing to do; if group membership in IIJ ID looks wrong after a sync that ran during the move, run Directory Sync again (precautions)".into(),
        ..about(
            codes::DN_CHANGED,
            Severity::Info,
            Some(instance),
            user_subject(user.label()),
        )
    }
}

/// CONFIG_NOT_MODELLED: a config.yml key this plan does not reflect; `effect` says what
/// dirsnap does instead and how the plan may differ (dirsnap_config's words).
pub(crate) fn config_not_modelled(
    instance: &str,
    file: &str,
    key: &str,
    line: u64,
    effect: &str,
) -> Finding {
    Finding {
        message: format!("{file}:{line}: {key}: {effect}"),
        remediation: "review this plan with that in mind (docs/iij-assumptions.md lists what dirsnap models); if the key is a typo, correct it — Directory Sync reads the same file".into(),
        ..about(
            codes::CONFIG_NOT_MODELLED,
            Severity::Warning,
            Some(instance),
            format!("config.yml {key}"),
        )
    }
}

/// GROUP_REPLACED: a deleted IIJ ID group and a created one with the same members.
pub(crate) fn group_replaced(
    instance: &str,
    old_name: &str,
    old_id: &str,
    new_name: &str,
    members: usize,
    confident: bool,
) -> Finding {
    Finding {
        message: format!(
            "this plan deletes the IIJ ID group {old_name:?} (id {old_id}) and creates {new_name:?} with the same {members} member(s): most likely the AD group was renamed (or deleted and made again), which groups matched by name cannot follow without the previous AD snapshot. Deleting an IIJ ID group deletes its Microsoft 365 group — its mail address, Teams and site links go — and the new one is a different Microsoft 365 group"
        ),
        remediation: format!(
            "if it is a rename, reconcile with --previous-ad (the AD snapshot of the last sync) so the group is renamed in place, or rename {old_name:?} to {new_name:?} in IIJ ID Console before the sync; if it is really a new group, nothing to do"
        ),
        confidence: if confident {
            Confidence::High
        } else {
            Confidence::Low
        },
        ..about(
            codes::GROUP_REPLACED,
            Severity::Warning,
            Some(instance),
            group_subject(new_name),
        )
    }
}

/// SNAPSHOT_TIME_GAP: an AD snapshot and the IIJ ID snapshot were taken far apart.
pub(crate) fn snapshot_time_gap(
    instance: &str,
    ad_taken: DateTime<Utc>,
    iid_taken: DateTime<Utc>,
    limit_hours: i64,
) -> Finding {
    let hours = (ad_taken - iid_taken).num_hours();
    let (first, later) = if hours > 0 {
        ("IIJ ID", "AD")
    } else {
        ("AD", "IIJ ID")
    };
    Finding {
        message: format!(
            "the AD snapshot of instance {instance} was taken at {} and the IIJ ID snapshot at {}: {} hours apart (more than {limit_hours}). What changed in {first} after its snapshot, before the {later} one, is in neither: the plan describes a moment that never existed, and its actions may already be done or wrong",
            ad_taken.to_rfc3339(),
            iid_taken.to_rfc3339(),
            hours.abs()
        ),
        remediation: "export AD and IIJ ID again, one right after the other, and reconcile those"
            .into(),
        ..about(
            codes::SNAPSHOT_TIME_GAP,
            Severity::Warning,
            Some(instance),
            "input snapshots".into(),
        )
    }
}

/// SNAPSHOT_REPEATED: one snapshot given in two roles.
pub(crate) fn snapshot_repeated(first: &InputDigest, second: &InputDigest) -> Finding {
    let role = |d: &InputDigest| {
        let flag = format!("--{}", d.role.replace('_', "-"));
        match &d.instance {
            Some(i) => format!("{flag} (instance {i})"),
            None => flag,
        }
    };
    let lost = if first.role.ends_with("iid") {
        "edits made in the console since the last sync cannot be seen (no CONSOLE_DRIFT is possible)"
    } else {
        "AD history adds nothing: DN changes, deletions and recreated accounts since the last sync cannot be seen"
    };
    Finding {
        message: format!(
            "{} and {} are the same snapshot (manifest digest {}): {lost}",
            role(first),
            role(second),
            first.digest
        ),
        remediation:
            "give the snapshot taken at the last sync as the previous one, or leave that flag out"
                .into(),
        ..about(
            codes::SNAPSHOT_REPEATED,
            Severity::Warning,
            first.instance.as_deref(),
            "input snapshots".into(),
        )
    }
}

/// DOMAIN_SYNCED_TWICE: two instances synchronize one AD domain.
pub(crate) fn domain_synced_twice(domain: &str, first: &str, second: &str) -> Finding {
    Finding {
        message: format!(
            "instances {first} and {second} both synchronize the AD domain {domain}. The precautions: never run two Directory Sync instances against the same domain at the same time — synchronization breaks (each sees the other's objects as its own to change or delete)"
        ),
        remediation: format!(
            "run one instance per AD domain: drop one of the two, or check that the --ad snapshots are of different domains (dirsnap.instance names {first} and {second})"
        ),
        ..about(
            codes::DOMAIN_SYNCED_TWICE,
            Severity::Error,
            None,
            format!("AD domain {domain}"),
        )
    }
}

/// DN_CHANGED for an in-scope AD group.
pub(crate) fn dn_changed_group(
    instance: &str,
    group: &AdGroup,
    keys: Keys,
    previous: &AdGroup,
) -> Finding {
    Finding {
        keys,
        message: format!(
            "the AD group's DN changed from {} to {}; it is the same object (objectGUID {})",
            previous.dn, group.dn, group.object_guid
        ),
        remediation:
            "nothing to do; run Directory Sync again if memberships were synced during the move"
                .into(),
        ..about(
            codes::DN_CHANGED,
            Severity::Info,
            Some(instance),
            group_subject(group.label()),
        )
    }
}

fn show_threshold(threshold: Threshold) -> String {
    match threshold {
        Threshold::Count(n) => n.to_string(),
        Threshold::Percent(p) => format!("{p}%"),
    }
}

/// THRESHOLD_EXCEEDED (`allowed`: accepted with `--allow-threshold`).
pub(crate) fn threshold_exceeded(instance: &str, check: &ThresholdCheck, allowed: bool) -> Finding {
    let (category, count, population) = (check.category, check.count, check.population);
    let what = match &check.counted {
        Counted::PendingDeletions => "users put into pending deletion".to_string(),
        Counted::Disables => "users disabled".to_string(),
        Counted::GroupDeletes => "groups deleted".to_string(),
        Counted::MemberRemovals { group } => format!("members removed from group {group}"),
        Counted::SourceShrink {
            now,
            before,
            against_previous_snapshot,
        } => format!(
            "fewer AD users in scope ({now} now, {before} in {})",
            if *against_previous_snapshot {
                "the previous AD snapshot"
            } else {
                "the IIJ ID users this instance owns"
            }
        ),
    };
    let share = if population > 0 {
        format!(
            " ({:.1}% of {population})",
            count as f64 * 100.0 / population as f64
        )
    } else {
        String::new()
    };
    Finding {
        message: format!(
            "{count} {what}{share} exceeds dirsnap.thresholds.{category} = {}{}",
            show_threshold(check.threshold),
            if allowed {
                "; explicitly allowed with --allow-threshold"
            } else {
                ""
            }
        ),
        remediation: format!(
            "review the actions; if they are intended, re-run with --allow-threshold {category} (or raise dirsnap.thresholds.{category}); if not, fix the AD filter or config change that causes them"
        ),
        allowed,
        ..about(
            codes::THRESHOLD_EXCEEDED,
            Severity::Error,
            Some(instance),
            format!("threshold {category}"),
        )
    }
}

const TOKEN_REMEDIATION: &str = "issue a new token in IIJ ID Console (My Menu → Access Token Management; scopes escim_read_users, escim_write_users, escim_read_groups, escim_write_groups), put it in secret.yml, and run recovery_mode_dry_run to confirm";

/// TOKEN_EXPIRING (error): the token expired at `expires`, before the plan's `as_of`.
pub(crate) fn token_expired(expires: DateTime<Utc>, as_of: DateTime<Utc>) -> Finding {
    Finding {
        message: format!(
            "the IIJ ID access token expired at {} (before {}, the time this plan reasons at); Directory Sync and replay will fail",
            expires.to_rfc3339(),
            as_of.to_rfc3339()
        ),
        remediation: TOKEN_REMEDIATION.into(),
        ..about(
            codes::TOKEN_EXPIRING,
            Severity::Error,
            None,
            "IIJ ID access token".into(),
        )
    }
}

/// TOKEN_EXPIRING (warning): the token expires `days_left` days after `as_of`.
pub(crate) fn token_expiring(
    expires: DateTime<Utc>,
    days_left: i64,
    as_of: DateTime<Utc>,
) -> Finding {
    Finding {
        message: format!(
            "the IIJ ID access token expires at {}, {days_left} days after {}; a sync or replay after that fails",
            expires.to_rfc3339(),
            as_of.to_rfc3339()
        ),
        remediation: TOKEN_REMEDIATION.into(),
        ..about(
            codes::TOKEN_EXPIRING,
            Severity::Warning,
            None,
            "IIJ ID access token".into(),
        )
    }
}

/// The reasons of objects the plan deliberately leaves alone (`skipped`).
pub(crate) mod skipped {
    use super::{foreign_delete_code, iid_filter_key};
    use crate::object_keys::iid_keys;
    use dirsnap_model::AdUserView;
    use dirsnap_plan::{Keys, Resource, Skipped};

    /// An AD user whose pending IIJ ID user `iid_name` would be restored, but whose SCIM id
    /// the console's list does not give: nothing can be sent to it.
    pub(crate) fn restore_id_unknown(
        instance: &str,
        user: AdUserView<'_>,
        keys: Keys,
        iid_name: &str,
    ) -> Skipped {
        Skipped {
            resource: Resource::User,
            instance: Some(instance.into()),
            name: user.label().to_string(),
            keys,
            reason: format!(
                "restore of {iid_name}: it is pending deletion per the console's list, which gives no id, so the restore cannot be addressed; add its id to the list (IIJ ID Console shows it) or restore it in the console"
            ),
        }
    }

    /// An AD user that shares `attrs` with another AD object (DUPLICATE_KEY).
    pub(crate) fn duplicate_key(
        instance: &str,
        user: AdUserView<'_>,
        keys: Keys,
        attrs: &[&str],
    ) -> Skipped {
        Skipped {
            resource: Resource::User,
            instance: Some(instance.into()),
            name: user.label().to_string(),
            keys,
            reason: format!(
                "DUPLICATE_KEY: another AD object maps to the same {}",
                attrs.join(" and ")
            ),
        }
    }

    /// An AD user that cannot be matched to one IIJ ID user (`why`: see `ambiguity`).
    pub(crate) fn ambiguous_match(
        instance: &str,
        user: AdUserView<'_>,
        keys: Keys,
        why: &str,
    ) -> Skipped {
        Skipped {
            resource: Resource::User,
            instance: Some(instance.into()),
            name: user.label().to_string(),
            keys,
            reason: format!("AMBIGUOUS_MATCH: {why}"),
        }
    }

    /// The IIJ ID object `name` an AD object maps to, which the instance does not own.
    pub(crate) fn not_owned(instance: &str, resource: Resource, name: &str, keys: Keys) -> Skipped {
        Skipped {
            resource,
            instance: Some(instance.into()),
            name: name.to_string(),
            keys,
            reason: format!(
                "not owned: {} of instance {instance} does not select it",
                iid_filter_key(resource)
            ),
        }
    }

    /// The AD object `label`, whose IIJ ID object would not be owned once created.
    pub(crate) fn unowned_create(
        instance: &str,
        resource: Resource,
        label: &str,
        keys: Keys,
    ) -> Skipped {
        Skipped {
            resource,
            instance: Some(instance.into()),
            name: label.to_string(),
            keys,
            reason: format!(
                "would not be owned after creation: {} of instance {instance} does not select it",
                iid_filter_key(resource)
            ),
        }
    }

    /// The IIJ ID object `name` instance `other` synchronizes (FOREIGN_*_DELETE).
    pub(crate) fn foreign(
        instance: &str,
        other: &str,
        resource: Resource,
        name: &str,
        id: &str,
    ) -> Skipped {
        Skipped {
            resource,
            instance: Some(instance.into()),
            name: name.to_string(),
            keys: iid_keys(id),
            reason: format!(
                "synchronized by instance {other}; {}",
                foreign_delete_code(resource)
            ),
        }
    }

    /// An owned IIJ ID object without an AD row while the snapshot is partial
    /// (FILTER_WIDER_THAN_SNAPSHOT): whether its AD object exists is unknown.
    pub(crate) fn outside_snapshot(
        instance: &str,
        resource: Resource,
        name: &str,
        id: &str,
    ) -> Skipped {
        let what = resource.as_str();
        Skipped {
            resource,
            instance: Some(instance.into()),
            name: name.to_string(),
            keys: iid_keys(id),
            reason: format!(
                "FILTER_WIDER_THAN_SNAPSHOT: no AD {what} in the snapshot maps to it, but the snapshot was exported with a narrower filter than ad.ldap.filter.{what}, so whether its AD {what} exists is unknown; not deleted. Re-export AD with this config to decide"
            ),
        }
    }
}

/// The plan's notes: what was left out or assumed, for people.
pub(crate) mod notes {
    use crate::pending::DismissedPending;

    /// A user history suggested as pending deletion, set aside.
    pub(crate) fn pending_dismissed(d: &DismissedPending) -> String {
        format!(
            "the IIJ ID user {} (id {}) is not taken as pending deletion: {}",
            d.user_name,
            if d.id.is_empty() { "unknown" } else { &d.id },
            d.why
        )
    }

    /// How many more were set aside than are named.
    pub(crate) fn pending_dismissed_more(count: usize) -> String {
        format!(
            "{count} more IIJ ID users earlier snapshots listed are not taken as pending deletion (deleted for good)"
        )
    }

    /// A note of the instance's mapping (`Mapper::notes`).
    pub(crate) fn mapping(instance: &str, note: &str) -> String {
        format!("instance {instance}: {note}")
    }

    /// The filter recorded in the AD snapshot's manifest does not parse.
    pub(crate) fn unparsable_export_filter(instance: &str, what: &str, key: &str) -> String {
        format!(
            "instance {instance}: the AD snapshot's recorded {what} filter does not parse; {key} is evaluated on every exported row"
        )
    }

    /// An in-scope AD group without a name (`name_attribute` and sAMAccountName empty).
    pub(crate) fn group_without_name(instance: &str, dn: &str, name_attribute: &str) -> String {
        format!(
            "instance {instance}: the AD group {dn} has no {name_attribute} or sAMAccountName; it is not synchronized"
        )
    }

    /// Memberships of groups in groups, which Directory Sync neither syncs nor flattens.
    pub(crate) fn nested_groups_left_out(count: usize) -> String {
        format!(
            "{count} nested group memberships were left out: Directory Sync does not synchronize nested groups and does not flatten their members"
        )
    }
}
