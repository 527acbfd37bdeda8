//! User lifecycle (SPEC §5; docs/plan-format.md "Lifecycle (users)" and the rules table;
//! IIJ ID's lifecycle table): what Directory Sync does with each in-scope AD user, in this
//! order —
//!
//! 1. it shares a key with another AD object → skipped (DUPLICATE_KEY, `duplicates.rs`);
//! 2. nothing is bound to its userName → MISSING_USER_NAME;
//! 3. it could be several IIJ ID users, or another AD user keeps the one it matched →
//!    AMBIGUOUS_MATCH, skipped;
//! 4. it matches none → **create** (enabled or disabled), unless the instance would not own
//!    the created user (OWNERSHIP_CONFLICT);
//! 5. it matches one the instance does not own → OWNERSHIP_CONFLICT;
//! 6. the match is **pending deletion** → **restore**, only if userName and externalId both
//!    match and it is the same AD object (RC14), else RECREATED_PENDING_DELETION
//!    ([`pending_user`]);
//! 7. a **recreated** account (`recreated.rs`) whose old user is live → with profile
//!    `recreated_live_user: pending_delete` the old user goes to pending deletion and the
//!    new one errors (RC5); with `update` its anchors are rewritten in place;
//! 8. otherwise **update** (or **adopt**, matched by userName without externalId), and
//!    **enable** / **disable** when `active` differs.
//!
//! Recreated accounts get the Microsoft 365 linkage check (`m365.rs`); every other disable,
//! pending deletion, restore and enable gets `m365_lifecycle.rs`'s.

use crate::findings::{self, PendingConflict, RecreatedUser};
use crate::ids::{DraftId, IidUserRow, InScopeUser, InstanceIdx, ScopedUser};
use crate::index::{IidIndex, eq_ci};
use crate::inputs::Inputs;
use crate::instance::InstanceState;
use crate::m365::{self, M365Index, RecreatedAccount};
use crate::mapping::{Attr, Desired, DesiredKeys};
use crate::object_keys::{ad_user_and_iid_keys, ad_user_keys};
use crate::ownership;
use crate::plan_builder::PlanBuilder;
use crate::profile::RecreatedLiveUser;
use crate::scope;
use crate::users::actions::{self, MatchedPair, UpdateRule};
use crate::users::duplicates::DuplicateKeys;
use crate::users::matching::{self, Ambiguity, MatchOutcome, Matched, UserMatches};
use crate::users::recreated::{AnchorChange, HistoryLogins, Recreation};
use crate::users::{UserClaim, UserFate};
use chrono::{DateTime, Utc};
use dirsnap_model::{AdUserView, IidUserView};
use dirsnap_plan::Resource;

/// What the lifecycle step decided for every AD user.
pub(crate) struct LifecycleOutcome {
    /// Per instance, per AD user row.
    pub fates: Vec<Vec<UserFate>>,
    /// Per base IIJ ID user: the pending-deletion draft, when the plan deletes it.
    pub deleting: Vec<Option<DraftId>>,
    /// Per base IIJ ID user: which instance matched it, or whether it is protected.
    pub claims: Vec<UserClaim>,
}

/// What the rules for one instance's users read.
struct UserRules<'p, 'a> {
    inst: &'p InstanceState<'a>,
    base: &'p IidIndex<'a>,
    as_of: DateTime<Utc>,
    m365: Option<&'p M365Index<'a>>,
}

/// The decision for one AD user.
struct Decision {
    fate: UserFate,
    /// The IIJ ID user this plan puts into pending deletion for it, and that draft.
    pending_deletion: Option<(IidUserRow, DraftId)>,
}

impl Decision {
    const BLOCKED: Decision = Decision {
        fate: UserFate::Blocked,
        pending_deletion: None,
    };

    fn fate(fate: UserFate) -> Decision {
        Decision {
            fate,
            pending_deletion: None,
        }
    }
}

