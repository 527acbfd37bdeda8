//! The group attribute mapping (assumption RC15): `iid.scim.attribute.group.ad_bind` gives an
//! IIJ ID group its `description` and `email` — the enterprise group extension
//! (`urn:iij:params:scim:schemas:extension:enterprise:2.0:Group`, iij-facts §1) — from the AD
//! group's attributes, the first non-empty of the bound ones. A created group is sent with
//! them; a synchronized group whose values differ gets an update_group. Without the mapping a
//! group is its displayName and members only, as before.

use crate::mapping::{LazyJson, RawAttrs};
use dirsnap_config::DsConfig;
use dirsnap_model::{AdGroup, IidGroup, URN_IIJ_ENTERPRISE_GROUP};
use dirsnap_plan::{Change, PatchOp};
use serde_json::{Map, Value};

/// A group attribute dirsnap maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupAttr {
    Description,
    Email,
}

impl GroupAttr {
    fn parse(target: &str) -> Option<GroupAttr> {
        match target {
            "description" => Some(GroupAttr::Description),
            "email" => Some(GroupAttr::Email),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            GroupAttr::Description => "description",
            GroupAttr::Email => "email",
        }
    }

    fn path(self) -> String {
        format!("{URN_IIJ_ENTERPRISE_GROUP}:{}", self.name())
    }
}

/// AD group attributes with a typed column (read without `raw`).
const TYPED: &[&str] = &["description", "mail", "displayname", "cn", "samaccountname"];

/// One instance's group attribute mapping.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupAttributes {
    binds: Vec<(GroupAttr, Vec<String>)>,
}

/// What the mapping changes on one group.
pub(crate) struct AttributeChanges {
    pub changes: Vec<Change>,
    pub operations: Vec<PatchOp>,
}

impl GroupAttributes {
    pub(crate) fn of(config: &DsConfig) -> GroupAttributes {
        let mut binds: Vec<(GroupAttr, Vec<String>)> = config
            .iid
            .group_ad_bind
            .iter()
            .filter_map(|b| Some((GroupAttr::parse(&b.target)?, b.sources.clone())))
            .filter(|(_, sources)| !sources.is_empty())
            .collect();
        // A fixed order keeps plans deterministic whatever the config's key order.
        binds.sort_by_key(|(attr, _)| attr.name());
        GroupAttributes { binds }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.binds.is_empty()
    }

    /// Whether reading the AD groups' values needs their `raw` column.
    pub(crate) fn needs_ad_raw(&self) -> bool {
        self.binds.iter().any(|(_, sources)| {
            sources
                .iter()
                .any(|s| !TYPED.contains(&s.to_ascii_lowercase().as_str()))
        })
    }

    /// Whether reading the IIJ ID groups' current values needs their `raw` column (only
    /// `description` is a typed column).
    pub(crate) fn needs_iid_raw(&self) -> bool {
        self.binds.iter().any(|(attr, _)| *attr == GroupAttr::Email)
    }

    fn ad_value(group: &AdGroup, sources: &[String]) -> Option<String> {
        let raw = RawAttrs::new(&group.raw);
        sources.iter().find_map(|source| {
            let typed = match source.to_ascii_lowercase().as_str() {
                "description" => Some(group.description.clone()),
                "mail" => Some(group.mail.clone()),
                "displayname" => Some(group.display_name.clone()),
                "cn" => Some(group.cn.clone()),
                "samaccountname" => Some(group.sam_account_name.clone()),
                _ => None,
            };
            let value = match typed {
                Some(value) => value,
                None => raw
                    .first(source)
                    .map(|(bytes, _)| String::from_utf8_lossy(&bytes).into_owned()),
            };
            value.filter(|v| !v.is_empty())
        })
    }

    fn iid_value(attr: GroupAttr, group: &IidGroup, raw: &LazyJson<'_>) -> Option<String> {
        match attr {
            GroupAttr::Description => group.description.clone(),
            GroupAttr::Email => raw
                .get()
                .and_then(|v| v.get(URN_IIJ_ENTERPRISE_GROUP))
                .and_then(|ext| ext.get("email"))
                .and_then(Value::as_str)
                .map(str::to_string),
        }
        .filter(|v| !v.is_empty())
    }

    /// The extension object of a created group (`None` when nothing is mapped or empty).
    pub(crate) fn create_extension(&self, group: &AdGroup) -> Option<(Value, Vec<Change>)> {
        let mut extension = Map::new();
        let mut changes = Vec::new();
        for (attr, sources) in &self.binds {
            if let Some(value) = Self::ad_value(group, sources) {
                extension.insert(attr.name().into(), Value::String(value.clone()));
                changes.push(Change {
                    attribute: attr.name().into(),
                    old: Value::Null,
                    new: Value::String(value),
                });
            }
        }
        (!extension.is_empty()).then_some((Value::Object(extension), changes))
    }

    /// What differs between the AD group and its IIJ ID group, as PATCH operations.
    pub(crate) fn diff(&self, group: &AdGroup, iid: &IidGroup) -> AttributeChanges {
        let raw = LazyJson::new(&iid.raw);
        let mut out = AttributeChanges {
            changes: Vec::new(),
            operations: Vec::new(),
        };
        for (attr, sources) in &self.binds {
            let want = Self::ad_value(group, sources);
            if *attr == GroupAttr::Email && raw.get().is_none() {
                // The IID snapshot was read without `raw`: the current value is unknown.
                continue;
            }
            let have = Self::iid_value(*attr, iid, &raw);
            if want == have {
                continue;
            }
            out.changes.push(Change {
                attribute: attr.name().into(),
                old: have.map_or(Value::Null, Value::String),
                new: want.clone().map_or(Value::Null, Value::String),
            });
            out.operations.push(match want {
                Some(value) => PatchOp {
                    op: "replace".into(),
                    path: Some(attr.path()),
                    value: Some(Value::String(value)),
                },
                None => PatchOp {
                    op: "remove".into(),
                    path: Some(attr.path()),
                    value: None,
                },
            });
        }
        out
    }
}
