//! Scope: which AD users and groups an instance synchronizes, and which IIJ ID objects it
//! owns (docs/plan-format.md, "Scope" and "Ownership").
//!
//! * In scope: the AD snapshot's rows that `ad.ldap.filter.{user,group}` selects. When the
//!   config's filter is the one the snapshot was exported with, every row is in scope and
//!   nothing is evaluated; otherwise the filter is evaluated on each row. The snapshot is the
//!   outer bound: a filter that may be wider than the export filter gives
//!   FILTER_WIDER_THAN_SNAPSHOT, and the snapshot is *partial* (an IIJ ID object without an
//!   AD row may have one outside it). Tombstones are never in scope; they are history.
//! * Owned: the IIJ ID objects `iid.scim.filter.{user,group}` selects (no filter: all) —
//!   Directory Sync only ever touches those (precautions, "Group Synchronization").

use crate::entry::{AdGraph, GroupEntry, UserEntry};
use crate::error::ReconcileError;
use crate::findings;
use crate::ids::{AdGroupRow, AdUserRow};
use crate::index::KeyIndex;
use crate::inputs::Instance;
use crate::key::Key;
use crate::plan_builder::PlanBuilder;
use dirsnap_config::{DsConfig, Located, ObjectClass};
use dirsnap_filter::ldap::LdapFilter;
use dirsnap_filter::scim::{DefaultSchema, Filter as ScimFilter};
use serde_json::Value;

/// The four filters of an instance's config, parsed.
pub(crate) struct ConfigFilters {
    pub ad_user: Option<LdapFilter>,
    pub ad_group: Option<LdapFilter>,
    pub iid_user: Option<ScimFilter>,
    pub iid_group: Option<ScimFilter>,
}

impl ConfigFilters {
    pub(crate) fn parse(config: &DsConfig) -> Result<ConfigFilters, ReconcileError> {
        Ok(ConfigFilters {
            ad_user: parse_ldap(config, &config.ad.user_filter)?,
            ad_group: parse_ldap(config, &config.ad.group_filter)?,
            iid_user: parse_scim(config, &config.iid.user_filter)?,
            iid_group: parse_scim(config, &config.iid.group_filter)?,
        })
    }
}

fn parse_ldap(
    config: &DsConfig,
    filter: &Option<Located<String>>,
) -> Result<Option<LdapFilter>, ReconcileError> {
    match filter {
        None => Ok(None),
        Some(located) => dirsnap_filter::ldap::parse(&located.value)
            .map(Some)
            .map_err(|e| ReconcileError::Config {
                file: config.path.display().to_string(),
                line: located.line,
                key: located.key.clone(),
                message: format!("not a valid LDAP filter: {e}"),
            }),
    }
}

fn parse_scim(
    config: &DsConfig,
    filter: &Option<Located<String>>,
) -> Result<Option<ScimFilter>, ReconcileError> {
    match filter {
        None => Ok(None),
        Some(located) => dirsnap_filter::scim::parse(&located.value)
            .map(Some)
            .map_err(|e| ReconcileError::Config {
                file: config.path.display().to_string(),
                line: located.line,
                key: located.key.clone(),
                message: format!("not a valid SCIM filter: {e}"),
            }),
    }
}

/// The AD rows an instance synchronizes.
pub(crate) struct Scope {
    /// Ascending.
    pub users_in_scope: Vec<AdUserRow>,
    /// Ascending.
    pub groups_in_scope: Vec<AdGroupRow>,
    /// The snapshot was exported with a narrower user / group filter than the config's: an
    /// IIJ ID object without an AD row may have one outside the snapshot, so it is not
    /// deleted as an orphan.
    pub users_partial: bool,
    pub groups_partial: bool,
}

/// How the config's filter relates to the filter the snapshot was exported with.
enum Width {
    /// Same filter: every exported row is in scope, nothing to evaluate.
    Same,
    /// Different (narrower, or possibly wider): evaluate per row. `may_be_wider`: the
    /// snapshot may lack objects the config selects.
    Evaluate { may_be_wider: bool },
}

impl Width {
    fn evaluates(&self) -> bool {
        matches!(self, Width::Evaluate { .. })
    }

    fn may_be_wider(&self) -> bool {
        matches!(self, Width::Evaluate { may_be_wider: true })
    }
}

/// One object type's filters as the width check compares them.
struct FilterPair<'f> {
    /// `user` or `group`.
    what: &'static str,
    /// The config key, for people: `ad.ldap.filter.user`.
    key: &'static str,
    config: Option<&'f LdapFilter>,
    /// The exporter's object-class filter for this type.
    class: Option<&'f LdapFilter>,
    /// The filter the snapshot was exported with (its manifest).
    export: Option<&'f str>,
}

