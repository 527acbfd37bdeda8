//! Per-instance working state: what every pass reads about one Directory Sync instance — its
//! compiled mapping and filters, its in-scope AD rows with their desired keys, which IIJ ID
//! objects it owns, and what its previous AD snapshot says (history). Built once by
//! [`InstanceState::prepare`], read-only afterwards.

use crate::error::ReconcileError;
use crate::findings;
use crate::ids::{AdGroupRow, AdUserRow, IidGroupRow, IidUserRow, InScopeGroup, InScopeUser};
use crate::index::{IidIndex, KeyIndex, Map, map_with_capacity};
use crate::inputs::{AdSnapshot, Instance};
use crate::key::Key;
use crate::mapping::{DesiredKeys, Mapper};
use crate::plan_builder::PlanBuilder;
use crate::scope::{self, ConfigFilters};
use dirsnap_filter::scim::Filter as ScimFilter;
use dirsnap_model::{AdGroup, AdUserView};

pub(crate) struct InstanceState<'a> {
    pub input: &'a Instance<'a>,
    pub mapper: Mapper,
    pub iid_user_filter: Option<ScimFilter>,
    pub iid_group_filter: Option<ScimFilter>,
    /// Live (not deleted) AD users by objectGUID.
    pub ad_user_by_key: KeyIndex,
    /// AD user rows in scope, ascending.
    pub users_in_scope: Vec<AdUserRow>,
    /// The keys the matcher needs, per in-scope user.
    pub keys: Vec<DesiredKeys<'a>>,
    /// AD group rows in scope, ascending.
    pub groups_in_scope: Vec<AdGroupRow>,
    /// The IIJ ID group name of each in-scope group (`None`: it has none).
    pub group_names: Vec<Option<String>>,
    /// Per base IIJ ID user: selected by `iid.scim.filter.user`.
    pub owned_users: Vec<bool>,
    /// Per base IIJ ID group: selected by `iid.scim.filter.group`.
    pub owned_groups: Vec<bool>,
    pub history: Option<History<'a>>,
    /// The AD snapshot was exported with a narrower user / group filter than the config's:
    /// an IIJ ID object without an AD row may have one outside the snapshot, so it is not
    /// deleted as an orphan.
    pub users_partial: bool,
    pub groups_partial: bool,
}

/// What the previous AD snapshot says about each object.
pub(crate) struct History<'a> {
    pub snap: AdSnapshot<'a>,
    pub user_by_key: Map<Key, u32>,
    pub group_by_key: Map<Key, u32>,
    pub in_scope_users: usize,
}

