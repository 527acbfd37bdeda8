//! What the lifecycle actions do to Microsoft 365 accounts (issue 19): IIJ ID's Microsoft 365
//! linkage follows the IIJ ID user.
//!
//! | action                                   | the linked Microsoft 365 account                | source |
//! |------------------------------------------|--------------------------------------------------|--------|
//! | `disable_user`, `pending_delete_user`    | sign-in blocked, licences deactivated            | precautions, footnote to the Microsoft 365 table (**H**) |
//! | `restore_user`                           | unblocked                                        | admj/16877844 (**H**) |
//! | `enable_user`                            | unblocked (accountEnabled follows `active`)      | faq/19644093 mapping (assumption M2, `m365_enable_unblocks`) |
//!
//! Whether the licences come back with an unblock is not documented (assumption M3). The
//! linked account is the one whose immutableId is the user's linkage ID, else the one with
//! its userName as UPN (assumption M4, `M365Index::linked`); a soft-deleted one cannot be
//! unblocked (assumption M1).
//!
//! With `--m365` every such action's reason names its user's account, state and licences,
//! and one finding per instance and op lists them (M365_ACCOUNTS_BLOCKED,
//! M365_ACCOUNTS_UNBLOCKED, M365_ACCOUNT_IN_RECYCLE_BIN). Without it, and with profile
//! `m365_linkage` (RC6), one M365_LINKAGE_UNVERIFIED per instance says the consequence is
//! unverified. A run that disables 20,000 users therefore gets one finding naming the first
//! few accounts and counting the rest. Only the drafts of these four ops are visited: a user
//! the plan leaves alone costs nothing here.
//!
//! Recreated accounts have their own, per-user check (the precautions' table, `m365.rs`);
//! the actions it already reports on are left out here.

use crate::findings::{self, licences_text};
use crate::ids::DraftId;
use crate::index::IidIndex;
use crate::instance::InstanceState;
use crate::m365::{LinkedAccount, LinkedBy, M365Index};
use crate::plan_builder::PlanBuilder;
use dirsnap_model::M365User;
use dirsnap_plan::Op;
use std::collections::{BTreeMap, HashSet};

/// A lifecycle action that changes what IIJ ID does with the user's Microsoft 365 account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Path {
    Disable,
    PendingDeletion,
    Restore,
    Enable,
}

impl Path {
    pub(crate) const ALL: [Path; 4] = [
        Path::Disable,
        Path::PendingDeletion,
        Path::Restore,
        Path::Enable,
    ];

    fn of(op: Op) -> Option<Path> {
        match op {
            Op::DisableUser => Some(Path::Disable),
            Op::PendingDeleteUser => Some(Path::PendingDeletion),
            Op::RestoreUser => Some(Path::Restore),
            Op::EnableUser => Some(Path::Enable),
            _ => None,
        }
    }

    /// The op, as the plan spells it.
    pub(crate) fn op(self) -> &'static str {
        match self {
            Path::Disable => "disable_user",
            Path::PendingDeletion => "pending_delete_user",
            Path::Restore => "restore_user",
            Path::Enable => "enable_user",
        }
    }

    /// The account is blocked by it (else unblocked).
    pub(crate) fn blocks(self) -> bool {
        matches!(self, Path::Disable | Path::PendingDeletion)
    }
}

/// One user's linked Microsoft 365 account, for a finding's list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkedAccountLine<'a> {
    /// The IIJ ID user's userName.
    pub user_name: &'a str,
    pub account: &'a M365User,
    pub by: LinkedBy,
}

/// The actions of each path of one instance, without a Microsoft 365 snapshot.
#[derive(Default)]
pub(crate) struct PathCounts {
    /// Per path (in `Path::ALL` order), its actions.
    pub by_path: [Vec<DraftId>; 4],
}

impl PathCounts {
    fn add(&mut self, path: Path, id: DraftId) {
        self.by_path[path as usize].push(id);
    }

    /// Every action counted, path by path.
    fn actions(&self) -> Vec<DraftId> {
        self.by_path.iter().flatten().copied().collect()
    }
}

/// What the actions of one path of one instance do to Microsoft 365.
#[derive(Default)]
pub(crate) struct PathAccounts<'a> {
    /// Accounts whose state the action changes: blocked (for a blocking path) or unblocked.
    pub changed: Vec<LinkedAccountLine<'a>>,
    /// Accounts already in the state the action leads to.
    pub unchanged: Vec<LinkedAccountLine<'a>>,
    /// The actions of both lists.
    pub linked_actions: Vec<DraftId>,
    /// Soft-deleted accounts of users an unblocking action returns (assumption M1).
    pub in_recycle_bin: Vec<LinkedAccountLine<'a>>,
    pub recycle_bin_actions: Vec<DraftId>,
    /// Users with no (live) account.
    pub no_account: usize,
}

impl<'a> PathAccounts<'a> {
    /// Files the action `id` on the user `user_name`, whose account is `linked`.
    fn add(
        &mut self,
        path: Path,
        soft_deleted_reserves: bool,
        user_name: &'a str,
        linked: LinkedAccount<'a>,
        id: DraftId,
    ) {
        match linked {
            LinkedAccount::Live(account, by) => {
                let line = LinkedAccountLine {
                    user_name,
                    account,
                    by,
                };
                // accountEnabled unknown (a CSV without the column): counted as enabled, the
                // state a user's account has while the user is.
                let blocked_now = account.account_enabled == Some(false);
                if blocked_now != path.blocks() {
                    self.changed.push(line);
                } else {
                    self.unchanged.push(line);
                }
                self.linked_actions.push(id);
            }
            LinkedAccount::SoftDeleted(account, by) if !path.blocks() && soft_deleted_reserves => {
                self.in_recycle_bin.push(LinkedAccountLine {
                    user_name,
                    account,
                    by,
                });
                self.recycle_bin_actions.push(id);
            }
            // Nothing to block, or (M1 switched off) treated as absent.
            LinkedAccount::SoftDeleted(..) | LinkedAccount::None => self.no_account += 1,
        }
    }
}

