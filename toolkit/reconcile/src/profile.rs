//! Every assumption the engine makes about IIJ ID and Directory Sync where their behaviour
//! is not publicly documented, in one place. Each field is a row of docs/iij-assumptions.md
//! and can be switched under `dirsnap.profile` in config.yml; learning the truth changes
//! the default here and nothing else.

use crate::error::ReconcileError;
use dirsnap_model::{URN_ENTERPRISE_USER, URN_IIJ_ENTERPRISEJP_USER};
use serde_json::Value;
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

/// The IIJ behaviour profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// A1: SCIM path of the application-linking ID.
    pub application_linking_id: String,
    /// A5.
    pub anchor_encoding: AnchorEncoding,
    /// RC1.
    pub active_from: ActiveRule,
    /// RC2: AD attribute that becomes an IIJ ID group's displayName (then `sAMAccountName`).
    pub group_name_attribute: String,
    /// RC3: `ad_bind` used for IIJ ID attributes the config does not bind.
    pub default_ad_bind: BTreeMap<String, Vec<String>>,
    /// RC4.
    pub convert_replace: ConvertReplace,
    /// RC5.
    pub recreated_live_user: RecreatedLiveUser,
    /// RC6: the tenant links users to Microsoft 365, so recreated accounts are checked
    /// against the linkage table even without an `--m365` snapshot.
    pub m365_linkage: bool,
    /// RC7: HTTP method that restores a user from pending deletion.
    pub restore_method: String,
    /// A3: HTTP method that puts a user into pending deletion.
    pub pending_delete_method: String,
    /// RC12: SCIM paths of `ad_bind` / `default` targets that are not top-level core
    /// attributes (e.g. `department` lives in the enterprise extension).
    pub attribute_paths: BTreeMap<String, String>,
    /// RC13: TOKEN_EXPIRING warns this many days before the access token's `exp`.
    pub token_warning_days: i64,
}

impl Default for Profile {
    fn default() -> Self {
        let mut default_ad_bind = BTreeMap::new();
        for (target, source) in [
            ("userName", "userPrincipalName"),
            ("displayName", "displayName"),
            ("name.familyName", "sn"),
            ("name.givenName", "givenName"),
            ("emails", "mail"),
        ] {
            default_ad_bind.insert(target.to_string(), vec![source.to_string()]);
        }
        let mut attribute_paths = BTreeMap::new();
        for name in [
            "department",
            "organization",
            "division",
            "costCenter",
            "employeeNumber",
        ] {
            attribute_paths.insert(name.to_string(), format!("{URN_ENTERPRISE_USER}:{name}"));
        }
        Profile {
            application_linking_id: format!("{URN_IIJ_ENTERPRISEJP_USER}:downstreamId"),
            anchor_encoding: AnchorEncoding::Base64,
            active_from: ActiveRule::UacAndAccountExpires,
            group_name_attribute: "cn".into(),
            default_ad_bind,
            convert_replace: ConvertReplace::All,
            recreated_live_user: RecreatedLiveUser::PendingDelete,
            m365_linkage: true,
            restore_method: "PATCH".into(),
            pending_delete_method: "DELETE".into(),
            attribute_paths,
            token_warning_days: 14,
        }
    }
}

/// The profile keys this build understands (others are reported in the plan's notes).
pub const PROFILE_KEYS: &[&str] = &[
    "application_linking_id",
    "anchor_encoding",
    "active_from",
    "group_name_attribute",
    "default_ad_bind",
    "convert_replace",
    "recreated_live_user",
    "m365_linkage",
    "restore_method",
    "pending_delete_method",
    "attribute_paths",
    "token_warning_days",
];