impl<'a> History<'a> {
    fn new(snap: AdSnapshot<'a>) -> History<'a> {
        let mut user_by_key = map_with_capacity(snap.users.len());
        for (row, user) in snap.users.iter().enumerate() {
            if !user.is_deleted() {
                user_by_key.insert(Key::of_guid(user.object_guid()), row as u32);
            }
        }
        let mut group_by_key = map_with_capacity(snap.groups.len());
        for (row, group) in snap.groups.iter().enumerate() {
            if !group.is_deleted {
                group_by_key.insert(Key::of_guid(&group.object_guid), row as u32);
            }
        }
        // The previous snapshot was taken with the previous config; its rows are the
        // population that was in scope then.
        let in_scope_users = snap.users.iter().filter(|u| !u.is_deleted()).count();
        History {
            snap,
            user_by_key,
            group_by_key,
            in_scope_users,
        }
    }

    /// The previous snapshot's row of the AD user with this objectGUID.
    pub(crate) fn user(&self, user: AdUserView<'_>) -> Option<AdUserView<'a>> {
        let &row = self.user_by_key.get(&Key::of_guid(user.object_guid()))?;
        self.snap.users.get(row as usize)
    }

    /// The previous snapshot's row of the AD group with this objectGUID.
    pub(crate) fn group(&self, group: &AdGroup) -> Option<&'a AdGroup> {
        let &row = self.group_by_key.get(&Key::of_guid(&group.object_guid))?;
        self.snap.groups.get(row as usize)
    }
}

impl<'a> InstanceState<'a> {
    pub(crate) fn prepare(
        plan: &mut PlanBuilder,
        input: &'a Instance<'a>,
        base: &IidIndex<'_>,
    ) -> Result<InstanceState<'a>, ReconcileError> {
        let mapper = Mapper::new(input.config)?;
        for note in &mapper.notes {
            plan.note(findings::notes::mapping(&input.name, note));
        }
        let filters = ConfigFilters::parse(input.config)?;
        let ad = &input.ad;
        let mut ad_user_by_key = KeyIndex::with_capacity(ad.users.len());
        for (row, user) in ad.users.iter().enumerate() {
            if !user.is_deleted() {
                ad_user_by_key.insert(Key::of_guid(user.object_guid()), row as u32);
            }
        }
        let scope = scope::evaluate(plan, input, &filters, &ad_user_by_key);
        let keys: Vec<DesiredKeys<'a>> = crate::par::map(&scope.users_in_scope, |_, &row| {
            ad.users
                .get(row.index())
                .map(|user| mapper.keys(user))
                .unwrap_or_default()
        });
        let group_names = scope
            .groups_in_scope
            .iter()
            .map(|&row| {
                ad.groups
                    .get(row.index())
                    .and_then(|g| mapper.group_name(g))
            })
            .collect();
        let profile = &mapper.profile;
        let owned_users = base
            .users
            .iter()
            .map(|u| {
                scope::owned(filters.iid_user.as_ref(), || {
                    crate::iid_json::view_json(u, profile)
                })
            })
            .collect();
        let owned_groups = base
            .groups
            .iter()
            .map(|g| {
                scope::owned(filters.iid_group.as_ref(), || {
                    crate::iid_json::group_json(g)
                })
            })
            .collect();
        Ok(InstanceState {
            input,
            mapper,
            iid_user_filter: filters.iid_user,
            iid_group_filter: filters.iid_group,
            ad_user_by_key,
            users_in_scope: scope.users_in_scope,
            keys,
            groups_in_scope: scope.groups_in_scope,
            group_names,
            owned_users,
            owned_groups,
            history: input.previous_ad.map(History::new),
            users_partial: scope.users_partial,
            groups_partial: scope.groups_partial,
        })
    }

    pub(crate) fn name(&self) -> &'a str {
        self.input.name.as_str()
    }

    pub(crate) fn ad_user(&self, row: AdUserRow) -> Option<AdUserView<'a>> {
        self.input.ad.users.get(row.index())
    }

    pub(crate) fn ad_group(&self, row: AdGroupRow) -> Option<&'a AdGroup> {
        self.input.ad.groups.get(row.index())
    }

    /// The AD row of the in-scope user at `position`.
    pub(crate) fn in_scope_user(&self, position: InScopeUser) -> Option<AdUserView<'a>> {
        self.users_in_scope
            .get(position.index())
            .and_then(|&row| self.ad_user(row))
    }

    /// The AD row of the in-scope group at `position`.
    pub(crate) fn in_scope_group(&self, position: InScopeGroup) -> Option<&'a AdGroup> {
        self.groups_in_scope
            .get(position.index())
            .and_then(|&row| self.ad_group(row))
    }

    /// The IIJ ID group name of the in-scope group at `position`.
    pub(crate) fn group_name(&self, position: InScopeGroup) -> Option<&str> {
        self.group_names
            .get(position.index())
            .and_then(|n| n.as_deref())
    }

    pub(crate) fn owns_user(&self, row: IidUserRow) -> bool {
        self.owned_users.get(row.index()).copied().unwrap_or(false)
    }

    pub(crate) fn owns_group(&self, row: IidGroupRow) -> bool {
        self.owned_groups.get(row.index()).copied().unwrap_or(false)
    }

    /// Frees what only matching, ownership and the user and group passes read, before the
    /// plan is assembled (at a million users, hundreds of MiB).
    pub(crate) fn release_pass_state(&mut self) {
        self.keys = Vec::new();
        self.ad_user_by_key = KeyIndex::with_capacity(0);
        self.owned_users = Vec::new();
        self.owned_groups = Vec::new();
    }
}