/// Adds the Microsoft 365 consequences of every disable, pending deletion, restore and enable
/// in the plan so far.
pub(crate) fn check(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    m365: Option<&M365Index<'_>>,
) {
    // The recreated-account check (m365.rs) already reports on these users, one each (its
    // finding names one of the user's actions; an enable may follow an update).
    let reported: HashSet<String> = plan
        .findings()
        .iter()
        .filter(|f| f.finding.code.starts_with("M365_RECREATE_"))
        .flat_map(|f| f.actions.iter())
        .filter_map(|&id| plan.draft(id)?.action.target.clone())
        .collect();
    let mut unverified: BTreeMap<usize, PathCounts> = BTreeMap::new();
    let mut paths: BTreeMap<(usize, Path), PathAccounts<'_>> = BTreeMap::new();
    let mut reasons: Vec<(DraftId, String)> = Vec::new();
    for (index, draft) in plan.drafts().iter().enumerate() {
        let Some(path) = Path::of(draft.action.op) else {
            continue;
        };
        let id = DraftId::new(index);
        if draft
            .action
            .target
            .as_ref()
            .is_some_and(|target| reported.contains(target))
        {
            continue;
        }
        let Some(instance) = instances
            .iter()
            .position(|i| i.name() == draft.action.instance)
        else {
            continue;
        };
        let profile = &instances[instance].mapper.profile;
        if path == Path::Enable && !profile.m365_enable_unblocks {
            continue;
        }
        let Some(m365) = m365 else {
            if profile.m365_linkage {
                let counts = unverified.entry(instance).or_default();
                counts.add(path, id);
            }
            continue;
        };
        let Some(iid) = draft
            .action
            .target
            .as_deref()
            .and_then(|target| base.user_by_id(target))
            .and_then(|row| base.user(row))
        else {
            continue;
        };
        let soft_deleted_reserves = profile.m365_soft_deleted_reserves;
        let linked = m365.linked(iid);
        reasons.push((id, reason_clause(path, soft_deleted_reserves, linked)));
        paths.entry((instance, path)).or_default().add(
            path,
            soft_deleted_reserves,
            iid.user_name(),
            linked,
            id,
        );
    }
    for (id, clause) in reasons {
        if let Some(draft) = plan.draft_mut(id) {
            draft.action.reason.push_str(&clause);
        }
    }
    for ((instance, path), mut accounts) in paths {
        let name = instances[instance].name();
        if !accounts.linked_actions.is_empty() {
            let actions = std::mem::take(&mut accounts.linked_actions);
            plan.add_finding(findings::m365_accounts(name, path, &accounts), actions);
        }
        if !accounts.in_recycle_bin.is_empty() {
            plan.add_finding(
                findings::m365_accounts_in_recycle_bin(name, path, &accounts.in_recycle_bin),
                accounts.recycle_bin_actions,
            );
        }
    }
    for (instance, counts) in unverified {
        let actions = counts.actions();
        plan.add_finding(
            findings::m365_linkage_unverified(instances[instance].name(), &counts),
            actions,
        );
    }
}

/// What an action does to its user's Microsoft 365 account, appended to its reason: the line
/// by line view of what the finding of its path counts.
fn reason_clause(path: Path, soft_deleted_reserves: bool, linked: LinkedAccount<'_>) -> String {
    let described = |account: &M365User, by: LinkedBy| {
        format!(
            "{} (id {}{}; {})",
            account.user_principal_name,
            account.id,
            match by {
                LinkedBy::ImmutableId => ", by immutableId",
                LinkedBy::Upn => ", by UPN",
            },
            licences_text(account)
        )
    };
    match linked {
        LinkedAccount::Live(account, by) => {
            let blocked_now = account.account_enabled == Some(false);
            let account = described(account, by);
            match (path.blocks(), blocked_now) {
                (true, false) => format!(
                    "; Microsoft 365: IIJ ID blocks the linked account {account} and deactivates its licences"
                ),
                (true, true) => {
                    format!("; Microsoft 365: the linked account {account} is already blocked")
                }
                (false, true) => format!(
                    "; Microsoft 365: IIJ ID unblocks the linked account {account}; licences it deactivated may need assigning again (assumption M3)"
                ),
                (false, false) => {
                    format!("; Microsoft 365: the linked account {account} is already enabled")
                }
            }
        }
        LinkedAccount::SoftDeleted(account, by) => {
            let account = described(account, by);
            if path.blocks() {
                format!(
                    "; Microsoft 365: the linked account {account} is soft-deleted already; nothing to block"
                )
            } else if soft_deleted_reserves {
                format!(
                    "; Microsoft 365: the linked account {account} is soft-deleted (recycle bin) and cannot be unblocked until it is restored there (assumption M1)"
                )
            } else {
                format!(
                    "; Microsoft 365: the only account, {account}, is soft-deleted and treated as absent (dirsnap.profile.m365_soft_deleted_reserves: false)"
                )
            }
        }
        LinkedAccount::None => {
            "; Microsoft 365: no account has this user's linkage ID as immutableId or its userName as UPN".into()
        }
    }
}
