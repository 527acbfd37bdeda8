//! `dirsnap.profile`: the switches of every assumption dirsnap makes where IIJ ID and
//! Directory Sync are undocumented (docs/iij-assumptions.md), parsed and validated here once
//! for every part of dirsnap that reads them — the reconcile engine, the mock IIJ ID, the
//! exporters, replay and check.
//!
//! Parsing only. What a setting *means* is implemented by its reader, and the engine and the
//! mock implement IIJ ID's rules separately on purpose: `simulate` and the convergence laws
//! are worth something only because the mock is an independent model the engine is checked
//! against (docs/decisions.md). A setting absent from config.yml is `None` here; each reader
//! has its own defaults (the engine's and the mock's IIJ profile, the mock's RFC profile).

use dirsnap_filter::PatchPath;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How binary AD anchors (objectGUID, mS-DS-ConsistencyGuid) are written as text (A5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorEncoding {
    /// Standard base64 of the 16 bytes, like Entra Connect's immutableId.
    Base64,
    /// Canonical GUID text (`Get-ADUser` form).
    GuidText,
    /// Lowercase hex of the bytes as stored.
    Hex,
}

/// How `active` derives from AD (RC1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveRule {
    /// Inactive when ACCOUNTDISABLE (0x2) is set or accountExpires is at or before `as_of`.
    UacAndAccountExpires,
    /// Inactive only when ACCOUNTDISABLE is set.
    Uac,
}

/// What Directory Sync does with a recreated AD account (new objectGUID, same login ID)
/// whose IIJ ID user is still live (RC5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecreatedLiveUser {
    /// The old AD object is gone: its IIJ ID user goes to pending deletion, and the new
    /// object cannot be created while that user holds the login ID (the lifecycle table's
    /// "Delete user" then "Recreate user" rows).
    PendingDelete,
    /// The new object takes over the IIJ ID user: its anchors are updated in place.
    Update,
}

/// Whether `convert` rewrites every match (Ruby `gsub`) or the first (`sub`) (RC4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertReplace {
    All,
    First,
}

/// What `DELETE /Users/{id}` does at the tenant (A3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDelete {
    /// The user becomes pending deletion (削除待ち): hidden, its login ID and externalId stay
    /// reserved, restorable.
    PendingDeletion,
    /// The user is gone (RFC 7644 §3.6).
    Hard,
}

/// The request that brings a pending-deletion user back over SCIM (RC7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreMethod {
    /// `PATCH /Users/{id}` of the pending user applies its operations and restores it.
    Patch,
    /// `PUT /Users/{id}` of the pending user replaces it and restores it.
    Put,
    /// `POST /Users` with the pending user's userName **and** externalId restores it with the
    /// posted values (keeping its id); the userName alone is a 409.
    Post,
}

impl RestoreMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreMethod::Patch => "PATCH",
            RestoreMethod::Put => "PUT",
            RestoreMethod::Post => "POST",
        }
    }
}

/// A setting with a value of the wrong shape. Callers add the file (and format it their way).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dirsnap.profile.{key}: expected {expected}, found {found}")]
pub struct ProfileValueError {
    /// The key under `dirsnap.profile`, dotted below it (`default_ad_bind.userName`).
    pub key: String,
    pub expected: String,
    pub found: String,
}

