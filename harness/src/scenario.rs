//! Scenario files (`fixtures/scenarios/*.yml`): AD objects, IIJ ID objects, Microsoft 365
//! accounts, config, and the expected actions and findings, written by hand from the
//! documented behaviour. docs/scenarios.md describes the format and maps every precaution and
//! lifecycle row to its scenarios.
//!
//! This module turns a scenario into rows ([`AdSpec::rows`], [`IidSpec::rows`]) or into
//! snapshot directories on disk ([`materialize`]), and checks a plan (as `plan.json`) against
//! the expectations ([`check`]). The runner (`dirsnap-harness scenarios`, and
//! toolkit/cli/tests/scenarios.rs) feeds the materialized snapshots to `dirsnap simulate`:
//! reconcile, replay onto the mock, dump, reconcile again.

use chrono::{DateTime, Utc};
use dirsnap_config::DsConfig;
use dirsnap_model::scim_json::{ColumnPaths, user_from_columns};
use dirsnap_model::{
    AdGroup, AdUser, Filters, Guid, IidGroup, IidUser, M365User, MemberKind, Membership, Source,
};
use dirsnap_snapshot::{Ad, Iid, M365, SnapshotMeta, SnapshotWriter};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The config a scenario gets when it gives none.
pub const DEFAULT_CONFIG: &str = r#"
ad:
  ldap:
    filter:
      user: 'objectClass=user'
      group: 'objectClass=group'
iid:
  scim:
    attribute:
      user:
        default:
          emails:
            - primary: true
        ad_bind:
          userName: userPrincipalName
          externalId: userPrincipalName
          downstreamId:
            - mS-DS-ConsistencyGuid
            - objectGUID
          displayName: displayName
          name:
            familyName: sn
            givenName: givenName
          emails: mail
          title: title
dirsnap:
  instance: main
"#;

/// When a scenario gives no `now`.
pub const DEFAULT_NOW: &str = "2026-11-27T00:00:00Z";

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Snapshot {
        path: PathBuf,
        source: dirsnap_snapshot::SnapshotError,
    },
}

