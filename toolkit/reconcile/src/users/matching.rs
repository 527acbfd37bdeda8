//! User matching (SPEC §5 "Matching"; docs/plan-format.md "Matching"): an AD user matches the
//! IIJ ID user with the same externalId, else the same application-linking ID
//! (`downstreamId`), else the same userName (case-insensitive; adoption of a pre-existing
//! user). More than one candidate is AMBIGUOUS_MATCH, never a guess; so is an IIJ ID user two
//! AD users claim, for all but the one that matched it by a strong key. The IIJ ID users a
//! blocked AD user could be are protected from deletion.

use crate::ids::{IidUserRow, InScopeUser, InstanceIdx, ScopedUser, UserNumbers};
use crate::index::{Ci, IidIndex, Map, Multi, eq_ci, map_with_capacity};
use crate::instance::InstanceState;
use crate::mapping::DesiredKeys;
use crate::users::UserClaim;
use crate::users::recreated::{self, AnchorChange};
use chrono::{DateTime, Utc};
use dirsnap_model::IidUserView;

#[derive(Debug, Clone)]
pub(crate) enum Matched<'a> {
    None,
    One {
        iid: IidUserRow,
        /// The key that matched: `externalId`, `downstreamId` or `userName`.
        by: &'static str,
        /// Matched by externalId or downstreamId (not only by userName).
        strong: bool,
    },
    /// Boxed: rare, and an outcome is kept for every in-scope user.
    Ambiguous(Box<Ambiguity<'a>>),
}

/// Why an AD user cannot be matched to one IIJ ID user (worded by `findings::ambiguity`).
#[derive(Debug, Clone)]
pub(crate) enum Ambiguity<'a> {
    SeveralByExternalId(Vec<IidUserView<'a>>),
    SeveralByLinkingId(Vec<IidUserView<'a>>),
    /// The externalId finds one user, the linking ID another.
    ExternalIdVsLinkingId {
        by_external_id: Option<IidUserView<'a>>,
        by_linking_id: Option<IidUserView<'a>>,
    },
    /// A strong key (`by`) finds one user, the userName another.
    KeyVsUserName {
        by: &'static str,
        by_key: Option<IidUserView<'a>>,
        by_user_name: Option<IidUserView<'a>>,
    },
    SeveralByUserName(Vec<IidUserView<'a>>),
    /// The IIJ ID user this AD user matched is matched by another AD user too.
    ClaimedByAnother(Option<IidUserView<'a>>),
}

impl<'a> Matched<'a> {
    fn ambiguous(why: Ambiguity<'a>) -> Self {
        Matched::Ambiguous(Box::new(why))
    }
}

/// The IIJ ID user the AD user with desired keys `keys` is.
pub(crate) fn find_match<'a>(base: &IidIndex<'a>, keys: &DesiredKeys) -> Matched<'a> {
    // The common case, decided with one lookup: the externalId finds one user whose own
    // userName and linking ID are the AD user's, and no userName or linking ID is shared by
    // two IIJ ID users — so looking those up could only find that same user.
    if base.by_user_name.is_unique()
        && base.by_linking_id.is_unique()
        && let Some(external_id) = keys.external_id.as_deref()
    {
        let hits = base.by_external_id.get(&external_id);
        if hits.len() == 1
            && let Some(row) = hits.first()
            && let Some(iid) = base.user(row)
        {
            let name_same = keys
                .user_name
                .as_deref()
                .is_none_or(|n| eq_ci(n, iid.user_name()));
            let link_same = keys
                .linking_id
                .as_deref()
                .is_none_or(|l| iid.downstream_id().is_some_and(|d| !d.is_empty() && d == l));
            if name_same && link_same {
                return Matched::One {
                    iid: IidUserRow::from_raw(row),
                    by: "externalId",
                    strong: true,
                };
            }
        }
    }
    let by_external_id = keys
        .external_id
        .as_deref()
        .map(|e| base.by_external_id.get(&e))
        .unwrap_or_default();
    let by_linking_id = keys
        .linking_id
        .as_deref()
        .map(|l| base.by_linking_id.get(&l))
        .unwrap_or_default();
    let by_user_name = keys
        .user_name
        .as_deref()
        .map(|n| base.by_user_name.get(&Ci(n)))
        .unwrap_or_default();
    let users = |rows: &mut dyn Iterator<Item = u32>| -> Vec<IidUserView<'a>> {
        rows.filter_map(|row| base.user(row)).collect()
    };
    if by_external_id.len() > 1 {
        return Matched::ambiguous(Ambiguity::SeveralByExternalId(users(
            &mut by_external_id.iter(),
        )));
    }
    if by_linking_id.len() > 1 {
        return Matched::ambiguous(Ambiguity::SeveralByLinkingId(users(
            &mut by_linking_id.iter(),
        )));
    }
    if let (Some(external), Some(linking)) = (by_external_id.first(), by_linking_id.first())
        && external != linking
    {
        return Matched::ambiguous(Ambiguity::ExternalIdVsLinkingId {
            by_external_id: base.user(external),
            by_linking_id: base.user(linking),
        });
    }
    let strong = by_external_id
        .first()
        .map(|row| (row, "externalId"))
        .or(by_linking_id.first().map(|row| (row, "downstreamId")));
    if let Some((row, by)) = strong {
        if let Some(other) = by_user_name.iter().find(|&other| other != row) {
            return Matched::ambiguous(Ambiguity::KeyVsUserName {
                by,
                by_key: base.user(row),
                by_user_name: base.user(other),
            });
        }
        return Matched::One {
            iid: IidUserRow::from_raw(row),
            by,
            strong: true,
        };
    }
    match (by_user_name.len(), by_user_name.first()) {
        (0, _) | (_, None) => Matched::None,
        (1, Some(row)) => Matched::One {
            iid: IidUserRow::from_raw(row),
            by: "userName",
            strong: false,
        },
        _ => Matched::ambiguous(Ambiguity::SeveralByUserName(users(
            &mut by_user_name.iter(),
        ))),
    }
}