/// Every `dirsnap.profile` key dirsnap reads, with the part that reads it.
pub const PROFILE_KEYS: &[(&str, &str)] = &[
    ("application_linking_id", "engine, mock, export iid, replay"),
    ("anchor_encoding", "engine"),
    ("active_from", "engine"),
    ("group_name_attribute", "engine"),
    ("default_ad_bind", "engine"),
    ("convert_replace", "engine"),
    ("recreated_live_user", "engine"),
    ("m365_linkage", "engine"),
    ("m365_soft_deleted_reserves", "engine"),
    ("m365_enable_unblocks", "engine"),
    ("restore_requires_same_linking_id", "engine"),
    ("restore_method", "engine, mock"),
    ("pending_delete_method", "engine"),
    ("attribute_paths", "engine"),
    ("token_warning_days", "engine"),
    ("user_delete", "mock"),
    (
        "pending_deletion_listed",
        "mock, reconcile inputs (history presumes nothing)",
    ),
    ("external_id_unset", "mock"),
    ("timestamp_offset", "mock"),
    ("page_size_cap", "mock"),
    ("tenant_domains", "mock"),
    ("member_enrichment", "mock"),
    ("empty_multi_valued", "mock"),
    ("reject_empty_password", "mock"),
    ("ad_user_class_filter", "export ad, engine"),
    ("ad_group_class_filter", "export ad, engine"),
    ("check_write_scopes", "check"),
    ("group_members_in_list", "export iid"),
];