fn invalid(path: &Path, message: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    /// The instant the plan reasons at (RFC 3339); also when the AD snapshots were taken.
    #[serde(default)]
    pub now: Option<String>,
    /// `normal` (needs `previous_iid`) or `recovery` (default).
    #[serde(default)]
    pub mode: Option<String>,
    /// config.yml text (default [`DEFAULT_CONFIG`]).
    #[serde(default)]
    pub config: Option<String>,
    /// Single-instance shorthand.
    #[serde(default)]
    pub ad: Option<AdSpec>,
    #[serde(default)]
    pub previous_ad: Option<AdSpec>,
    #[serde(default)]
    pub instances: Vec<InstanceSpec>,
    #[serde(default)]
    pub iid: IidSpec,
    #[serde(default)]
    pub previous_iid: Option<IidSpec>,
    /// Earlier IID snapshots (`--history`), each taken at its `taken_at`.
    #[serde(default)]
    pub history: Vec<HistorySpec>,
    /// The console's pending-deletion list (`--pending-list`), one row per user; written as
    /// the CSV docs/pending-deletion.md describes.
    #[serde(default)]
    pub pending_list: Option<Vec<PendingRowSpec>>,
    #[serde(default)]
    pub m365: Option<Vec<M365Spec>>,
    #[serde(default)]
    pub allow_thresholds: Vec<String>,
    /// When the IIJ ID access token expires (TOKEN_EXPIRING); engine-level only.
    #[serde(default)]
    pub token_expires_at: Option<String>,
    pub expect: Expect,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    pub name: String,
    #[serde(default)]
    pub config: Option<String>,
    pub ad: AdSpec,
    #[serde(default)]
    pub previous_ad: Option<AdSpec>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct AdSpec {
    #[serde(default)]
    pub domain: Option<String>,
    /// Filters the snapshot was exported with; default: the config's.
    #[serde(default)]
    pub export_user_filter: Option<String>,
    #[serde(default)]
    pub export_group_filter: Option<String>,
    #[serde(default)]
    pub users: Vec<AdUserSpec>,
    #[serde(default)]
    pub groups: Vec<AdGroupSpec>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct AdUserSpec {
    pub sam: String,
    pub guid: u32,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub no_mail: bool,
    #[serde(default)]
    pub sn: Option<String>,
    #[serde(default)]
    pub given: Option<String>,
    #[serde(default)]
    pub display: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub ou: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub expires: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub consistency_guid: Option<u32>,
    /// Extra raw attributes (name → value).
    #[serde(default)]
    pub raw: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct AdGroupSpec {
    pub name: String,
    pub guid: u32,
    #[serde(default)]
    pub ou: Option<String>,
    /// sAMAccountNames of users, `group:NAME` for nested groups, `dn:DN` for outsiders.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct IidSpec {
    #[serde(default)]
    pub users: Vec<IidUserSpec>,
    #[serde(default)]
    pub groups: Vec<IidGroupSpec>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct IidUserSpec {
    pub id: String,
    #[serde(rename = "userName")]
    pub user_name: String,
    #[serde(rename = "externalId", default)]
    pub external_id: Option<String>,
    /// Literal, or `guid:N` for the base64 of AD test GUID N.
    #[serde(rename = "downstreamId", default)]
    pub downstream_id: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub pending: bool,
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    #[serde(rename = "familyName", default)]
    pub family_name: Option<String>,
    #[serde(rename = "givenName", default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub title: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct IidGroupSpec {
    pub id: String,
    pub name: String,
    /// IIJ ID user ids.
    #[serde(default)]
    pub members: Vec<String>,
    /// The enterprise group extension's description and email.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// An earlier IID snapshot: IIJ ID users and groups as listed then.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct HistorySpec {
    /// When it was taken (RFC 3339); must not be after `now`.
    pub taken_at: String,
    #[serde(default)]
    pub users: Vec<IidUserSpec>,
    #[serde(default)]
    pub groups: Vec<IidGroupSpec>,
}

impl HistorySpec {
    pub fn iid(&self) -> IidSpec {
        IidSpec {
            users: self.users.clone(),
            groups: self.groups.clone(),
        }
    }
}

/// One row of the console's pending-deletion list.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct PendingRowSpec {
    #[serde(rename = "userName")]
    pub user_name: String,
    #[serde(rename = "externalId", default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    /// As the file has it (RFC 3339 here).
    #[serde(default)]
    pub deleted_at: Option<String>,
}

/// The CSV `--pending-list` reads (docs/pending-deletion.md), from a scenario's rows.
pub fn pending_list_csv(rows: &[PendingRowSpec]) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::from("userName,externalId,id,deleted_at\n");
    for r in rows {
        let cells = [
            field(&r.user_name),
            field(&r.external_id.as_deref().map(value).unwrap_or_default()),
            field(r.id.as_deref().unwrap_or_default()),
            field(r.deleted_at.as_deref().unwrap_or_default()),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct M365Spec {
    pub upn: String,
    #[serde(default)]
    pub blocked: bool,
    #[serde(rename = "immutableId", default)]
    pub immutable_id: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    /// The SKUs assigned to the account.
    #[serde(default)]
    pub licenses: Vec<String>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Every action, as `op subject`, `op(rule) subject`, and for member actions
    /// `op subject [member, member]`. The plan must have exactly these.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Every finding, as `CODE subject` (`CODE(low) subject` for low confidence). Exactly.
    #[serde(default)]
    pub findings: Vec<String>,
    #[serde(default)]
    pub blocked: Option<bool>,
    /// Substrings that must appear in the listed skipped entries' reasons.
    #[serde(default)]
    pub skipped: Vec<String>,
    /// Replaying the plan onto the mock and reconciling again leaves no action (default
    /// true). A scenario that expects otherwise says why in `convergence_note`.
    #[serde(default = "yes")]
    pub converges: bool,
    #[serde(default)]
    pub convergence_note: Option<String>,
    /// Actions the second plan still has when `converges: false` (same line format).
    #[serde(default)]
    pub after_actions: Vec<String>,
}

/// The `.yml` files among `paths` (directories are listed, sorted by name).
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|source| ScenarioError::Io {
                path: p.clone(),
                source,
            })?;
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().and_then(|x| x.to_str()) == Some("yml"))
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads and parses a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_saphyr::from_str(&text).map_err(|e| invalid(path, e.to_string()))
}

/// AD test GUID `n`: a valid version-4 layout with `n` in the first bytes.
pub fn guid(n: u32) -> Guid {
    let mut b = [0u8; 16];
    b[0..4].copy_from_slice(&n.to_le_bytes());
    b[6] = 0x40;
    b[8] = 0x80;
    b[15] = 0x5a;
    Guid(b)
}

pub fn guid_b64(n: u32) -> String {
    guid(n).to_base64()
}

/// `guid:N` → the base64 of test GUID N; anything else as written.
pub fn value(v: &str) -> String {
    match v.strip_prefix("guid:").and_then(|n| n.parse().ok()) {
        Some(n) => guid_b64(n),
        None => v.to_string(),
    }
}

pub fn time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

/// An AD snapshot's rows.
#[derive(Debug, Clone, Default)]
pub struct AdRows {
    pub users: Vec<AdUser>,
    pub groups: Vec<AdGroup>,
    pub memberships: Vec<Membership>,
    pub filters: Filters,
    pub domain: String,
}

/// An IID snapshot's rows.
#[derive(Debug, Clone, Default)]
pub struct IidRows {
    pub users: Vec<IidUser>,
    pub groups: Vec<IidGroup>,
    pub memberships: Vec<Membership>,
}

impl AdSpec {
    pub fn rows(&self, taken_at: DateTime<Utc>, config: &DsConfig) -> Result<AdRows, String> {
        let domain = self
            .domain
            .clone()
            .unwrap_or_else(|| "example.co.jp".into());
        let base: String = domain
            .split('.')
            .map(|p| format!("DC={p}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut users = Vec::new();
        let mut by_sam = BTreeMap::new();
        for u in &self.users {
            let upn = u
                .upn
                .clone()
                .unwrap_or_else(|| format!("{}@{domain}", u.sam));
            let display = u.display.clone().unwrap_or_else(|| u.sam.clone());
            let dn = format!(
                "CN={display},OU={},{base}",
                u.ou.clone().unwrap_or_else(|| "Staff".into())
            );
            let mail = if u.no_mail {
                None
            } else {
                Some(u.mail.clone().unwrap_or_else(|| upn.clone()))
            };
            let uac = if u.disabled { 514 } else { 512 };
            let expires = u.expires.as_deref().map(time).transpose()?;
            let mut raw = serde_json::Map::new();
            raw.insert(
                "objectClass".into(),
                json!(["top", "person", "organizationalPerson", "user"]),
            );
            for (k, v) in &u.raw {
                raw.insert(k.clone(), json!([v]));
            }
            if let Some(n) = u.consistency_guid {
                raw.insert(
                    "mS-DS-ConsistencyGuid".into(),
                    json!([{"base64": guid_b64(n)}]),
                );
            }
            let row = AdUser {
                object_guid: guid(u.guid),
                object_sid: None,
                dn: dn.clone(),
                domain: domain.clone(),
                sam_account_name: Some(u.sam.clone()),
                user_principal_name: Some(upn),
                mail,
                given_name: u.given.clone(),
                sn: u.sn.clone(),
                display_name: Some(display),
                department: u.department.clone(),
                title: u.title.clone(),
                telephone_number: None,
                mobile: None,
                consistency_guid: u.consistency_guid.map(|n| guid(n).as_bytes().to_vec()),
                user_account_control: Some(uac),
                enabled: !u.disabled,
                account_expires: expires,
                expired: expires.is_some_and(|e| e <= taken_at),
                when_created: None,
                when_changed: None,
                usn_changed: None,
                is_deleted: u.deleted,
                raw: Value::Object(raw).to_string(),
            };
            by_sam.insert(u.sam.clone(), (row.object_guid, dn));
            users.push(row);
        }
        let mut groups = Vec::new();
        let mut memberships = Vec::new();
        let group_dn = |g: &AdGroupSpec| {
            format!(
                "CN={},OU={},{base}",
                g.name,
                g.ou.clone().unwrap_or_else(|| "Groups".into())
            )
        };
        for g in &self.groups {
            groups.push(AdGroup {
                object_guid: guid(g.guid),
                dn: group_dn(g),
                domain: domain.clone(),
                sam_account_name: Some(g.name.clone()),
                cn: Some(g.name.clone()),
                description: g.description.clone(),
                mail: g.mail.clone(),
                group_type: Some(-2_147_483_646),
                raw: json!({"objectClass": ["top", "group"]}).to_string(),
                ..AdGroup::default()
            });
            for m in &g.members {
                let row = if let Some(name) = m.strip_prefix("group:") {
                    let child = self.groups.iter().find(|x| x.name == name).ok_or_else(|| {
                        format!("group {}: member group {name} is not defined", g.name)
                    })?;
                    Membership {
                        group_key: guid(g.guid).to_string(),
                        member_key: Some(guid(child.guid).to_string()),
                        member_kind: MemberKind::Group,
                        member_ref: Some(group_dn(child)),
                        member_display: None,
                        in_scope: true,
                    }
                } else if let Some(dn) = m.strip_prefix("dn:") {
                    Membership {
                        group_key: guid(g.guid).to_string(),
                        member_key: None,
                        member_kind: MemberKind::Unknown,
                        member_ref: Some(dn.into()),
                        member_display: None,
                        in_scope: false,
                    }
                } else {
                    let (gd, dn) = by_sam
                        .get(m)
                        .cloned()
                        .ok_or_else(|| format!("group {}: member {m} is not a user", g.name))?;
                    Membership {
                        group_key: guid(g.guid).to_string(),
                        member_key: Some(gd.to_string()),
                        member_kind: MemberKind::User,
                        member_ref: Some(dn),
                        member_display: None,
                        in_scope: true,
                    }
                };
                memberships.push(row);
            }
        }
        let filters = Filters {
            user: self
                .export_user_filter
                .clone()
                .or_else(|| config.ad.user_filter.as_ref().map(|f| f.value.clone())),
            group: self
                .export_group_filter
                .clone()
                .or_else(|| config.ad.group_filter.as_ref().map(|f| f.value.clone())),
        };
        Ok(AdRows {
            users,
            groups,
            memberships,
            filters,
            domain,
        })
    }
}

impl IidSpec {
    /// Rows with `raw` as IIJ ID would send them (the reconcile profile's JSON form).
    pub fn rows(&self) -> IidRows {
        let users: Vec<IidUser> = self
            .users
            .iter()
            .map(|u| {
                let mut row = IidUser {
                    id: u.id.clone(),
                    user_name: u.user_name.clone(),
                    external_id: u.external_id.as_deref().map(value),
                    downstream_id: u.downstream_id.as_deref().map(value),
                    active: u.active,
                    display_name: u.display_name.clone(),
                    family_name: u.family_name.clone(),
                    given_name: u.given_name.clone(),
                    email: u.emails.first().cloned(),
                    emails: u.emails.clone(),
                    title: u.title.clone(),
                    pending_deletion: u.pending,
                    ..IidUser::default()
                };
                row.raw = user_from_columns(&row, &ColumnPaths::default()).to_string();
                row
            })
            .collect();
        let groups = self
            .groups
            .iter()
            .map(|g| {
                let mut raw = json!({"id": g.id, "displayName": g.name});
                if g.description.is_some() || g.email.is_some() {
                    let mut extension = serde_json::Map::new();
                    for (name, value) in [("description", &g.description), ("email", &g.email)] {
                        if let Some(v) = value {
                            extension.insert(name.into(), json!(v));
                        }
                    }
                    raw[dirsnap_model::URN_IIJ_ENTERPRISE_GROUP] = Value::Object(extension);
                }
                IidGroup {
                    id: g.id.clone(),
                    display_name: g.name.clone(),
                    description: g.description.clone(),
                    raw: raw.to_string(),
                    ..IidGroup::default()
                }
            })
            .collect();
        let memberships = self
            .groups
            .iter()
            .flat_map(|g| {
                g.members.iter().map(|m| Membership {
                    group_key: g.id.clone(),
                    member_key: Some(m.clone()),
                    member_kind: MemberKind::User,
                    member_ref: Some(m.clone()),
                    member_display: None,
                    in_scope: true,
                })
            })
            .collect();
        IidRows {
            users,
            groups,
            memberships,
        }
    }
}

pub fn m365_rows(specs: &[M365Spec]) -> Vec<M365User> {
    specs
        .iter()
        .enumerate()
        .map(|(i, m)| M365User {
            id: format!("m365-{i}"),
            user_principal_name: m.upn.clone(),
            account_enabled: Some(!m.blocked),
            immutable_id: m.immutable_id.as_deref().map(value),
            immutable_id_known: true,
            deleted: m.deleted,
            licenses: m.licenses.clone(),
            ..M365User::default()
        })
        .collect()
}

/// One Directory Sync instance of a scenario, with its parsed config.
pub struct InstanceRows {
    pub name: String,
    pub config_text: String,
    pub config: DsConfig,
    pub ad: AdRows,
    pub previous_ad: Option<AdRows>,
}

impl Scenario {
    pub fn now(&self, path: &Path) -> Result<DateTime<Utc>, ScenarioError> {
        time(self.now.as_deref().unwrap_or(DEFAULT_NOW))
            .map_err(|e| invalid(path, format!("now: {e}")))
    }

    /// Every instance (the single-instance shorthand first), configs parsed, rows built.
    pub fn instances(&self, path: &Path) -> Result<Vec<InstanceRows>, ScenarioError> {
        let now = self.now(path)?;
        let default_cfg = self.config.clone().unwrap_or_else(|| DEFAULT_CONFIG.into());
        let mut specs: Vec<(Option<String>, String, &AdSpec, Option<&AdSpec>)> = Vec::new();
        if let Some(ad) = &self.ad {
            specs.push((None, default_cfg.clone(), ad, self.previous_ad.as_ref()));
        }
        for i in &self.instances {
            specs.push((
                Some(i.name.clone()),
                i.config.clone().unwrap_or_else(|| default_cfg.clone()),
                &i.ad,
                i.previous_ad.as_ref(),
            ));
        }
        let mut out = Vec::new();
        for (name, text, ad, prev) in specs {
            let label = format!("{}#{}", path.display(), name.as_deref().unwrap_or("config"));
            let config = dirsnap_config::parse_config(Path::new(&label), &text)
                .map_err(|e| invalid(path, e.to_string()))?;
            let name = name
                .or_else(|| config.dirsnap.instance.clone())
                .unwrap_or_else(|| "main".into());
            let ad_rows = ad
                .rows(now, &config)
                .map_err(|e| invalid(path, format!("instance {name}: ad: {e}")))?;
            let prev_rows = prev
                .map(|p| p.rows(now, &config))
                .transpose()
                .map_err(|e| invalid(path, format!("instance {name}: previous_ad: {e}")))?;
            out.push(InstanceRows {
                name,
                config_text: text,
                config,
                ad: ad_rows,
                previous_ad: prev_rows,
            });
        }
        if out.is_empty() {
            return Err(invalid(path, "no `ad` and no `instances`: nothing to sync"));
        }
        Ok(out)
    }
}

/// A scenario written out as files, and the `dirsnap` arguments that read them.
#[derive(Debug, Clone)]
pub struct Materialized {
    pub config: PathBuf,
    pub ad: Vec<PathBuf>,
    pub previous_ad: Vec<PathBuf>,
    pub iid: PathBuf,
    pub previous_iid: Option<PathBuf>,
    pub history: Vec<PathBuf>,
    pub pending_list: Option<PathBuf>,
    pub m365: Option<PathBuf>,
    pub mode: Option<String>,
    pub as_of: String,
    pub allow_thresholds: Vec<String>,
}

impl Materialized {
    /// The arguments `dirsnap reconcile` / `simulate` take for these inputs (no `--out`).
    pub fn args(&self) -> Vec<String> {
        let mut a = vec!["--config".to_string(), self.config.display().to_string()];
        for p in &self.ad {
            a.extend(["--ad".into(), p.display().to_string()]);
        }
        for p in &self.previous_ad {
            a.extend(["--previous-ad".into(), p.display().to_string()]);
        }
        a.extend(["--iid".into(), self.iid.display().to_string()]);
        if let Some(p) = &self.previous_iid {
            a.extend(["--previous-iid".into(), p.display().to_string()]);
        }
        for p in &self.history {
            a.extend(["--history".into(), p.display().to_string()]);
        }
        if let Some(p) = &self.pending_list {
            a.extend(["--pending-list".into(), p.display().to_string()]);
        }
        if let Some(p) = &self.m365 {
            a.extend(["--m365".into(), p.display().to_string()]);
        }
        if let Some(m) = &self.mode {
            a.extend(["--mode".into(), m.clone()]);
        }
        a.extend(["--as-of".into(), self.as_of.clone()]);
        for t in &self.allow_thresholds {
            a.extend(["--allow-threshold".into(), t.clone()]);
        }
        a
    }
}

fn snap_err(path: &Path) -> impl Fn(dirsnap_snapshot::SnapshotError) -> ScenarioError + '_ {
    move |source| ScenarioError::Snapshot {
        path: path.to_path_buf(),
        source,
    }
}

fn write_ad(
    dir: &Path,
    rows: &AdRows,
    inst: &InstanceRows,
    at: DateTime<Utc>,
) -> Result<(), ScenarioError> {
    let e = snap_err(dir);
    let mut w = SnapshotWriter::<Ad>::create(dir).map_err(&e)?;
    w.write_users(&rows.users).map_err(&e)?;
    w.write_groups(&rows.groups).map_err(&e)?;
    w.write_memberships(&rows.memberships).map_err(&e)?;
    w.commit(SnapshotMeta {
        source: Source {
            host: Some(format!("dc.{}", rows.domain)),
            base_dn: Some(
                rows.domain
                    .split('.')
                    .map(|p| format!("DC={p}"))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            domain: Some(rows.domain.clone()),
            tenant_url: None,
            instance: Some(inst.name.clone()),
        },
        taken_at: Some(at),
        config_digest: Some(inst.config.digest()),
        filters: rows.filters.clone(),
        // Instances other than --config's are reconciled with the config in their manifest.
        config: Some(inst.config.redacted_document()),
        notes: vec!["built from a scenario file by dirsnap-harness".into()],
    })
    .map_err(&e)?;
    Ok(())
}

fn write_iid(dir: &Path, rows: &IidRows, at: DateTime<Utc>) -> Result<(), ScenarioError> {
    let e = snap_err(dir);
    let mut w = SnapshotWriter::<Iid>::create(dir).map_err(&e)?;
    w.write_users(&rows.users).map_err(&e)?;
    w.write_groups(&rows.groups).map_err(&e)?;
    w.write_memberships(&rows.memberships).map_err(&e)?;
    w.commit(SnapshotMeta {
        source: Source {
            tenant_url: Some("https://scim.auth.iij.jp/scim/v2/".into()),
            ..Source::default()
        },
        taken_at: Some(at),
        config_digest: None,
        filters: Filters::default(),
        config: None,
        notes: vec!["built from a scenario file by dirsnap-harness".into()],
    })
    .map_err(&e)?;
    Ok(())
}

/// Writes the scenario's config(s) and snapshots under `dir` (which must not exist).
pub fn materialize(sc: &Scenario, path: &Path, dir: &Path) -> Result<Materialized, ScenarioError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ScenarioError::Io { path: p, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let now = sc.now(path)?;
    let instances = sc.instances(path)?;
    let mut ad = Vec::new();
    let mut previous_ad = Vec::new();
    for (i, inst) in instances.iter().enumerate() {
        let p = dir.join(format!("ad-{i}-{}", sanitize(&inst.name)));
        write_ad(&p, &inst.ad, inst, now)?;
        ad.push(p);
        if let Some(prev) = &inst.previous_ad {
            let p = dir.join(format!("previous-ad-{i}-{}", sanitize(&inst.name)));
            write_ad(&p, prev, inst, now)?;
            previous_ad.push(p);
        }
    }
    let config = dir.join("config.yml");
    std::fs::write(&config, &instances[0].config_text).map_err(io(&config))?;
    let iid = dir.join("iid");
    write_iid(&iid, &sc.iid.rows(), now)?;
    let previous_iid = match &sc.previous_iid {
        Some(spec) => {
            let p = dir.join("previous-iid");
            write_iid(&p, &spec.rows(), now)?;
            Some(p)
        }
        None => None,
    };
    let mut history = Vec::new();
    for (i, h) in sc.history.iter().enumerate() {
        let at = time(&h.taken_at).map_err(|e| invalid(path, format!("history[{i}]: {e}")))?;
        let p = dir.join(format!("history-{i}"));
        write_iid(&p, &h.iid().rows(), at)?;
        history.push(p);
    }
    let pending_list = match &sc.pending_list {
        Some(rows) => {
            let p = dir.join("pending-list.csv");
            std::fs::write(&p, pending_list_csv(rows)).map_err(io(&p))?;
            Some(p)
        }
        None => None,
    };
    let m365 = match &sc.m365 {
        Some(specs) => {
            let p = dir.join("m365");
            let e = snap_err(&p);
            let mut w = SnapshotWriter::<M365>::create(&p).map_err(&e)?;
            w.write_users(&m365_rows(specs)).map_err(&e)?;
            w.commit(SnapshotMeta {
                source: Source::default(),
                taken_at: Some(now),
                config_digest: None,
                filters: Filters::default(),
                config: None,
                notes: Vec::new(),
            })
            .map_err(&e)?;
            drop(e);
            Some(p)
        }
        None => None,
    };
    Ok(Materialized {
        config,
        ad,
        previous_ad,
        iid,
        previous_iid,
        history,
        pending_list,
        m365,
        mode: sc.mode.clone(),
        as_of: now.to_rfc3339(),
        allow_thresholds: sc.allow_thresholds.clone(),
    })
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

// ------------------------------------------------------------------ expectations

/// An action of `plan.json` as a scenario line: `op(rule) subject [member, …]`.
pub fn action_line(a: &Value) -> String {
    let subject = a["userName"]
        .as_str()
        .or(a["displayName"].as_str())
        .unwrap_or_default();
    let mut s = format!(
        "{}({}) {subject}",
        a["op"].as_str().unwrap_or_default(),
        a["rule"].as_str().unwrap_or_default()
    );
    let mut members: Vec<&str> = a["members"]
        .as_array()
        .map(|m| m.iter().filter_map(|x| x["display"].as_str()).collect())
        .unwrap_or_default();
    if !members.is_empty() {
        members.sort_unstable();
        s.push_str(&format!(" [{}]", members.join(", ")));
    }
    s
}

/// A finding of `plan.json` as a scenario line: `CODE subject` or `CODE(low) subject`.
pub fn finding_line(f: &Value) -> String {
    let code = f["code"].as_str().unwrap_or_default();
    let subject = f["subject"].as_str().unwrap_or_default();
    if f["confidence"].as_str() == Some("low") {
        format!("{code}(low) {subject}")
    } else {
        format!("{code} {subject}")
    }
}

/// `op subject` matches any rule; `op(rule) subject` exactly.
fn matches_line(expected: &str, actual: &str) -> bool {
    if expected == actual {
        return true;
    }
    let (e_op, e_rest) = expected.split_once(' ').unwrap_or((expected, ""));
    let (a_op, a_rest) = actual.split_once(' ').unwrap_or((actual, ""));
    !e_op.contains('(') && a_op.split('(').next() == Some(e_op) && e_rest == a_rest
}

/// Exactly the expected lines, in any order.
pub fn compare_actions(expected: &[String], actual: &[String]) -> Result<(), String> {
    let mut unmatched: Vec<&String> = actual.iter().collect();
    let mut missing = Vec::new();
    for e in expected {
        match unmatched.iter().position(|a| matches_line(e, a)) {
            Some(i) => {
                unmatched.remove(i);
            }
            None => missing.push(e.clone()),
        }
    }
    if missing.is_empty() && unmatched.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "expected actions not in the plan: {missing:?}\nunexpected actions: {unmatched:?}"
        ))
    }
}

/// Checks a plan (`plan.json` as JSON) against a scenario's expectations.
pub fn check(expect: &Expect, plan: &Value) -> Result<(), String> {
    let actions: Vec<String> = plan["actions"]
        .as_array()
        .map(|v| v.iter().map(action_line).collect())
        .unwrap_or_default();
    let mut findings: Vec<String> = plan["findings"]
        .as_array()
        .map(|v| v.iter().map(finding_line).collect())
        .unwrap_or_default();
    findings.sort();
    let context = || {
        format!(
            "actual actions:\n  {}\nactual findings:\n  {}",
            actions.join("\n  "),
            findings.join("\n  ")
        )
    };
    compare_actions(&expect.actions, &actions).map_err(|e| format!("{e}\n{}", context()))?;
    let mut expected_findings = expect.findings.clone();
    expected_findings.sort();
    if findings != expected_findings {
        return Err(format!(
            "findings differ: expected {expected_findings:?}\n{}",
            context()
        ));
    }
    if let Some(b) = expect.blocked {
        let actual = plan["summary"]["blocked"].as_bool().unwrap_or(false);
        if actual != b {
            return Err(format!(
                "blocked: expected {b}, got {actual}\n{}",
                context()
            ));
        }
    }
    for s in &expect.skipped {
        let hit = plan["skipped"].as_array().is_some_and(|v| {
            v.iter().any(|k| {
                k["reason"].as_str().is_some_and(|r| r.contains(s.as_str()))
                    || k["name"].as_str().is_some_and(|n| n.contains(s.as_str()))
            })
        });
        if !hit {
            return Err(format!("no skipped entry mentions {s:?}\n{}", context()));
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ runner

/// What one scenario run found.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub name: String,
    pub actions: usize,
    pub findings: usize,
    pub converged: bool,
}

/// An unsigned JWT whose `exp` is `at`: enough for the token-expiry check, which reads the
/// claim without verifying (the signature is IIJ ID's business).
fn jwt_expiring(at: DateTime<Utc>) -> String {
    use base64::Engine as _;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(json!({"alg": "RS256", "typ": "JWT"})),
        b64(json!({"exp": at.timestamp(), "sub": "dirsnap-scenario"}))
    )
}

fn read_json(path: &Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs one scenario end to end with the `dirsnap` binary: materialize the snapshots, then
/// The law "no user is ever hard-deleted" (users go to pending deletion), on the mock's own
/// state after the replay: every IIJ ID user before is still there after, pending or not.
fn no_user_hard_deleted(name: &str, before: &Path, after: &Path) -> Result<(), String> {
    let ids = |dir: &Path| -> Result<std::collections::BTreeSet<String>, String> {
        let tables = dirsnap_snapshot::Snapshot::open(dir)
            .and_then(|s| s.read::<Iid>(&dirsnap_snapshot::ReadOptions::without_raw()))
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(tables.users.into_iter().map(|u| u.id).collect())
    };
    let (before, after) = (ids(before)?, ids(after)?);
    let gone: Vec<&String> = before.difference(&after).collect();
    if gone.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{name}: users hard-deleted by the replay (Directory Sync only ever puts users into pending deletion): {gone:?}"
        ))
    }
}

/// `dirsnap simulate` (reconcile → replay onto the in-process mock → dump → reconcile again);
/// the first plan must match `expect`, and the second must be empty unless the scenario says
/// it does not converge (then it must hold `after_actions`).
pub fn run(path: &Path, dirsnap: &Path, work: &Path) -> Result<RunOutcome, String> {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sc = load(path).map_err(|e| e.to_string())?;
    let inputs = materialize(&sc, path, &work.join("inputs")).map_err(|e| e.to_string())?;
    let mut args = inputs.args();
    if let Some(exp) = &sc.token_expires_at {
        let at = time(exp).map_err(|e| format!("{}: token_expires_at: {e}", path.display()))?;
        let secret = work.join("secret.yml");
        std::fs::write(
            &secret,
            format!("iid:\n  scim:\n    access_token: '{}'\n", jwt_expiring(at)),
        )
        .map_err(|e| format!("{}: {e}", secret.display()))?;
        args.extend(["--secret".into(), secret.display().to_string()]);
    }
    let out = work.join("simulate");
    let run = std::process::Command::new(dirsnap)
        .arg("simulate")
        .arg("--quiet")
        .args(&args)
        .arg("--out")
        .arg(&out)
        .env_remove("RUST_LOG")
        .env_remove("DIRSNAP_IID_TOKEN")
        .output()
        .map_err(|e| format!("{}: cannot run: {e}", dirsnap.display()))?;
    let stderr = String::from_utf8_lossy(&run.stderr);
    if !matches!(run.status.code(), Some(0 | 3)) {
        return Err(format!(
            "{name}: dirsnap simulate exited {:?}:\n{stderr}",
            run.status.code()
        ));
    }
    let plan = read_json(&out.join("plan/plan.json"))?;
    check(&sc.expect, &plan).map_err(|e| {
        format!(
            "{name} ({}): the plan is not what the scenario expects:\n{e}",
            sc.description.trim()
        )
    })?;
    let sim = read_json(&out.join("simulation.json"))?;
    no_user_hard_deleted(&name, &inputs.iid, &out.join("iid-after"))?;
    let converged = sim["converged"].as_bool().unwrap_or(false);
    let after = read_json(&out.join("plan-after/plan.json"))?;
    let after_lines: Vec<String> = after["actions"]
        .as_array()
        .map(|v| v.iter().map(action_line).collect())
        .unwrap_or_default();
    match (sc.expect.converges, converged) {
        (true, true) => {}
        (true, false) => {
            return Err(format!(
                "{name}: the plan does not converge: after replaying it onto the mock, a second reconcile still has\n  {}\nreplay failures: {}",
                after_lines.join("\n  "),
                sim["replay"]["failures"]
            ));
        }
        // A scenario that says it does not converge must really not: a law that cannot
        // fail proves nothing.
        (false, true) => {
            return Err(format!(
                "{name}: expected not to converge (converges: false), but the second plan has no action; remove converges: false, or say what should remain"
            ));
        }
        (false, false) => compare_actions(&sc.expect.after_actions, &after_lines).map_err(|e| {
            format!("{name}: the second plan (expected not to converge) differs:\n{e}")
        })?,
    }
    Ok(RunOutcome {
        name,
        actions: plan["actions"].as_array().map_or(0, Vec::len),
        findings: plan["findings"].as_array().map_or(0, Vec::len),
        converged,
    })
}
