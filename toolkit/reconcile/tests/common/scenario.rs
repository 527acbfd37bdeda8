//! Scenario files (fixtures/scenarios/*.yml): AD objects, IIJ ID objects, Microsoft 365
//! accounts, config, and the expected actions and findings, written by hand from the
//! documented behaviour. docs/plan-format.md#scenarios describes the format.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use dirsnap_model::{AdGroup, AdUser, Guid, IidGroup, IidUser, M365User, MemberKind, Membership};
use serde::Deserialize;
use std::collections::BTreeMap;

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

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
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
    #[serde(default)]
    pub m365: Option<Vec<M365Spec>>,
    #[serde(default)]
    pub allow_thresholds: Vec<String>,
    #[serde(default)]
    pub token_expires_at: Option<String>,
    pub expect: Expect,
}

#[derive(Debug, Deserialize, Default)]
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
}

#[derive(Debug, Deserialize, Default)]
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
}

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

fn value(v: &str) -> String {
    match v.strip_prefix("guid:") {
        Some(n) => guid_b64(n.parse().unwrap()),
        None => v.to_string(),
    }
}

impl AdSpec {
    pub fn build(&self, taken_at: DateTime<Utc>, config: &DsConfig) -> Ad {
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
            let expires = u.expires.as_deref().map(t);
            let mut raw = serde_json::Map::new();
            raw.insert(
                "objectClass".into(),
                serde_json::json!(["top", "person", "organizationalPerson", "user"]),
            );
            for (k, v) in &u.raw {
                raw.insert(k.clone(), serde_json::json!([v]));
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
                raw: serde_json::Value::Object(raw).to_string(),
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
                group_type: Some(-2_147_483_646),
                raw: serde_json::json!({"objectClass": ["top", "group"]}).to_string(),
                ..AdGroup::default()
            });
            for m in &g.members {
                let row = if let Some(name) = m.strip_prefix("group:") {
                    let child = self
                        .groups
                        .iter()
                        .find(|x| x.name == name)
                        .expect("nested group defined");
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
                        .unwrap_or_else(|| panic!("member {m} is not a user"));
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
        let filters = dirsnap_model::Filters {
            user: self
                .export_user_filter
                .clone()
                .or_else(|| config.ad.user_filter.as_ref().map(|f| f.value.clone())),
            group: self
                .export_group_filter
                .clone()
                .or_else(|| config.ad.group_filter.as_ref().map(|f| f.value.clone())),
        };
        Ad {
            users,
            groups,
            memberships,
            edges: Vec::new(),
            filters,
            taken_at,
            domain: Some(domain),
        }
        .finish()
    }
}

impl IidSpec {
    pub fn build(&self) -> Iid {
        let profile = dirsnap_reconcile::profile::Profile::default();
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
                row.raw = dirsnap_reconcile::apply::user_to_json(&row, &profile).to_string();
                row
            })
            .collect();
        let groups = self
            .groups
            .iter()
            .map(|g| IidGroup {
                id: g.id.clone(),
                display_name: g.name.clone(),
                raw: serde_json::json!({"id": g.id, "displayName": g.name}).to_string(),
                ..IidGroup::default()
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
        Iid {
            users,
            groups,
            memberships,
            edges: Vec::new(),
        }
        .finish()
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
            ..M365User::default()
        })
        .collect()
}

/// An action as a scenario line.
pub fn action_line(a: &dirsnap_reconcile::Action) -> String {
    let subject = a
        .user_name
        .clone()
        .or(a.display_name.clone())
        .unwrap_or_default();
    let mut s = format!("{}({}) {subject}", a.op, a.rule);
    if !a.members.is_empty() {
        s.push_str(&format!(" [{}]", member_names(a).join(", ")));
    }
    s
}

/// Normalizes an expected line to the `op(rule) subject [..]` form when it names no rule.
fn matches_line(expected: &str, actual: &str) -> bool {
    if expected == actual {
        return true;
    }
    // `op subject` matches any rule.
    let (e_op, e_rest) = expected.split_once(' ').unwrap_or((expected, ""));
    let (a_op, a_rest) = actual.split_once(' ').unwrap_or((actual, ""));
    !e_op.contains('(') && a_op.split('(').next() == Some(e_op) && e_rest == a_rest
}