/// The keys of [`PROFILE_KEYS`], comma-separated, for messages.
pub fn profile_key_list() -> String {
    PROFILE_KEYS
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `dirsnap.profile` settings of one config, validated; `None` = not set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileSettings {
    /// A1: SCIM path of the application-linking ID.
    pub application_linking_id: Option<String>,
    /// A5.
    pub anchor_encoding: Option<AnchorEncoding>,
    /// RC1.
    pub active_from: Option<ActiveRule>,
    /// RC2: AD attribute that becomes an IIJ ID group's displayName.
    pub group_name_attribute: Option<String>,
    /// RC3: `ad_bind` for IIJ ID attributes the config does not bind; an empty list removes
    /// the default binding of that attribute.
    pub default_ad_bind: BTreeMap<String, Vec<String>>,
    /// RC4.
    pub convert_replace: Option<ConvertReplace>,
    /// RC5.
    pub recreated_live_user: Option<RecreatedLiveUser>,
    /// RC6.
    pub m365_linkage: Option<bool>,
    /// M1: a soft-deleted Microsoft 365 account keeps its UPN and immutableId reserved.
    pub m365_soft_deleted_reserves: Option<bool>,
    /// M2: enabling an IIJ ID user unblocks its Microsoft 365 account.
    pub m365_enable_unblocks: Option<bool>,
    /// RC14: a user pending deletion is restored only by the same AD object (linking ID
    /// unchanged), not by any AD user with its userName and externalId.
    pub restore_requires_same_linking_id: Option<bool>,
    /// RC7: `Some(None)` is an explicit `null`: the tenant cannot restore over SCIM (the
    /// mock's RFC behaviour).
    pub restore_method: Option<Option<RestoreMethod>>,
    /// A3: HTTP method that puts a user into pending deletion (upper case).
    pub pending_delete_method: Option<String>,
    /// RC12: SCIM paths of attributes that are not top-level core attributes.
    pub attribute_paths: BTreeMap<String, String>,
    /// RC13.
    pub token_warning_days: Option<i64>,
    /// A3 (mock).
    pub user_delete: Option<UserDelete>,
    /// MK2: pending-deletion users appear in SCIM listings.
    pub pending_deletion_listed: Option<bool>,
    /// An unset externalId reads back as `""` (true) or is absent (false).
    pub external_id_unset_as_empty: Option<bool>,
    /// Offset of `meta` timestamps, in seconds east of UTC.
    pub timestamp_offset_seconds: Option<i32>,
    pub page_size_cap: Option<usize>,
    /// `Some(None)` is an explicit `null`: every domain accepted.
    pub tenant_domains: Option<Option<Vec<String>>>,
    pub member_enrichment: Option<bool>,
    pub empty_multi_valued: Option<Vec<String>>,
    pub reject_empty_password: Option<bool>,
    /// The exporter's object-class filters (text as configured; parsed by their readers).
    pub ad_user_class_filter: Option<String>,
    pub ad_group_class_filter: Option<String>,
    /// A11: whether `check` probes the write scopes.
    pub check_write_scopes: Option<bool>,
    /// The tenant lists group members in `GET /Groups` (export iid reads them there instead
    /// of one group at a time).
    pub group_members_in_list: Option<bool>,
    /// Keys under `dirsnap.profile` that no part of dirsnap reads, in the order written.
    pub unknown: Vec<String>,
}

impl ProfileSettings {
    /// Parses a `dirsnap.profile` mapping.
    pub fn parse(map: &Map<String, Value>) -> Result<ProfileSettings, ProfileValueError> {
        let mut settings = ProfileSettings::default();
        for (key, value) in map {
            settings.set(key, value)?;
        }
        Ok(settings)
    }

    /// Whether `key` is one of [`PROFILE_KEYS`].
    pub fn is_known(key: &str) -> bool {
        PROFILE_KEYS.iter().any(|(k, _)| *k == key)
    }

    /// Sets one key; an unknown key is recorded in `unknown`.
    pub fn set(&mut self, key: &str, value: &Value) -> Result<(), ProfileValueError> {
        let bad = |expected: &str| ProfileValueError {
            key: key.to_string(),
            expected: expected.to_string(),
            found: value.to_string(),
        };
        let boolean = || value.as_bool().ok_or_else(|| bad("true or false"));
        let choice = |options: &[(&str, u8)], expected: &str| {
            value
                .as_str()
                .and_then(|s| options.iter().find(|(name, _)| *name == s))
                .map(|(_, v)| *v)
                .ok_or_else(|| bad(expected))
        };
        match key {
            "application_linking_id" => {
                self.application_linking_id = Some(scim_path(value).ok_or_else(|| {
                    bad("a valid SCIM attribute path such as \"urn:…:User:downstreamId\"")
                })?)
            }
            "anchor_encoding" => {
                self.anchor_encoding = Some(
                    match choice(
                        &[("base64", 0), ("guid", 1), ("guid_text", 1), ("hex", 2)],
                        "one of base64, guid_text, hex",
                    )? {
                        0 => AnchorEncoding::Base64,
                        1 => AnchorEncoding::GuidText,
                        _ => AnchorEncoding::Hex,
                    },
                )
            }
            "active_from" => {
                self.active_from = Some(
                    match choice(
                        &[("uac_and_account_expires", 0), ("uac", 1)],
                        "uac_and_account_expires or uac",
                    )? {
                        0 => ActiveRule::UacAndAccountExpires,
                        _ => ActiveRule::Uac,
                    },
                )
            }
            "group_name_attribute" => {
                self.group_name_attribute = Some(
                    nonempty_str(value)
                        .ok_or_else(|| bad("an AD attribute name"))?
                        .to_string(),
                )
            }
            "default_ad_bind" => {
                let Value::Object(targets) = value else {
                    return Err(bad("a mapping of IIJ ID attribute to AD attribute(s)"));
                };
                for (target, sources) in targets {
                    let list = match sources {
                        Value::String(s) => vec![s.clone()],
                        Value::Array(items) => items
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_string))
                            .collect(),
                        Value::Null => Vec::new(),
                        other => {
                            return Err(ProfileValueError {
                                key: format!("{key}.{target}"),
                                expected: "an AD attribute name or a list of them".into(),
                                found: other.to_string(),
                            });
                        }
                    };
                    self.default_ad_bind.insert(target.clone(), list);
                }
            }
            "convert_replace" => {
                self.convert_replace = Some(
                    match choice(
                        &[("all", 0), ("gsub", 0), ("first", 1), ("sub", 1)],
                        "all or first",
                    )? {
                        0 => ConvertReplace::All,
                        _ => ConvertReplace::First,
                    },
                )
            }
            "recreated_live_user" => {
                self.recreated_live_user = Some(
                    match choice(
                        &[("pending_delete", 0), ("update", 1)],
                        "pending_delete or update",
                    )? {
                        0 => RecreatedLiveUser::PendingDelete,
                        _ => RecreatedLiveUser::Update,
                    },
                )
            }
            "m365_linkage" => self.m365_linkage = Some(boolean()?),
            "m365_soft_deleted_reserves" => self.m365_soft_deleted_reserves = Some(boolean()?),
            "m365_enable_unblocks" => self.m365_enable_unblocks = Some(boolean()?),
            "restore_requires_same_linking_id" => {
                self.restore_requires_same_linking_id = Some(boolean()?)
            }
            "restore_method" => {
                self.restore_method = Some(
                    match value.as_str().map(str::to_ascii_uppercase).as_deref() {
                        Some("PATCH") => Some(RestoreMethod::Patch),
                        Some("PUT") => Some(RestoreMethod::Put),
                        Some("POST") => Some(RestoreMethod::Post),
                        _ if value.is_null() => None,
                        _ => return Err(bad("\"PATCH\", \"PUT\", \"POST\" or null")),
                    },
                )
            }
            "pending_delete_method" => {
                self.pending_delete_method = Some(
                    value
                        .as_str()
                        .map(str::to_ascii_uppercase)
                        .filter(|m| matches!(m.as_str(), "PATCH" | "PUT" | "DELETE" | "POST"))
                        .ok_or_else(|| bad("an HTTP method (PATCH, PUT, DELETE, POST)"))?,
                )
            }
            "attribute_paths" => {
                let Value::Object(paths) = value else {
                    return Err(bad("a mapping of attribute name to SCIM path"));
                };
                for (name, path) in paths {
                    let path = scim_path(path).ok_or_else(|| ProfileValueError {
                        key: format!("{key}.{name}"),
                        expected: "a valid SCIM attribute path".into(),
                        found: path.to_string(),
                    })?;
                    self.attribute_paths.insert(name.clone(), path);
                }
            }
            "token_warning_days" => {
                self.token_warning_days = Some(
                    value
                        .as_i64()
                        .filter(|d| (0..=3650).contains(d))
                        .ok_or_else(|| bad("a number of days from 0 to 3650"))?,
                )
            }
            "user_delete" => {
                self.user_delete = Some(
                    match choice(
                        &[("pending_deletion", 0), ("hard", 1)],
                        "\"pending_deletion\" or \"hard\"",
                    )? {
                        0 => UserDelete::PendingDeletion,
                        _ => UserDelete::Hard,
                    },
                )
            }
            "pending_deletion_listed" => self.pending_deletion_listed = Some(boolean()?),
            "external_id_unset" => {
                self.external_id_unset_as_empty = Some(
                    choice(
                        &[("empty_string", 1), ("absent", 0)],
                        "\"empty_string\" or \"absent\"",
                    )? == 1,
                )
            }
            "timestamp_offset" => {
                self.timestamp_offset_seconds = Some(
                    value
                        .as_str()
                        .and_then(parse_offset)
                        .ok_or_else(|| bad("an offset such as \"+09:00\" or \"Z\""))?,
                )
            }
            "page_size_cap" => {
                self.page_size_cap = Some(
                    value
                        .as_u64()
                        .filter(|n| *n >= 1)
                        .and_then(|n| usize::try_from(n).ok())
                        .ok_or_else(|| bad("a positive integer"))?,
                )
            }
            "tenant_domains" => {
                self.tenant_domains = Some(match value {
                    Value::Null => None,
                    Value::Array(items) => Some(
                        items
                            .iter()
                            .map(|d| d.as_str().map(str::to_ascii_lowercase))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| bad("a list of domain names"))?,
                    ),
                    Value::String(s) => Some(
                        s.split(',')
                            .map(|d| d.trim().to_ascii_lowercase())
                            .filter(|d| !d.is_empty())
                            .collect(),
                    ),
                    _ => return Err(bad("a list of domain names or null")),
                })
            }
            "member_enrichment" => self.member_enrichment = Some(boolean()?),
            "empty_multi_valued" => {
                self.empty_multi_valued = Some(
                    value
                        .as_array()
                        .and_then(|items| {
                            items
                                .iter()
                                .map(|d| d.as_str().map(String::from))
                                .collect::<Option<Vec<_>>>()
                        })
                        .ok_or_else(|| bad("a list of attribute names"))?,
                )
            }
            "reject_empty_password" => self.reject_empty_password = Some(boolean()?),
            "ad_user_class_filter" | "ad_group_class_filter" => {
                // null means "the default", as leaving the key out does.
                let text = match value {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    _ => return Err(bad("an LDAP filter string")),
                };
                if key == "ad_user_class_filter" {
                    self.ad_user_class_filter = text;
                } else {
                    self.ad_group_class_filter = text;
                }
            }
            "check_write_scopes" => self.check_write_scopes = Some(boolean()?),
            "group_members_in_list" => self.group_members_in_list = Some(boolean()?),
            other => self.unknown.push(other.to_string()),
        }
        Ok(())
    }
}