/// What matching finds out about one in-scope AD user.
pub(crate) struct MatchOutcome<'a> {
    pub matched: Matched<'a>,
    /// Matched, not pending deletion, and every value already as AD says: nothing to send.
    pub unchanged: bool,
    /// Matched, and its anchor-derived linkage differs: a recreated AD object.
    pub anchor: Option<Box<AnchorChange>>,
}

impl MatchOutcome<'_> {
    /// What is left once the lifecycle step has taken an outcome.
    pub(crate) const TAKEN: MatchOutcome<'static> = MatchOutcome {
        matched: Matched::None,
        unchanged: false,
        anchor: None,
    };
}

/// Every in-scope AD user's match.
pub(crate) struct UserMatches<'a> {
    /// Per instance, per in-scope user.
    pub outcomes: Vec<Vec<MatchOutcome<'a>>>,
    /// AD users that matched an IIJ ID user another AD user matched too, and do not keep it.
    pub contested: Map<ScopedUser, Ambiguity<'a>>,
}

/// Matches every in-scope AD user (in parallel: pure lookups) and tells whether a matched
/// one is already up to date; then settles the IIJ ID users more than one AD user claims.
pub(crate) fn match_all<'a>(
    as_of: DateTime<Utc>,
    instances: &[InstanceState<'a>],
    base: &IidIndex<'a>,
    numbers: &UserNumbers,
) -> UserMatches<'a> {
    let mut outcomes: Vec<Vec<MatchOutcome<'a>>> = Vec::with_capacity(instances.len());
    // Claims on each IIJ ID user: the AD user's number × 2, + 1 when by a strong key.
    let mut claims: Multi<u32> = Multi::with_capacity(base.users.len());
    for (index, inst) in instances.iter().enumerate() {
        let instance = InstanceIdx::new(index);
        let ad = &inst.input.ad;
        let found = crate::par::map(&inst.keys, |position, keys| {
            let matched = find_match(base, keys);
            let (mut unchanged, mut anchor) = (false, None);
            if let (Matched::One { iid: row, by, .. }, Some(&ad_row)) =
                (&matched, inst.users_in_scope.get(position))
                && let (Some(user), Some(iid)) =
                    (ad.users.get(ad_row.index()), base.user(row.raw()))
            {
                unchanged = !iid.pending_deletion() && inst.mapper.unchanged(user, iid, as_of);
                anchor = recreated::anchor_change(inst, keys, iid, by).map(Box::new);
            }
            MatchOutcome {
                matched,
                unchanged,
                anchor,
            }
        });
        for (position, outcome) in found.iter().enumerate() {
            if let Matched::One { iid, strong, .. } = &outcome.matched {
                let user = ScopedUser {
                    instance,
                    user: InScopeUser::new(position),
                };
                claims.insert(iid.raw(), numbers.number(user) * 2 + u32::from(*strong));
            }
        }
        outcomes.push(found);
    }
    let contested = contested_claims(base, numbers, &claims);
    UserMatches {
        outcomes,
        contested,
    }
}

/// The AD users that lose an IIJ ID user several claim: all but the only one that matched
/// it by a strong key (all of them when none or several did).
fn contested_claims<'a>(
    base: &IidIndex<'a>,
    numbers: &UserNumbers,
    claims: &Multi<u32>,
) -> Map<ScopedUser, Ambiguity<'a>> {
    let mut contested = map_with_capacity(0);
    for (row, claimants) in claims.duplicates() {
        let claimants: Vec<(ScopedUser, bool)> = claimants
            .into_iter()
            .map(|claim| (numbers.locate(claim / 2), claim % 2 == 1))
            .collect();
        let strong: Vec<ScopedUser> = claimants
            .iter()
            .filter(|(_, strong)| *strong)
            .map(|(user, _)| *user)
            .collect();
        let winner = if strong.len() == 1 {
            strong.first().copied()
        } else {
            None
        };
        for (user, _) in &claimants {
            if Some(*user) != winner {
                contested.insert(*user, Ambiguity::ClaimedByAnother(base.user(*row)));
            }
        }
    }
    contested
}

/// Marks the IIJ ID users a blocked AD user (with desired keys `keys`) could be, so they
/// are not deleted as orphans.
pub(crate) fn protect_candidates(
    base: &IidIndex<'_>,
    keys: &DesiredKeys,
    claims: &mut [UserClaim],
) {
    let mut candidates = Vec::new();
    if let Some(external_id) = keys.external_id.as_deref() {
        candidates.extend(base.by_external_id.get(&external_id).iter());
    }
    if let Some(linking_id) = keys.linking_id.as_deref() {
        candidates.extend(base.by_linking_id.get(&linking_id).iter());
    }
    if let Some(user_name) = keys.user_name.as_deref() {
        candidates.extend(base.by_user_name.get(&Ci(user_name)).iter());
    }
    for row in candidates {
        if let Some(claim) = claims.get_mut(row as usize)
            && *claim == UserClaim::Unclaimed
        {
            *claim = UserClaim::Protected;
        }
    }
}
