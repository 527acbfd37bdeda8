//! Recreated AD accounts (lifecycle table "Recreate user"; SPEC §5; profile RC5): an AD
//! account deleted and created again has a new objectGUID and the same login ID. Told two
//! ways:
//!
//! * by its anchors: the matched IIJ ID user's application-linking ID (or, where none is
//!   bound or the match was by userName, its externalId) differs from the value computed
//!   from an anchor — objectGUID / mS-DS-ConsistencyGuid never change for a living object;
//! * by history: the previous AD snapshot, or a tombstone, has another objectGUID with this
//!   login ID (the linkage ID may be unchanged, e.g. externalId = userPrincipalName).
//!
//! What follows from each is in `lifecycle.rs` and `m365.rs`.

use crate::index::{Map, map_with_capacity};
use crate::instance::InstanceState;
use crate::key::Key;
use crate::mapping::{Attr, DesiredKeys};
use dirsnap_model::{AdUserView, IidUserView};

/// An anchor-derived linkage ID that differs from the IIJ ID user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnchorChange {
    /// `downstreamId` or `externalId`.
    pub attribute: &'static str,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Recreation {
    /// The anchor-derived linkage ID differs from the IIJ ID user's: a new AD object.
    Anchor(AnchorChange),
    /// Linkage unchanged, but history shows another objectGUID (`old_guid`) with this login
    /// ID.
    History { old_guid: String },
}

/// A recreated AD object told by its anchors: the anchor-derived linking ID (or, where no
/// linking ID is bound or the match was by userName, externalId) differs from the IIJ ID
/// user's.
pub(crate) fn anchor_change(
    inst: &InstanceState<'_>,
    keys: &DesiredKeys,
    iid: IidUserView<'_>,
    matched_by: &str,
) -> Option<AnchorChange> {
    let linking_bound = inst.mapper.binds_target(&Attr::DownstreamId);
    if linking_bound
        && keys.linking_from_anchor
        && let (Some(old), Some(new)) = (
            iid.downstream_id().filter(|s| !s.is_empty()),
            keys.linking_id.as_deref(),
        )
        && old != new
    {
        return Some(AnchorChange {
            attribute: "downstreamId",
            old: old.to_string(),
            new: new.to_string(),
        });
    }
    if (!linking_bound || matched_by == "userName")
        && keys.external_from_anchor
        && let (Some(old), Some(new)) = (
            iid.external_id().filter(|s| !s.is_empty()),
            keys.external_id.as_deref(),
        )
        && old != new
    {
        return Some(AnchorChange {
            attribute: "externalId",
            old: old.to_string(),
            new: new.to_string(),
        });
    }
    None
}

/// The objectGUID history knows for each login ID (lowercased userName): from the previous
/// AD snapshot and the current snapshot's tombstones, the first row of each login ID.
pub(crate) struct HistoryLogins {
    guid_by_login: Map<String, Key>,
}

impl HistoryLogins {
    pub(crate) fn of(inst: &InstanceState<'_>) -> HistoryLogins {
        let mut guid_by_login = map_with_capacity(0);
        let mut add = |user: AdUserView<'_>| {
            if let Some(login) = inst.mapper.keys(user).user_name {
                guid_by_login
                    .entry(login.to_lowercase())
                    .or_insert_with(|| Key::of_guid(user.object_guid()));
            }
        };
        if let Some(history) = &inst.history {
            for user in history.snap.users {
                add(user);
            }
        }
        for user in inst.input.ad.users.iter().filter(|u| u.is_deleted()) {
            add(user);
        }
        HistoryLogins { guid_by_login }
    }

    /// The objectGUID `user` (with desired keys `keys`) replaced, when history has its
    /// login ID on another object that no longer exists in AD.
    pub(crate) fn replaced_guid(
        &self,
        inst: &InstanceState<'_>,
        user: AdUserView<'_>,
        keys: &DesiredKeys,
    ) -> Option<String> {
        keys.user_name
            .as_deref()
            .filter(|_| !self.guid_by_login.is_empty())
            .and_then(|login| self.guid_by_login.get(&login.to_lowercase()))
            .filter(|guid| {
                **guid != Key::of_guid(user.object_guid())
                    && !inst.ad_user_by_key.contains_key(guid)
            })
            .map(|guid| guid.to_string())
    }
}
