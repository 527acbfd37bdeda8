//! The behaviour profile: every IIJ ID rule the mock applies, in one place.
//!
//! Each field is one rule of docs/mock-scim.md ("IIJ profile") and, where the rule is an
//! assumption rather than documented IIJ behaviour, one row of docs/iij-assumptions.md.
//! [`Profile::iij`] is the default; [`Profile::rfc`] is plain RFC 7643/7644 behaviour for
//! generic SCIM clients. Any rule can be switched with the `dirsnap.profile` mapping of
//! config.yml (or `--profile-set KEY=VALUE`), see [`Profile::apply`].

use crate::error::MockError;
use chrono::FixedOffset;
use dirsnap_model::scim_json::LinkingIdPath;
use serde_json::{Map, Value};

/// What `DELETE /Users/{id}` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDelete {
    /// The user becomes pending deletion (削除待ち): hidden, its login ID and externalId stay
    /// reserved, restorable (docs/iij-assumptions.md A3).
    PendingDeletion,
    /// The user is gone (RFC 7644 §3.6).
    Hard,
}

/// How a client brings a pending-deletion user back over SCIM (docs/iij-assumptions.md RC7:
/// not documented by IIJ; the reconcile engine reads the same `restore_method` key).
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

    /// Applies overrides from a `dirsnap.profile` mapping. Keys this crate does not know
    /// belong to other parts of dirsnap and are ignored; a known key with a wrong value is an
    /// error naming the key.
    pub fn apply(&mut self, overrides: &Map<String, Value>) -> Result<(), MockError> {
        for (key, value) in overrides {
            self.set(key, value)?;
        }
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
        self.set(key, &value)
    }

    fn set(&mut self, key: &str, value: &Value) -> Result<(), MockError> {
        let bad = |message: &str| MockError::Profile {
            key: key.into(),
            message: format!("{message}, found {value}"),
        };
        let boolean = || value.as_bool().ok_or_else(|| bad("expected true or false"));
        match key {
            "user_delete" => {
                self.user_delete = match value.as_str() {
                    Some("pending_deletion") => UserDelete::PendingDeletion,
                    Some("hard") => UserDelete::Hard,
                    _ => return Err(bad("expected \"pending_deletion\" or \"hard\"")),
                }
            }
            "pending_deletion_listed" => self.pending_deletion_listed = boolean()?,
            "restore_method" => {
                self.restore_method = match value.as_str().map(str::to_ascii_uppercase).as_deref() {
                    Some("PATCH") => Some(RestoreMethod::Patch),
                    Some("PUT") => Some(RestoreMethod::Put),
                    Some("POST") => Some(RestoreMethod::Post),
                    _ if value.is_null() => None,
                    _ => return Err(bad("expected \"PATCH\", \"PUT\", \"POST\" or null")),
                }
            }
            "external_id_unset" => {
                self.external_id_unset_as_empty = match value.as_str() {
                    Some("empty_string") => true,
                    Some("absent") => false,
                    _ => return Err(bad("expected \"empty_string\" or \"absent\"")),
                }
            }
            "timestamp_offset" => {
                self.timestamp_offset = value
                    .as_str()
                    .and_then(parse_offset)
                    .ok_or_else(|| bad("expected an offset such as \"+09:00\" or \"Z\""))?
            }
            "page_size_cap" => {
                self.page_size_cap = value
                    .as_u64()
                    .filter(|n| *n >= 1)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| bad("expected a positive integer"))?
            }
            "tenant_domains" => {
                self.tenant_domains = match value {
                    Value::Null => None,
                    Value::Array(items) => Some(
                        items
                            .iter()
                            .map(|d| d.as_str().map(str::to_ascii_lowercase))
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| bad("expected a list of domain names"))?,
                    ),
                    Value::String(s) => Some(
                        s.split(',')
                            .map(|d| d.trim().to_ascii_lowercase())
                            .filter(|d| !d.is_empty())
                            .collect(),
                    ),
                    _ => return Err(bad("expected a list of domain names or null")),
                }
            }
            "member_enrichment" => self.member_enrichment = boolean()?,
            "empty_multi_valued" => {
                self.empty_multi_valued = value
                    .as_array()
                    .and_then(|items| {
                        items
                            .iter()
                            .map(|d| d.as_str().map(String::from))
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| bad("expected a list of attribute names"))?
            }
            "reject_empty_password" => self.reject_empty_password = boolean()?,
            "application_linking_id" => {
                self.linking_id = value
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(LinkingIdPath::parse)
                    .ok_or_else(|| {
                        bad("expected an attribute path such as \"urn:…:User:downstreamId\"")
                    })?
            }
            _ => {}
        }
        Ok(())
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

fn utc() -> FixedOffset {
    use chrono::Offset as _;
    chrono::Utc.fix()
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return Some(utc());
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
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