fn nonempty_str(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.trim().is_empty())
}

fn scim_path(v: &Value) -> Option<String> {
    nonempty_str(v)
        .filter(|p| PatchPath::parse(p).is_ok())
        .map(str::to_string)
}

/// `+09:00`, `-05:30`, `Z` or `UTC` as seconds east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, s.get(1..)?),
        b'-' => (-1, s.get(1..)?),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<ProfileSettings, ProfileValueError> {
        match v {
            Value::Object(m) => ProfileSettings::parse(&m),
            _ => Ok(ProfileSettings::default()),
        }
    }

    #[test]
    fn every_reader_s_keys_parse_into_one_settings_value() {
        let s = parse(json!({
            "anchor_encoding": "guid",
            "restore_method": "put",
            "user_delete": "hard",
            "timestamp_offset": "-05:30",
            "tenant_domains": "A.jp, b.jp",
            "default_ad_bind": {"emails": null, "title": ["title", "description"]},
            "check_write_scopes": false,
            "colour": 1,
        }))
        .unwrap_or_default();
        assert_eq!(s.anchor_encoding, Some(AnchorEncoding::GuidText));
        assert_eq!(s.restore_method, Some(Some(RestoreMethod::Put)));
        assert_eq!(s.user_delete, Some(UserDelete::Hard));
        assert_eq!(s.timestamp_offset_seconds, Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(
            s.tenant_domains,
            Some(Some(vec!["a.jp".to_string(), "b.jp".to_string()]))
        );
        assert_eq!(s.default_ad_bind.get("emails"), Some(&Vec::new()));
        assert_eq!(s.check_write_scopes, Some(false));
        assert_eq!(s.unknown, ["colour"]);
        assert!(ProfileSettings::is_known("page_size_cap"));
        assert!(!ProfileSettings::is_known("colour"));
    }

    #[test]
    fn wrong_shapes_name_the_key_and_what_was_expected() {
        for (v, key, expected) in [
            (
                json!({"anchor_encoding": "rot13"}),
                "anchor_encoding",
                "one of base64",
            ),
            (
                json!({"page_size_cap": 0}),
                "page_size_cap",
                "a positive integer",
            ),
            (
                json!({"attribute_paths": {"title": "a..b["}}),
                "attribute_paths.title",
                "SCIM attribute path",
            ),
            (
                json!({"restore_method": "DELETE"}),
                "restore_method",
                "or null",
            ),
            (
                json!({"timestamp_offset": "+25:00"}),
                "timestamp_offset",
                "offset",
            ),
        ] {
            let e = parse(v).err().unwrap_or_else(|| ProfileValueError {
                key: "none".into(),
                expected: String::new(),
                found: String::new(),
            });
            assert_eq!(e.key, key);
            assert!(e.expected.contains(expected), "{e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("dirsnap.profile.{key}:"))
            );
        }
    }

    #[test]
    fn restore_method_null_is_explicit() {
        let s = parse(json!({"restore_method": null})).unwrap_or_default();
        assert_eq!(s.restore_method, Some(None));
        assert_eq!(ProfileSettings::default().restore_method, None);
    }
}
