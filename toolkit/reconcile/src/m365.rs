//! Microsoft 365 checks (precautions, "Recreating Active Directory Accounts When IDs Are
//! Linked with Microsoft 365"): IIJ ID derives the Microsoft 365 immutableId from the user's
//! linkage ID (application-linking ID, else externalId, else its UUID; adm/17404058). For a
//! recreated AD account the precautions' table decides:
//!
//! | linkage ID vs before | Microsoft 365 account  | linkage                  | finding                    |
//! |----------------------|------------------------|--------------------------|----------------------------|
//! | same                 | exists, blocked*       | succeeds, unblocked      | M365_RECREATE_UNBLOCK      |
//! | same / different     | does not exist         | succeeds, new account    | M365_RECREATE_NEW_ACCOUNT  |
//! | different            | exists, blocked*       | fails (duplicate)        | M365_RECREATE_COLLISION    |
//!
//! \* blocked when Directory Sync disables the IIJ ID user or puts it into pending deletion.
//! A soft-deleted account (recycle bin) keeps its UPN and immutableId reserved (assumption
//! M1, `m365_soft_deleted_reserves`): linkage fails as with a blocked one, until it is
//! deleted for good.
//! Without `--m365` the state of Microsoft 365 is inferred from IIJ ID (confidence low).
//! A user to be created whose UPN has a blocked account gets the same check.

use crate::findings::{self, BlockedAccount, M365Subject, PreviousLinkage};
use crate::ids::DraftId;
use crate::index::{Map, map_with_capacity};
use crate::instance::InstanceState;
use crate::mapping::DesiredKeys;
use crate::object_keys::ad_user_keys;
use crate::pending::PendingEvidence;
use crate::plan_builder::PlanBuilder;
use dirsnap_model::{AdUserView, IidUserView, M365User};
use dirsnap_plan::Finding;

/// Microsoft 365 accounts by UPN and by immutableId.
pub(crate) struct M365Index<'a> {
    by_upn: Map<String, Vec<&'a M365User>>,
    /// Only accounts whose immutableId the source knows and that have one.
    by_immutable_id: Map<&'a str, Vec<&'a M365User>>,
}

/// How an IIJ ID user's Microsoft 365 account was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkedBy {
    /// Its immutableId is the IIJ ID user's linkage ID.
    ImmutableId,
    /// Its UPN is the IIJ ID user's userName (RC8) and no other immutableId says otherwise.
    Upn,
}

/// The Microsoft 365 account IIJ ID's linkage ties an IIJ ID user to (assumption M4).
#[derive(Debug, Clone, Copy)]
pub(crate) enum LinkedAccount<'a> {
    Live(&'a M365User, LinkedBy),
    /// Only a soft-deleted account (in the recycle bin) is the user's.
    SoftDeleted(&'a M365User, LinkedBy),
    None,
}

impl<'a> M365Index<'a> {
    pub(crate) fn new(users: &'a [M365User]) -> Self {
        let mut by_upn: Map<String, Vec<&'a M365User>> = map_with_capacity(users.len());
        for user in users {
            by_upn
                .entry(user.user_principal_name.to_lowercase())
                .or_default()
                .push(user);
        }
        let mut by_immutable_id: Map<&'a str, Vec<&'a M365User>> = map_with_capacity(0);
        for user in users.iter().filter(|u| u.immutable_id_known) {
            if let Some(id) = user.immutable_id.as_deref().filter(|id| !id.is_empty()) {
                by_immutable_id.entry(id).or_default().push(user);
            }
        }
        // Live accounts before soft-deleted ones, then by id: deterministic.
        for accounts in by_upn.values_mut().chain(by_immutable_id.values_mut()) {
            accounts.sort_by(|a, b| (a.deleted, &a.id).cmp(&(b.deleted, &b.id)));
        }
        M365Index {
            by_upn,
            by_immutable_id,
        }
    }

    /// The account IIJ ID's linkage ties `iid` to (assumption M4): the one whose immutableId
    /// is the user's linkage ID (adm/17404058: IIJ ID derives the immutableId from it), else
    /// the one with its userName as UPN (RC8) unless that account carries another known
    /// immutableId (then it belongs to someone else). Live accounts before soft-deleted ones.
    pub(crate) fn linked(&self, iid: IidUserView<'_>) -> LinkedAccount<'a> {
        let linkage = linkage_of_iid(iid);
        if let Some(account) = self
            .by_immutable_id
            .get(linkage.as_str())
            .and_then(|accounts| accounts.first())
        {
            return if account.deleted {
                LinkedAccount::SoftDeleted(account, LinkedBy::ImmutableId)
            } else {
                LinkedAccount::Live(account, LinkedBy::ImmutableId)
            };
        }
        let is_this_users = |account: &&M365User| {
            !account.immutable_id_known
                || account
                    .immutable_id
                    .as_deref()
                    .is_none_or(|id| id.is_empty() || id == linkage)
        };
        if let Some(account) = self.account(iid.user_name()).filter(is_this_users) {
            return LinkedAccount::Live(account, LinkedBy::Upn);
        }
        if let Some(account) = self.deleted_account(iid.user_name()).filter(is_this_users) {
            return LinkedAccount::SoftDeleted(account, LinkedBy::Upn);
        }
        LinkedAccount::None
    }

    /// The live (not soft-deleted) account with this UPN.
    fn account(&self, upn: &str) -> Option<&'a M365User> {
        self.by_upn
            .get(&upn.to_lowercase())
            .and_then(|accounts| accounts.iter().find(|u| !u.deleted).copied())
    }

    /// A soft-deleted account with this UPN (in the recycle bin).
    fn deleted_account(&self, upn: &str) -> Option<&'a M365User> {
        self.by_upn
            .get(&upn.to_lowercase())
            .and_then(|accounts| accounts.iter().find(|u| u.deleted).copied())
    }
}

