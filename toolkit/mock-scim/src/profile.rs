//! The behaviour profile: every IIJ ID rule the mock applies, in one place.
//!
//! Each field is one rule of docs/mock-scim.md ("IIJ profile") and, where the rule is an
//! assumption rather than documented IIJ behaviour, one row of docs/iij-assumptions.md.
//! [`Profile::iij`] is the default; [`Profile::rfc`] is plain RFC 7643/7644 behaviour for
//! generic SCIM clients. Any rule can be switched with the `dirsnap.profile` mapping of
//! config.yml (or `--profile-set KEY=VALUE`), see [`Profile::apply`].

use crate::error::MockError;
use chrono::FixedOffset;
use dirsnap_config::profile::{ProfileSettings, ProfileValueError};
use dirsnap_model::scim_json::LinkingIdPath;
use serde_json::{Map, Value};

/// What `DELETE /Users/{id}` does, and how a client brings a pending-deletion user back:
/// shared setting types (`dirsnap.profile` is parsed by `dirsnap_config::profile` for every
/// part of dirsnap), applied by this crate's own rules.
pub use dirsnap_config::profile::{RestoreMethod, UserDelete};

/// The rules the mock applies. See the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// `iij` or `rfc` (what the rules started from; overrides may follow).
    pub name: String,
    pub user_delete: UserDelete,
    /// Pending-deletion users appear in `GET /Users` and `GET /Users/{id}`.
    pub pending_deletion_listed: bool,
    /// How a pending-deletion user is restored over SCIM (Directory Sync's "re-enters the
    /// scope", ds/17896820); `None` (the RFC profile): not at all.
    pub restore_method: Option<RestoreMethod>,
    /// An unset `externalId` reads back as `""` (api/19001059).
    pub external_id_unset_as_empty: bool,
    /// Offset of `meta.created` / `meta.lastModified` (`+09:00` at IIJ ID).
    pub timestamp_offset: FixedOffset,
    /// Largest page a list answers; `count` above it is capped.
    pub page_size_cap: usize,
    /// The tenant's registered domains; a userName in another domain answers 404
    /// `organization is not found.`. `None`: every domain is accepted.
    pub tenant_domains: Option<Vec<String>>,
    /// Group members get `display` (the member's displayName) and `$ref` when the client
    /// sent none (IIJ ID documents both as server-provided, api/19001103).
    pub member_enrichment: bool,
    /// Multi-valued user attributes written as `[]` when unset (api/19000993).
    pub empty_multi_valued: Vec<String>,
    /// An empty `password` is refused (api/19000993).
    pub reject_empty_password: bool,
    /// Where the application-linking ID lives (A1); used when dumping to a snapshot.
    pub linking_id: LinkingIdPath,
}

impl Default for Profile {
    fn default() -> Self {
        Profile::iij()
    }
}

const JST_SECONDS: i32 = 9 * 3600;

impl Profile {
    /// IIJ ID as documented, with the assumptions of docs/iij-assumptions.md.
    pub fn iij() -> Profile {
        Profile {
            name: "iij".into(),
            user_delete: UserDelete::PendingDeletion,
            pending_deletion_listed: false,
            restore_method: Some(RestoreMethod::Patch),
            external_id_unset_as_empty: true,
            timestamp_offset: FixedOffset::east_opt(JST_SECONDS).unwrap_or(utc()),
            page_size_cap: 100,
            tenant_domains: None,
            member_enrichment: true,
            empty_multi_valued: ["phoneNumbers", "ims", "entitlements", "x509Certificates"]
                .map(String::from)
                .to_vec(),
            reject_empty_password: true,
            linking_id: LinkingIdPath::default(),
        }
    }

    /// Plain RFC 7643/7644: hard deletes, unset attributes absent, UTC timestamps.
    pub fn rfc() -> Profile {
        Profile {
            name: "rfc".into(),
            user_delete: UserDelete::Hard,
            pending_deletion_listed: false,
            restore_method: None,
            external_id_unset_as_empty: false,
            timestamp_offset: utc(),
            page_size_cap: 1000,
            tenant_domains: None,
            member_enrichment: false,
            empty_multi_valued: Vec::new(),
            reject_empty_password: false,
            linking_id: LinkingIdPath::default(),
        }
    }

    /// `iij` or `rfc`.
    pub fn named(name: &str) -> Result<Profile, MockError> {
        match name {
            "iij" => Ok(Profile::iij()),
            "rfc" => Ok(Profile::rfc()),
            other => Err(MockError::Profile {
                key: "--profile".into(),
                message: format!("unknown profile {other:?}; expected \"iij\" or \"rfc\""),
            }),
        }
    }

    /// Applies overrides from a `dirsnap.profile` mapping. Keys the mock does not read
    /// belong to other parts of dirsnap and are left alone; a key with a wrong value is an
    /// error naming the key.
    pub fn apply(&mut self, overrides: &Map<String, Value>) -> Result<(), MockError> {
        let settings = ProfileSettings::parse(overrides).map_err(profile_error)?;
        self.apply_settings(settings);
        Ok(())
    }