impl Profile {
    /// Reads `dirsnap.profile` overrides. `file` is named in errors. Returns the profile and
    /// notes about keys it does not know (kept, never fatal, like every unknown config key).
    pub fn from_config(
        file: &str,
        map: &serde_json::Map<String, Value>,
    ) -> Result<(Profile, Vec<String>), ReconcileError> {
        let mut p = Profile::default();
        let mut notes = Vec::new();
        let bad = |key: &str, expected: &str, found: &Value| ReconcileError::Profile {
            file: file.to_string(),
            key: format!("dirsnap.profile.{key}"),
            expected: expected.to_string(),
            found: found.to_string(),
        };
        for (key, value) in map {
            match key.as_str() {
                "application_linking_id" => {
                    p.application_linking_id = nonempty_str(value)
                        .ok_or_else(|| bad(key, "a SCIM attribute path", value))?
                        .to_string();
                    if dirsnap_filter::PatchPath::parse(&p.application_linking_id).is_err() {
                        return Err(bad(key, "a valid SCIM attribute path", value));
                    }
                }
                "anchor_encoding" => {
                    p.anchor_encoding = match value.as_str() {
                        Some("base64") => AnchorEncoding::Base64,
                        Some("guid") | Some("guid_text") => AnchorEncoding::GuidText,
                        Some("hex") => AnchorEncoding::Hex,
                        _ => return Err(bad(key, "one of base64, guid_text, hex", value)),
                    }
                }
                "active_from" => {
                    p.active_from = match value.as_str() {
                        Some("uac_and_account_expires") => ActiveRule::UacAndAccountExpires,
                        Some("uac") => ActiveRule::Uac,
                        _ => return Err(bad(key, "uac_and_account_expires or uac", value)),
                    }
                }
                "group_name_attribute" => {
                    p.group_name_attribute = nonempty_str(value)
                        .ok_or_else(|| bad(key, "an AD attribute name", value))?
                        .to_string();
                }
                "default_ad_bind" => {
                    let Value::Object(m) = value else {
                        return Err(bad(
                            key,
                            "a mapping of IIJ ID attribute to AD attribute(s)",
                            value,
                        ));
                    };
                    for (target, sources) in m {
                        let list = match sources {
                            Value::String(s) => vec![s.clone()],
                            Value::Array(items) => items
                                .iter()
                                .filter_map(|i| i.as_str().map(str::to_string))
                                .collect(),
                            Value::Null => Vec::new(),
                            other => {
                                return Err(bad(
                                    &format!("{key}.{target}"),
                                    "an AD attribute name or a list of them",
                                    other,
                                ));
                            }
                        };
                        if list.is_empty() {
                            p.default_ad_bind.remove(target);
                        } else {
                            p.default_ad_bind.insert(target.clone(), list);
                        }
                    }
                }
                "convert_replace" => {
                    p.convert_replace = match value.as_str() {
                        Some("all") | Some("gsub") => ConvertReplace::All,
                        Some("first") | Some("sub") => ConvertReplace::First,
                        _ => return Err(bad(key, "all or first", value)),
                    }
                }
                "recreated_live_user" => {
                    p.recreated_live_user = match value.as_str() {
                        Some("pending_delete") => RecreatedLiveUser::PendingDelete,
                        Some("update") => RecreatedLiveUser::Update,
                        _ => return Err(bad(key, "pending_delete or update", value)),
                    }
                }
                "m365_linkage" => {
                    p.m365_linkage = value
                        .as_bool()
                        .ok_or_else(|| bad(key, "true or false", value))?;
                }
                "restore_method" | "pending_delete_method" => {
                    let m = value
                        .as_str()
                        .map(str::to_ascii_uppercase)
                        .filter(|m| matches!(m.as_str(), "PATCH" | "PUT" | "DELETE" | "POST"))
                        .ok_or_else(|| {
                            bad(key, "an HTTP method (PATCH, PUT, DELETE, POST)", value)
                        })?;
                    if key == "restore_method" {
                        p.restore_method = m;
                    } else {
                        p.pending_delete_method = m;
                    }
                }
                "attribute_paths" => {
                    let Value::Object(m) = value else {
                        return Err(bad(key, "a mapping of attribute name to SCIM path", value));
                    };
                    for (name, path) in m {
                        let path = nonempty_str(path).ok_or_else(|| {
                            bad(&format!("{key}.{name}"), "a SCIM attribute path", path)
                        })?;
                        if dirsnap_filter::PatchPath::parse(path).is_err() {
                            return Err(bad(
                                &format!("{key}.{name}"),
                                "a valid SCIM attribute path",
                                &Value::String(path.to_string()),
                            ));
                        }
                        p.attribute_paths.insert(name.clone(), path.to_string());
                    }
                }
                "token_warning_days" => {
                    p.token_warning_days = value
                        .as_i64()
                        .filter(|d| (0..=3650).contains(d))
                        .ok_or_else(|| bad(key, "a number of days from 0 to 3650", value))?;
                }
                other => notes.push(format!(
                    "{file}: dirsnap.profile.{other} is not a profile key this dirsnap knows; ignored (known: {})",
                    PROFILE_KEYS.join(", ")
                )),
            }
        }
        Ok((p, notes))
    }

    /// The SCIM path an `ad_bind` / `default` target is written to.
    pub fn scim_path(&self, target: &str) -> String {
        if target == "downstreamId" {
            return self.application_linking_id.clone();
        }
        if let Some(p) = self.attribute_paths.get(target) {
            return p.clone();
        }
        target.to_string()
    }

    /// Encodes a binary AD anchor as the text IIJ ID receives (A5).
    pub fn encode_anchor(&self, bytes: &[u8]) -> String {
        match self.anchor_encoding {
            AnchorEncoding::Base64 => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(bytes)
            }
            AnchorEncoding::GuidText => dirsnap_model::Guid::from_slice(bytes)
                .map_or_else(|| hex::encode(bytes), |g| g.to_string()),
            AnchorEncoding::Hex => hex::encode(bytes),
        }
    }
}

fn nonempty_str(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.trim().is_empty())
}

/// AD attributes whose value never changes for a living object: a different value means a
/// different (recreated) AD object.
pub fn is_anchor_attribute(ad_attr: &str) -> bool {
    ["objectGUID", "mS-DS-ConsistencyGuid", "objectSid"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(ad_attr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> serde_json::Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn defaults_match_the_documented_assumptions() {
        let p = Profile::default();
        assert_eq!(
            p.scim_path("downstreamId"),
            "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId"
        );
        assert_eq!(
            p.scim_path("department"),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
        );
        assert_eq!(p.scim_path("title"), "title");
        assert_eq!(p.encode_anchor(&[0xff; 16]), "/////////////////////w==");
    }

    #[test]
    fn overrides_apply_and_bad_values_name_the_key() {
        let (p, notes) = Profile::from_config(
            "c.yml",
            &map(json!({"anchor_encoding": "hex", "recreated_live_user": "update", "colour": 1})),
        )
        .unwrap();
        assert_eq!(p.anchor_encoding, AnchorEncoding::Hex);
        assert_eq!(p.recreated_live_user, RecreatedLiveUser::Update);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("dirsnap.profile.colour"));
        let e = Profile::from_config("c.yml", &map(json!({"anchor_encoding": "rot13"})))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("c.yml") && e.contains("dirsnap.profile.anchor_encoding"),
            "{e}"
        );
    }
}