/// The linkage ID IIJ ID derives Microsoft 365's immutableId from: application-linking ID,
/// else externalId, else the IIJ ID UUID (adm/17404058).
fn linkage_of_iid(user: IidUserView<'_>) -> String {
    user.downstream_id()
        .filter(|s| !s.is_empty())
        .or_else(|| user.external_id().filter(|s| !s.is_empty()))
        .unwrap_or(user.id())
        .to_owned()
}

/// The linkage ID an AD user's IIJ ID user gets (`None`: its UUID, unknown before creation).
fn linkage_of_keys(keys: &DesiredKeys) -> Option<String> {
    keys.linking_id
        .as_deref()
        .or(keys.external_id.as_deref())
        .map(str::to_string)
}

/// A recreated AD account, for the table.
pub(crate) struct RecreatedAccount<'r> {
    pub user: AdUserView<'r>,
    pub keys: &'r DesiredKeys<'r>,
    /// The IIJ ID user of the old account, when visible.
    pub old: Option<IidUserView<'r>>,
    /// The old IIJ ID user is (or by this plan becomes) disabled or pending deletion, so
    /// its Microsoft 365 account is blocked.
    pub blocked_by_sync: bool,
    /// The action the finding is about.
    pub action: Option<DraftId>,
    /// Where the old user's pending deletion comes from, when the live listing lacks it.
    pub pending: Option<&'r PendingEvidence>,
}

/// The recreated-account table for one recreated AD user (with `--m365`, or with profile
/// `m365_linkage` by inference).
pub(crate) fn check_recreated(
    plan: &mut PlanBuilder,
    inst: &InstanceState<'_>,
    m365: Option<&M365Index<'_>>,
    account: RecreatedAccount<'_>,
) {
    if m365.is_none() && !inst.mapper.profile.m365_linkage {
        return;
    }
    let upn = account
        .keys
        .user_name
        .as_deref()
        .unwrap_or(account.user.label())
        .to_string();
    let new = linkage_of_keys(account.keys);
    let old = account.old.map(linkage_of_iid);
    let actions: Vec<DraftId> = account.action.into_iter().collect();
    let pending = account.pending;
    let mut add = |finding: Finding| {
        let finding = match pending {
            Some(e) => findings::m365_old_user_pending(finding, e),
            None => finding,
        };
        plan.add_finding(finding, actions.clone());
    };
    let subject = M365Subject {
        instance: inst.name(),
        upn: &upn,
        keys: ad_user_keys(account.user),
        new_linkage: new.as_deref(),
    };
    let Some(m365) = m365 else {
        let Some(old) = old else { return };
        let finding = if new.as_deref() == Some(old.as_str()) {
            findings::m365_unblock_inferred(subject)
        } else {
            findings::m365_collision_inferred(subject, &old)
        };
        add(finding);
        return;
    };
    match m365.account(&upn) {
        Some(found)
            if found.account_enabled == Some(false)
                || account.blocked_by_sync
                || found.account_enabled.is_none() =>
        {
            let (same, previous) = if found.immutable_id_known {
                (
                    found.immutable_id.is_some() && found.immutable_id == new,
                    PreviousLinkage::Known(found.immutable_id.as_deref()),
                )
            } else {
                (
                    old.is_some() && old == new,
                    PreviousLinkage::Inferred(old.as_deref()),
                )
            };
            let blocked = BlockedAccount {
                account: found,
                blocked_now: found.account_enabled == Some(false),
                previous,
            };
            let finding = if same {
                findings::m365_unblock(subject, &blocked)
            } else {
                findings::m365_collision(subject, &blocked)
            };
            add(finding);
        }
        Some(_) => {}
        None => {
            let deleted = m365.deleted_account(&upn);
            let finding = match deleted {
                Some(account) if inst.mapper.profile.m365_soft_deleted_reserves => {
                    findings::m365_soft_deleted_collision(subject, account)
                }
                _ => findings::m365_new_account(subject, deleted),
            };
            add(finding);
        }
    }
}

/// A user about to be created (by `draft`) whose UPN already has a blocked Microsoft 365
/// account, or a soft-deleted one that keeps it reserved (M1).
pub(crate) fn check_new_user(
    plan: &mut PlanBuilder,
    inst: &InstanceState<'_>,
    m365: &M365Index<'_>,
    user: AdUserView<'_>,
    keys: &DesiredKeys,
    draft: DraftId,
) {
    let instance = inst.name();
    let Some(upn) = keys.user_name.as_deref() else {
        return;
    };
    let Some(account) = m365.account(upn) else {
        if let Some(deleted) = m365.deleted_account(upn)
            && inst.mapper.profile.m365_soft_deleted_reserves
        {
            let new = linkage_of_keys(keys);
            let subject = M365Subject {
                instance,
                upn,
                keys: ad_user_keys(user),
                new_linkage: new.as_deref(),
            };
            plan.add_finding(
                findings::m365_soft_deleted_collision(subject, deleted),
                vec![draft],
            );
        }
        return;
    };
    if account.account_enabled != Some(false) || !account.immutable_id_known {
        return;
    }
    let new = linkage_of_keys(keys);
    let subject = M365Subject {
        instance,
        upn,
        keys: ad_user_keys(user),
        new_linkage: new.as_deref(),
    };
    let finding = if account.immutable_id.is_some() && account.immutable_id == new {
        findings::m365_new_user_unblocks(subject, account)
    } else {
        findings::m365_new_user_collides(subject, account)
    };
    plan.add_finding(finding, vec![draft]);
}