    /// Applies one `KEY=VALUE` override; VALUE is JSON when it parses as JSON, else a string.
    pub fn apply_assignment(&mut self, assignment: &str) -> Result<(), MockError> {
        let Some((key, raw)) = assignment.split_once('=') else {
            return Err(MockError::Profile {
                key: assignment.into(),
                message: "expected KEY=VALUE".into(),
            });
        };
        let key = key.trim();
        if !KNOWN_KEYS.contains(&key) {
            return Err(MockError::Profile {
                key: key.into(),
                message: format!("unknown key; known keys: {}", KNOWN_KEYS.join(", ")),
            });
        }
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.into()));
        let mut settings = ProfileSettings::default();
        settings.set(key, &value).map_err(profile_error)?;
        self.apply_settings(settings);
        Ok(())
    }

    /// The settings the mock's rules read; the others are the engine's, the exporters' or
    /// check's.
    fn apply_settings(&mut self, settings: ProfileSettings) {
        if let Some(v) = settings.user_delete {
            self.user_delete = v;
        }
        if let Some(v) = settings.pending_deletion_listed {
            self.pending_deletion_listed = v;
        }
        if let Some(v) = settings.restore_method {
            self.restore_method = v;
        }
        if let Some(v) = settings.external_id_unset_as_empty {
            self.external_id_unset_as_empty = v;
        }
        if let Some(offset) = settings
            .timestamp_offset_seconds
            .and_then(FixedOffset::east_opt)
        {
            self.timestamp_offset = offset;
        }
        if let Some(v) = settings.page_size_cap {
            self.page_size_cap = v;
        }
        if let Some(v) = settings.tenant_domains {
            self.tenant_domains = v;
        }
        if let Some(v) = settings.member_enrichment {
            self.member_enrichment = v;
        }
        if let Some(v) = settings.empty_multi_valued {
            self.empty_multi_valued = v;
        }
        if let Some(v) = settings.reject_empty_password {
            self.reject_empty_password = v;
        }
        if let Some(path) = settings.application_linking_id {
            self.linking_id = LinkingIdPath::parse(&path);
        }
    }

    /// Whether `user_name`'s domain is registered (always true without a domain list).
    pub fn domain_accepted(&self, user_name: &str) -> bool {
        let Some(domains) = &self.tenant_domains else {
            return true;
        };
        let Some((_, domain)) = user_name.rsplit_once('@') else {
            return false;
        };
        domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// The `dirsnap.profile` keys the mock reads.
pub const KNOWN_KEYS: &[&str] = &[
    "user_delete",
    "pending_deletion_listed",
    "restore_method",
    "external_id_unset",
    "timestamp_offset",
    "page_size_cap",
    "tenant_domains",
    "member_enrichment",
    "empty_multi_valued",
    "reject_empty_password",
    "application_linking_id",
];

fn profile_error(e: ProfileValueError) -> MockError {
    MockError::Profile {
        key: e.key,
        message: format!("expected {}, found {}", e.expected, e.found),
    }
}

fn utc() -> FixedOffset {
    use chrono::Offset as _;
    chrono::Utc.fix()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_switch_each_rule() {
        let mut p = Profile::iij();
        let overrides = json!({
            "user_delete": "hard",
            "pending_deletion_listed": true,
            "external_id_unset": "absent",
            "timestamp_offset": "Z",
            "page_size_cap": 7,
            "tenant_domains": ["Example.JP"],
            "member_enrichment": false,
            "thresholds_belong_to_someone_else": 1,
        });
        p.apply(overrides.as_object().unwrap()).unwrap();
        assert_eq!(p.user_delete, UserDelete::Hard);
        assert!(p.pending_deletion_listed);
        assert!(!p.external_id_unset_as_empty);
        assert_eq!(p.timestamp_offset.local_minus_utc(), 0);
        assert_eq!(p.page_size_cap, 7);
        assert!(p.domain_accepted("a@example.jp"));
        assert!(!p.domain_accepted("a@example.com"));
        assert!(!p.domain_accepted("no-domain"));
        assert!(!p.member_enrichment);
    }

    #[test]
    fn wrong_values_name_the_key() {
        let mut p = Profile::iij();
        let err = p.apply_assignment("page_size_cap=0").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid profile setting page_size_cap: expected a positive integer, found 0"
        );
        let err = p.apply_assignment("nope=1").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid profile setting nope: unknown key")
        );
        p.apply_assignment("timestamp_offset=-05:30").unwrap();
        assert_eq!(p.timestamp_offset.local_minus_utc(), -(5 * 3600 + 30 * 60));
        p.apply_assignment("tenant_domains=a.jp,b.jp").unwrap();
        assert_eq!(p.tenant_domains, Some(vec!["a.jp".into(), "b.jp".into()]));
        assert!(Profile::named("okta").is_err());
    }

    #[test]
    fn iij_defaults_are_the_documented_ones() {
        let p = Profile::iij();
        assert_eq!(p.user_delete, UserDelete::PendingDeletion);
        assert_eq!(p.timestamp_offset.local_minus_utc(), 9 * 3600);
        assert_eq!(p.page_size_cap, 100);
        assert!(p.tenant_domains.is_none());
        assert!(p.external_id_unset_as_empty);
        assert!(!p.pending_deletion_listed);
    }
}