fn finding_line(f: &dirsnap_reconcile::Finding) -> String {
    match f.confidence {
        dirsnap_reconcile::Confidence::Low => format!("{}(low) {}", f.code, f.subject),
        dirsnap_reconcile::Confidence::High => format!("{} {}", f.code, f.subject),
    }
}

/// Runs one scenario file and checks its expectations; returns the plan.
pub fn run_file(path: &std::path::Path) -> Plan {
    let text = std::fs::read_to_string(path).unwrap();
    let sc: Scenario =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let now = t(sc.now.as_deref().unwrap_or("2026-11-27T00:00:00Z"));
    let default_cfg = sc
        .config
        .clone()
        .unwrap_or_else(|| DEFAULT_CONFIG.to_string());
    let mut setups = Vec::new();
    if let Some(ad) = &sc.ad {
        let config = config_from_str(&format!("{}#config", path.display()), &default_cfg);
        let name = config
            .dirsnap
            .instance
            .clone()
            .unwrap_or_else(|| "main".into());
        let previous_ad = sc.previous_ad.as_ref().map(|p| p.build(now, &config));
        setups.push(Setup {
            name,
            ad: ad.build(now, &config),
            previous_ad,
            config,
        });
    }
    for i in &sc.instances {
        let config = config_from_str(
            &format!("{}#{}", path.display(), i.name),
            i.config.as_deref().unwrap_or(&default_cfg),
        );
        setups.push(Setup {
            name: i.name.clone(),
            ad: i.ad.build(now, &config),
            previous_ad: i.previous_ad.as_ref().map(|p| p.build(now, &config)),
            config,
        });
    }
    let iid = sc.iid.build();
    let prev = sc.previous_iid.as_ref().map(IidSpec::build);
    let m365 = sc.m365.as_deref().map(m365_rows);
    let mut run = Run::new(&setups, &iid, now);
    run.previous_iid = prev.as_ref();
    run.m365 = m365.as_deref();
    run.mode = match sc.mode.as_deref() {
        Some("normal") => Mode::Normal,
        _ => Mode::Recovery,
    };
    run.allow = sc.allow_thresholds.clone();
    run.token_expires_at = sc.token_expires_at.as_deref().map(t);
    let plan = run.plan();
    let actual_actions: Vec<String> = plan.actions.iter().map(action_line).collect();
    let mut unmatched: Vec<String> = actual_actions.clone();
    let mut missing = Vec::new();
    for e in &sc.expect.actions {
        match unmatched.iter().position(|a| matches_line(e, a)) {
            Some(i) => {
                unmatched.remove(i);
            }
            None => missing.push(e.clone()),
        }
    }
    let mut actual_findings: Vec<String> = plan.findings.iter().map(finding_line).collect();
    actual_findings.sort();
    let mut expected_findings = sc.expect.findings.clone();
    expected_findings.sort();
    let context = || {
        format!(
            "scenario {} ({})\nactual actions:\n  {}\nactual findings:\n  {}\nplan:\n{}",
            path.display(),
            sc.description.trim(),
            actual_actions.join("\n  "),
            actual_findings.join("\n  "),
            plan.to_json().unwrap()
        )
    };
    assert!(
        missing.is_empty() && unmatched.is_empty(),
        "expected actions not in the plan: {missing:?}\nunexpected actions: {unmatched:?}\n{}",
        context()
    );
    assert_eq!(
        actual_findings,
        expected_findings,
        "findings differ\n{}",
        context()
    );
    if let Some(b) = sc.expect.blocked {
        assert_eq!(plan.summary.blocked, b, "blocked\n{}", context());
    }
    for s in &sc.expect.skipped {
        assert!(
            plan.skipped
                .iter()
                .any(|k| k.reason.contains(s.as_str()) || k.name.contains(s.as_str())),
            "no skipped entry mentions {s:?}\n{}",
            context()
        );
    }
    plan
}