/// Applies the lifecycle rules to every in-scope AD user of every instance, in instance
/// and row order.
pub(crate) fn plan_lifecycles<'a>(
    plan: &mut PlanBuilder,
    inputs: &Inputs<'a>,
    instances: &[InstanceState<'a>],
    base: &IidIndex<'a>,
    duplicates: &DuplicateKeys,
    matches: UserMatches<'a>,
    m365: Option<&M365Index<'a>>,
) -> LifecycleOutcome {
    let mut fates: Vec<Vec<UserFate>> = instances
        .iter()
        .map(|i| vec![UserFate::OutOfScope; i.input.ad.users.len()])
        .collect();
    let mut deleting: Vec<Option<DraftId>> = vec![None; base.users.len()];
    let mut claims: Vec<UserClaim> = vec![UserClaim::Unclaimed; base.users.len()];
    let UserMatches {
        mut outcomes,
        contested,
    } = matches;
    for (index, inst) in instances.iter().enumerate() {
        let instance = InstanceIdx::new(index);
        let rules = UserRules {
            inst,
            base,
            as_of: inputs.as_of,
            m365,
        };
        let history_logins = HistoryLogins::of(inst);
        for (position, &row) in inst.users_in_scope.iter().enumerate() {
            let Some(user) = inst.ad_user(row) else {
                continue;
            };
            let scoped = ScopedUser {
                instance,
                user: InScopeUser::new(position),
            };
            let outcome = std::mem::replace(&mut outcomes[index][position], MatchOutcome::TAKEN);
            let candidate = Candidate {
                instance,
                user,
                keys: &inst.keys[position],
                duplicate_attrs: duplicates.of(scoped),
                contested: contested.get(&scoped),
                outcome,
                history_logins: &history_logins,
            };
            let decision = plan_user(plan, &rules, &mut claims, candidate);
            fates[index][row.index()] = decision.fate;
            if let Some((iid, draft)) = decision.pending_deletion {
                deleting[iid.index()] = Some(draft);
            }
        }
    }
    LifecycleOutcome {
        fates,
        deleting,
        claims,
    }
}

/// One in-scope AD user, with what the earlier steps found out about it.
struct Candidate<'r, 'a> {
    instance: InstanceIdx,
    user: AdUserView<'a>,
    keys: &'r DesiredKeys<'a>,
    /// The keys it shares with another AD object.
    duplicate_attrs: Option<&'r [&'static str]>,
    /// Another AD user keeps the IIJ ID user it matched.
    contested: Option<&'r Ambiguity<'a>>,
    outcome: MatchOutcome<'a>,
    history_logins: &'r HistoryLogins,
}

fn plan_user(
    plan: &mut PlanBuilder,
    rules: &UserRules<'_, '_>,
    claims: &mut [UserClaim],
    candidate: Candidate<'_, '_>,
) -> Decision {
    let (inst, base) = (rules.inst, rules.base);
    let instance = inst.name();
    let Candidate { user, keys, .. } = candidate;
    if let Some(attrs) = candidate.duplicate_attrs {
        matching::protect_candidates(base, keys, claims);
        plan.skip(findings::skipped::duplicate_key(
            instance,
            user,
            ad_user_keys(user),
            attrs,
        ));
        return Decision::BLOCKED;
    }
    if keys.user_name.is_none() {
        let sources = inst.mapper.sources_of(&Attr::UserName).join(", ");
        plan.add_finding(
            findings::missing_user_name(instance, user, ad_user_keys(user), &sources),
            Vec::new(),
        );
        return Decision::BLOCKED;
    }
    let ambiguity = match &candidate.outcome.matched {
        Matched::Ambiguous(why) => Some(&**why),
        _ => candidate.contested,
    };
    if let Some(why) = ambiguity {
        matching::protect_candidates(base, keys, claims);
        let why = findings::ambiguity(why);
        plan.add_finding(
            findings::ambiguous_user(instance, user, ad_user_keys(user), &why),
            Vec::new(),
        );
        plan.skip(findings::skipped::ambiguous_match(
            instance,
            user,
            ad_user_keys(user),
            &why,
        ));
        return Decision::BLOCKED;
    }
    let replaced_guid = candidate.history_logins.replaced_guid(inst, user, keys);
    let MatchOutcome {
        matched,
        unchanged,
        anchor,
    } = candidate.outcome;
    match matched {
        Matched::None | Matched::Ambiguous(_) => create(plan, rules, user, keys, replaced_guid),
        Matched::One { iid: row, by, .. } => {
            let Some(iid) = base.user(row.raw()) else {
                return Decision::BLOCKED;
            };
            claims[row.index()] = UserClaim::By(candidate.instance);
            if !inst.owns_user(row) {
                ownership::conflict(
                    plan,
                    instance,
                    Resource::User,
                    user.label(),
                    ad_user_keys(user),
                    &findings::Counterpart {
                        name: iid.user_name(),
                        id: iid.id(),
                        matched_by: by,
                    },
                );
                return Decision::BLOCKED;
            }
            let recreated = anchor
                .map(|change| Recreation::Anchor(*change))
                .or_else(|| replaced_guid.map(|old_guid| Recreation::History { old_guid }));
            matched_user(
                plan,
                rules,
                MatchedUser {
                    user,
                    keys,
                    iid,
                    row,
                    by,
                    recreated,
                    unchanged,
                },
            )
        }
    }
}