/// Evaluates `ad.ldap.filter.{user,group}` of `input` over its AD snapshot (with
/// FILTER_WIDER_THAN_SNAPSHOT where the snapshot may hold less). `ad_user_by_key`: the
/// instance's live AD users by objectGUID (group filters may name member DNs).
pub(crate) fn evaluate(
    plan: &mut PlanBuilder,
    input: &Instance<'_>,
    filters: &ConfigFilters,
    ad_user_by_key: &KeyIndex,
) -> Scope {
    let config = input.config;
    let name = input.name.as_str();
    let class = |c| {
        config
            .class_filter(c)
            .ok()
            .and_then(|text| dirsnap_filter::ldap::parse(&text).ok())
    };
    let (user_class, group_class) = (class(ObjectClass::User), class(ObjectClass::Group));
    let user_width = filter_width(
        plan,
        name,
        FilterPair {
            what: "user",
            key: "ad.ldap.filter.user",
            config: filters.ad_user.as_ref(),
            class: user_class.as_ref(),
            export: input.ad.filters.user.as_deref(),
        },
    );
    let group_width = filter_width(
        plan,
        name,
        FilterPair {
            what: "group",
            key: "ad.ldap.filter.group",
            config: filters.ad_group.as_ref(),
            class: group_class.as_ref(),
            export: input.ad.filters.group.as_deref(),
        },
    );
    let needs_graph = user_width.evaluates() && filters.ad_user.is_some()
        || group_width.evaluates() && filters.ad_group.is_some();
    let graph = needs_graph.then(|| AdGraph::new(input.ad.groups, input.ad.memberships));
    let ad = &input.ad;

    let mut users_in_scope = Vec::with_capacity(ad.users.len());
    for (row, user) in ad.users.iter().enumerate() {
        if user.is_deleted() {
            continue;
        }
        let inside = match (&user_width, &filters.ad_user, &graph) {
            (Width::Same, _, _) | (_, None, _) => true,
            (Width::Evaluate { .. }, Some(filter), Some(graph)) => {
                filter.matches(&UserEntry::new(user, graph))
            }
            (Width::Evaluate { .. }, Some(_), None) => true,
        };
        if inside {
            users_in_scope.push(AdUserRow::new(row));
        }
    }

    let user_dn = |key: &Key| -> Option<String> {
        ad_user_by_key
            .get(key)
            .and_then(|row| ad.users.get(row as usize))
            .map(|user| user.dn().to_owned())
    };
    let mut groups_in_scope = Vec::new();
    for (row, group) in ad.groups.iter().enumerate() {
        if group.is_deleted {
            continue;
        }
        let inside = match (&group_width, &filters.ad_group, &graph) {
            (Width::Same, _, _) | (_, None, _) => true,
            (Width::Evaluate { .. }, Some(filter), Some(graph)) => {
                GroupEntry::new(row as u32, graph, &user_dn).is_some_and(|e| filter.matches(&e))
            }
            (Width::Evaluate { .. }, Some(_), None) => true,
        };
        if inside {
            groups_in_scope.push(AdGroupRow::new(row));
        }
    }
    Scope {
        users_in_scope,
        groups_in_scope,
        users_partial: user_width.may_be_wider(),
        groups_partial: group_width.may_be_wider(),
    }
}

fn conjuncts(filter: &LdapFilter) -> Vec<&LdapFilter> {
    match filter {
        LdapFilter::And(items) => items.iter().flat_map(conjuncts).collect(),
        other => vec![other],
    }
}

/// Compares the config filter with the export filter; says so (a finding) when the config
/// may select objects the snapshot does not hold. The comparison is syntactic: the config
/// is narrower when it is the export filter AND-ed with more conditions.
fn filter_width(plan: &mut PlanBuilder, instance: &str, pair: FilterPair<'_>) -> Width {
    let export = match pair.export.map(dirsnap_filter::ldap::parse) {
        None => None,
        Some(Ok(filter)) => Some(filter),
        Some(Err(_)) => {
            plan.note(findings::notes::unparsable_export_filter(
                instance, pair.what, pair.key,
            ));
            return Width::Evaluate {
                may_be_wider: false,
            };
        }
    };
    // The exporter ANDs the object-class filter with the configured one: it bounds what any
    // config would select, so it counts as part of the config here.
    let class_parts: Vec<&LdapFilter> = pair.class.map(conjuncts).unwrap_or_default();
    match (pair.config, export.as_ref()) {
        (None, None) => Width::Same,
        (Some(config), Some(export)) if config == export => Width::Same,
        (_, None) => Width::Evaluate {
            may_be_wider: false,
        },
        (config, Some(export)) => {
            let mut config_parts: Vec<&LdapFilter> = config.map(conjuncts).unwrap_or_default();
            config_parts.extend(class_parts.iter().copied());
            let export_parts = conjuncts(export);
            let narrower = export_parts.iter().all(|p| config_parts.contains(p));
            if narrower && config_parts.iter().all(|p| export_parts.contains(p)) {
                return Width::Same;
            }
            if !narrower {
                plan.add_finding(
                    findings::filter_wider_than_snapshot(
                        instance,
                        pair.what,
                        pair.key,
                        config,
                        &export.to_string(),
                    ),
                    Vec::new(),
                );
            }
            Width::Evaluate {
                may_be_wider: !narrower,
            }
        }
    }
}

/// Whether the instance owns the IIJ ID object whose SCIM JSON `json` builds (built only
/// when there is a filter to evaluate).
pub(crate) fn owned(filter: Option<&ScimFilter>, json: impl FnOnce() -> Value) -> bool {
    match filter {
        None => true,
        Some(filter) => filter.matches(&json(), &DefaultSchema),
    }
}
