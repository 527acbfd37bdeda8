//! Every assumption the engine makes about IIJ ID and Directory Sync where their behaviour
//! is not publicly documented, in one place. Each field is a row of docs/iij-assumptions.md
//! and can be switched under `dirsnap.profile` in config.yml (parsed by
//! `dirsnap_config::profile`, the one parser every part of dirsnap shares); learning the
//! truth changes the default here and nothing else.

use crate::error::ReconcileError;
pub use dirsnap_config::profile::{ActiveRule, AnchorEncoding, ConvertReplace, RecreatedLiveUser};
use dirsnap_config::profile::{ProfileSettings, profile_key_list};
use dirsnap_model::{URN_ENTERPRISE_USER, URN_IIJ_ENTERPRISEJP_USER};
use serde_json::Value;
use std::collections::BTreeMap;

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
    /// M1: a soft-deleted Microsoft 365 account (recycle bin) keeps its userPrincipalName
    /// and immutableId reserved, so linkage to its UPN fails until it is deleted for good.
    pub m365_soft_deleted_reserves: bool,
    /// M2: enabling an IIJ ID user unblocks its Microsoft 365 account (IIJ ID's linkage
    /// writes `active` to accountEnabled), so an enable gets the Microsoft 365 check.
    pub m365_enable_unblocks: bool,
    /// RC14: a user pending deletion is restored only when the AD user is the same object
    /// (its application-linking ID unchanged); a new object with the same userName and
    /// externalId is RECREATED_PENDING_DELETION (SPEC §5). `false`: the restore rule's text
    /// alone (userName and externalId), which restores it and overwrites the linking ID.
    pub restore_requires_same_linking_id: bool,
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
            m365_soft_deleted_reserves: true,
            m365_enable_unblocks: true,
            restore_requires_same_linking_id: true,
            restore_method: "PATCH".into(),
            pending_delete_method: "DELETE".into(),
            attribute_paths,
            token_warning_days: 14,
        }
    }
}

impl Profile {
    /// Reads `dirsnap.profile` overrides. `file` is named in errors. Returns the profile and
    /// notes about keys no part of dirsnap reads (kept, never fatal, like every unknown config
    /// key).
    pub fn from_config(
        file: &str,
        map: &serde_json::Map<String, Value>,
    ) -> Result<(Profile, Vec<String>), ReconcileError> {
        let settings = ProfileSettings::parse(map).map_err(|e| ReconcileError::Profile {
            file: file.to_string(),
            key: format!("dirsnap.profile.{}", e.key),
            expected: e.expected,
            found: e.found,
        })?;
        let mut p = Profile::default();
        if let Some(v) = settings.application_linking_id {
            p.application_linking_id = v;
        }
        if let Some(v) = settings.anchor_encoding {
            p.anchor_encoding = v;
        }
        if let Some(v) = settings.active_from {
            p.active_from = v;
        }
        if let Some(v) = settings.group_name_attribute {
            p.group_name_attribute = v;
        }
        for (target, sources) in settings.default_ad_bind {
            if sources.is_empty() {
                p.default_ad_bind.remove(&target);
            } else {
                p.default_ad_bind.insert(target, sources);
            }
        }
        if let Some(v) = settings.convert_replace {
            p.convert_replace = v;
        }
        if let Some(v) = settings.recreated_live_user {
            p.recreated_live_user = v;
        }
        if let Some(v) = settings.m365_linkage {
            p.m365_linkage = v;
        }
        if let Some(v) = settings.m365_soft_deleted_reserves {
            p.m365_soft_deleted_reserves = v;
        }
        if let Some(v) = settings.m365_enable_unblocks {
            p.m365_enable_unblocks = v;
        }
        if let Some(v) = settings.restore_requires_same_linking_id {
            p.restore_requires_same_linking_id = v;
        }
        match settings.restore_method {
            None => {}
            Some(Some(method)) => p.restore_method = method.as_str().to_string(),
            // The mock's RFC behaviour; Directory Sync restores, so the engine needs a method.
            Some(None) => {
                return Err(ReconcileError::Profile {
                    file: file.to_string(),
                    key: "dirsnap.profile.restore_method".into(),
                    expected: "an HTTP method (PATCH, PUT, POST) for the engine's restore actions"
                        .into(),
                    found: "null".into(),
                });
            }
        }
        if let Some(v) = settings.pending_delete_method {
            p.pending_delete_method = v;
        }
        p.attribute_paths.extend(settings.attribute_paths);
        if let Some(v) = settings.token_warning_days {
            p.token_warning_days = v;
        }
        let notes = settings
            .unknown
            .iter()
            .map(|key| {
                format!(
                    "{file}: dirsnap.profile.{key} is not a profile key this dirsnap knows; ignored (known: {})",
                    profile_key_list()
                )
            })
            .collect();
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