/// An AD user no IIJ ID user matches: create, unless the instance would not own it.
/// `replaced_guid`: history shows it recreated.
fn create(
    plan: &mut PlanBuilder,
    rules: &UserRules<'_, '_>,
    user: AdUserView<'_>,
    keys: &DesiredKeys,
    replaced_guid: Option<String>,
) -> Decision {
    let inst = rules.inst;
    let desired = inst.mapper.desired(user, rules.as_of);
    if !scope::owned(inst.iid_user_filter.as_ref(), || {
        inst.mapper.create_body(&desired)
    }) {
        ownership::unowned_create(
            plan,
            inst.name(),
            Resource::User,
            user.label(),
            ad_user_keys(user),
        );
        return Decision::BLOCKED;
    }
    let draft = actions::create_user(plan, inst, user, &desired);
    if let Some(old_guid) = replaced_guid {
        plan.add_finding(
            findings::recreated_user(
                inst.name(),
                user,
                ad_user_keys(user),
                RecreatedUser::NotVisible {
                    old_guid: &old_guid,
                },
            ),
            Vec::new(),
        );
        m365_check(
            plan,
            rules,
            RecreatedAccount {
                user,
                keys,
                old: None,
                blocked_by_sync: true,
                action: Some(draft),
                pending: None,
            },
        );
    } else if let Some(m365) = rules.m365 {
        m365::check_new_user(plan, inst, m365, user, keys, draft);
    }
    Decision::fate(UserFate::Created(draft))
}

/// An AD user matched to one owned IIJ ID user.
struct MatchedUser<'r> {
    user: AdUserView<'r>,
    keys: &'r DesiredKeys<'r>,
    iid: IidUserView<'r>,
    row: IidUserRow,
    /// The key that matched.
    by: &'static str,
    recreated: Option<Recreation>,
    /// Matching found every value already as AD says.
    unchanged: bool,
}

impl MatchedUser<'_> {
    fn pair<'r>(&'r self, instance: &'r str) -> MatchedPair<'r> {
        MatchedPair {
            instance,
            user: self.user,
            iid: self.iid,
            by: self.by,
        }
    }
}

fn matched_user(
    plan: &mut PlanBuilder,
    rules: &UserRules<'_, '_>,
    matched: MatchedUser<'_>,
) -> Decision {
    let inst = rules.inst;
    // The common case: nothing to send, nothing to report.
    if matched.unchanged && matched.recreated.is_none() {
        // The fast check must agree with the full comparison: an "unchanged" that is wrong
        // would be a missed update no later plan finds either (it is just as blind), so
        // every debug build, i.e. every test, compares the two.
        debug_assert!(
            {
                let desired = inst.mapper.desired(matched.user, rules.as_of);
                desired.active == matched.iid.active()
                    && actions::diff_user(&inst.mapper, matched.iid, &desired)
                        .operations
                        .is_empty()
            },
            "Mapper::unchanged disagrees with the full comparison for {}",
            matched.iid.user_name()
        );
        return Decision::fate(UserFate::Matched(matched.row));
    }
    let desired = inst.mapper.desired(matched.user, rules.as_of);
    if matched.iid.pending_deletion() {
        return pending_user(plan, rules, &matched, &desired);
    }
    if let Some(Recreation::Anchor(change)) = &matched.recreated
        && inst.mapper.profile.recreated_live_user == RecreatedLiveUser::PendingDelete
    {
        return replace_recreated(plan, rules, &matched, change);
    }
    let first_draft = update(plan, rules, &matched, &desired);
    let instance = inst.name();
    match &matched.recreated {
        Some(Recreation::Anchor(_)) => {
            plan.add_finding(
                findings::recreated_user(
                    instance,
                    matched.user,
                    ad_user_keys(matched.user),
                    RecreatedUser::UpdatedInPlace { iid: matched.iid },
                ),
                Vec::new(),
            );
            m365_check(
                plan,
                rules,
                RecreatedAccount {
                    user: matched.user,
                    keys: matched.keys,
                    old: Some(matched.iid),
                    blocked_by_sync: false,
                    action: first_draft,
                    pending: None,
                },
            );
        }
        Some(Recreation::History { old_guid }) => {
            plan.add_finding(
                findings::recreated_user(
                    instance,
                    matched.user,
                    ad_user_keys(matched.user),
                    RecreatedUser::Continues {
                        old_guid,
                        iid: matched.iid,
                        restored: false,
                        evidence: None,
                    },
                ),
                Vec::new(),
            );
            // Every recreated account gets the Microsoft 365 check: its account is blocked
            // while the IIJ ID user is disabled (iij-facts §2), and this plan enables it.
            // A live account is only checked against an --m365 snapshot (nothing blocked
            // to infer).
            if !matched.iid.active() || rules.m365.is_some() {
                m365_check(
                    plan,
                    rules,
                    RecreatedAccount {
                        user: matched.user,
                        keys: matched.keys,
                        old: Some(matched.iid),
                        blocked_by_sync: !matched.iid.active(),
                        action: first_draft,
                        // A visible user: not pending.
                        pending: None,
                    },
                );
            }
        }
        None => {}
    }
    Decision::fate(UserFate::Matched(matched.row))
}

/// update_user (update, adopt, recreated.update_anchor) when bound attributes differ, then
/// enable_user / disable_user when `active` does. Returns the first draft, if any.
fn update(
    plan: &mut PlanBuilder,
    rules: &UserRules<'_, '_>,
    matched: &MatchedUser<'_>,
    desired: &Desired,
) -> Option<DraftId> {
    let inst = rules.inst;
    let pair = matched.pair(inst.name());
    let iid = matched.iid;
    let rule = match (&matched.recreated, matched.by) {
        (Some(Recreation::Anchor(_)), _) => UpdateRule::UpdateAnchor,
        (_, "userName") if iid.external_id().is_none_or(str::is_empty) => UpdateRule::Adopt,
        _ => UpdateRule::Update,
    };
    let diff = actions::diff_user(&inst.mapper, iid, desired);
    let mut first_draft = None;
    if !diff.operations.is_empty() {
        let id = plan.add_draft(actions::update_user(&pair, desired, rule, diff));
        first_draft = Some(id);
        if rule == UpdateRule::Adopt {
            plan.add_finding(
                findings::adoption(
                    inst.name(),
                    iid,
                    ad_user_and_iid_keys(matched.user, iid.id()),
                ),
                vec![id],
            );
        }
    }
    if desired.active != iid.active() {
        let id = plan.add_draft(actions::set_active(&pair, desired));
        first_draft = first_draft.or(Some(id));
    }
    first_draft
}

/// The restore-from-pending-deletion rule (lifecycle table "Restore user", footnotes *1,
/// *4): a user pending deletion whose AD user is in scope again is restored only if both
/// userName and externalId match and it is the same AD object (RC14; profile
/// `restore_requires_same_linking_id: false` drops that condition, and the restore then
/// overwrites the new object's linking ID: RECREATED_USER); otherwise Directory Sync
/// errors on every run (RECREATED_PENDING_DELETION). When the live listing lacks the user
/// (history, the console's list: `pending.rs`), every finding and the restore say where its
/// state comes from, and a user whose SCIM id is unknown cannot be restored.
fn pending_user(
    plan: &mut PlanBuilder,
    rules: &UserRules<'_, '_>,
    matched: &MatchedUser<'_>,
    desired: &Desired,
) -> Decision {
    let inst = rules.inst;
    let instance = inst.name();
    let (user, iid) = (matched.user, matched.iid);
    let evidence = rules.base.presumed(matched.row.raw());
    let names_match = desired
        .user_name
        .as_deref()
        .is_some_and(|n| eq_ci(n, iid.user_name()));
    let external_ids_match = desired.external_id.as_deref().filter(|s| !s.is_empty())
        == iid.external_id().filter(|s| !s.is_empty());
    // RC14: a new AD object is told from the same one by its linking ID; under the restore
    // rule's text alone (the profile switch off) userName and externalId decide.
    let same_object_required = inst.mapper.profile.restore_requires_same_linking_id;
    let conflict = match (&matched.recreated, names_match && external_ids_match) {
        (Some(Recreation::Anchor(change)), keys_match) if same_object_required || !keys_match => {
            PendingConflict::NewObject(change)
        }
        (_, false) if names_match => PendingConflict::ExternalIdDiffers {
            new: desired.external_id.as_deref(),
            old: iid.external_id(),
        },
        (_, false) => PendingConflict::UserNameDiffers {
            new: desired.user_name.as_deref(),
        },
        (_, true) if evidence.is_some_and(|e| !e.id_known) => {
            plan.skip(findings::skipped::restore_id_unknown(
                instance,
                user,
                ad_user_and_iid_keys(user, iid.id()),
                iid.user_name(),
            ));
            return Decision::BLOCKED;
        }
        (history, true) => {
            let draft = plan.add_draft(actions::restore_user(
                &inst.mapper,
                &matched.pair(instance),
                desired,
                evidence,
            ));
            let outcome = match history {
                Some(Recreation::History { old_guid }) => Some(RecreatedUser::Continues {
                    old_guid,
                    iid,
                    restored: true,
                    evidence,
                }),
                Some(Recreation::Anchor(change)) => Some(RecreatedUser::RestoredOverAnchor {
                    iid,
                    change,
                    evidence,
                }),
                None => None,
            };
            if let Some(outcome) = outcome {
                plan.add_finding(
                    findings::recreated_user(instance, user, ad_user_keys(user), outcome),
                    Vec::new(),
                );
                m365_check(
                    plan,
                    rules,
                    RecreatedAccount {
                        user,
                        keys: matched.keys,
                        old: Some(iid),
                        blocked_by_sync: true,
                        action: Some(draft),
                        pending: evidence,
                    },
                );
            }
            return Decision::fate(UserFate::Restored(matched.row, draft));
        }
    };
    plan.add_finding(
        findings::recreated_pending_deletion(
            instance,
            user,
            iid,
            ad_user_and_iid_keys(user, iid.id()),
            conflict,
            evidence,
        ),
        Vec::new(),
    );
    if matched.recreated.is_some() {
        m365_check(
            plan,
            rules,
            RecreatedAccount {
                user,
                keys: matched.keys,
                old: Some(iid),
                blocked_by_sync: true,
                action: None,
                pending: evidence,
            },
        );
    }
    Decision::BLOCKED
}

/// Profile `recreated_live_user: pending_delete` (RC5): the AD object behind the live IIJ ID
/// user is gone, so its user goes to pending deletion; the new AD object then cannot be
/// created while that user holds the login ID (RECREATED_PENDING_DELETION).
fn replace_recreated(
    plan: &mut PlanBuilder,
    rules: &UserRules<'_, '_>,
    matched: &MatchedUser<'_>,
    change: &AnchorChange,
) -> Decision {
    let inst = rules.inst;
    let (user, iid) = (matched.user, matched.iid);
    let AnchorChange {
        attribute,
        old,
        new,
    } = change;
    let reason = format!(
        "the AD object behind this user is gone: AD now has a new object (objectGUID {}) with the same login ID, whose {attribute} {new} differs from {old}; Directory Sync treats the old one as deleted",
        user.object_guid()
    );
    let mut draft = actions::pending_delete(inst, iid, "recreated.old_object_deleted", reason);
    draft
        .action
        .keys
        .insert("replacedByObjectGUID", user.object_guid().to_string());
    let deletion = plan.add_draft(draft);
    plan.add_finding(
        findings::recreated_pending_deletion(
            inst.name(),
            user,
            iid,
            ad_user_and_iid_keys(user, iid.id()),
            PendingConflict::OldUserDeletedByThisPlan(change),
            None,
        ),
        vec![deletion],
    );
    m365_check(
        plan,
        rules,
        RecreatedAccount {
            user,
            keys: matched.keys,
            old: Some(iid),
            blocked_by_sync: true,
            action: Some(deletion),
            pending: None,
        },
    );
    Decision {
        fate: UserFate::Blocked,
        pending_deletion: Some((matched.row, deletion)),
    }
}

fn m365_check(plan: &mut PlanBuilder, rules: &UserRules<'_, '_>, account: RecreatedAccount<'_>) {
    m365::check_recreated(plan, rules.inst, rules.m365, account);
}
