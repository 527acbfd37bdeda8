//! The demo fixtures: `fixtures/demo/source.yml` (people-readable) → four snapshots.
//! The IIJ ID side is what Directory Sync would have written with the demo config's mapping
//! (userName and externalId from userPrincipalName, downstreamId from objectGUID as base64).

use crate::ids;
use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use dirsnap_model::{AdGroup, AdUser, Filters, IidGroup, IidUser, MemberKind, Membership, Source};
use dirsnap_snapshot::{Ad, Iid, SnapshotMeta, SnapshotWriter};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
pub struct DemoSource {
    pub domain: String,
    pub base_dn: String,
    pub host: String,
    pub tenant_url: String,
    pub instance: String,
    pub previous_at: DateTime<Utc>,
    pub current_at: DateTime<Utc>,
    pub user_filter: String,
    pub group_filter: String,
    pub users: Vec<DemoUser>,
    pub groups: Vec<DemoGroup>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DemoUser {
    pub sam: String,
    pub sn: String,
    pub given: String,
    pub ou: String,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub newly_disabled: bool,
    #[serde(default)]
    pub new: bool,
    #[serde(default)]
    pub removed: bool,
    #[serde(default)]
    pub recreated: bool,
    #[serde(default)]
    pub moved_to: Option<String>,
    #[serde(default)]
    pub console_edit: BTreeMap<String, String>,
    #[serde(default)]
    pub no_mail: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoGroup {
    pub name: String,
    pub members: Vec<String>,
    #[serde(default)]
    pub added_members: Vec<String>,
    #[serde(default)]
    pub removed_members: Vec<String>,
    #[serde(default)]
    pub new: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{path}: {message}")]
    Source { path: String, message: String },
    #[error(transparent)]
    Snapshot(#[from] dirsnap_snapshot::SnapshotError),
}

pub fn load_source(path: &Path) -> Result<DemoSource, DemoError> {
    let err = |message: String| DemoError::Source {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    serde_saphyr::from_str(&text).map_err(|e| err(e.to_string()))
}

#[derive(Clone, Copy, PartialEq)]
enum When {
    Previous,
    Current,
}

fn jst(t: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| Utc.fix());
    t.with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

use chrono::Offset as _;

fn generalized(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%S.0Z").to_string()
}

impl DemoSource {
    fn upn(&self, u: &DemoUser) -> String {
        format!("{}@{}", u.sam, self.domain)
    }

    fn user_guid(u: &DemoUser, when: When) -> dirsnap_model::Guid {
        if u.recreated && when == When::Current {
            ids::guid(&format!("ad-user:{}#recreated", u.sam))
        } else {
            ids::guid(&format!("ad-user:{}", u.sam))
        }
    }

    fn exists(u: &DemoUser, when: When) -> bool {
        match when {
            When::Previous => !u.new,
            When::Current => !u.removed,
        }
    }

    fn ad_user(&self, index: usize, u: &DemoUser, when: When) -> AdUser {
        let ou = match (when, &u.moved_to) {
            (When::Current, Some(to)) => to.as_str(),
            _ => u.ou.as_str(),
        };
        let display = format!("{} {}", u.sn, u.given);
        let dn = format!("CN={display},OU={ou},OU=Staff,{}", self.base_dn);
        let disabled = u.disabled || (u.newly_disabled && when == When::Current);
        let uac: u32 = if disabled { 514 } else { 512 };
        let upn = self.upn(u);
        let mail = (!u.no_mail).then(|| upn.clone());
        let guid = Self::user_guid(u, when);
        let changed_since = when == When::Current
            && (u.new || u.recreated || u.newly_disabled || u.moved_to.is_some());
        let when_changed = if changed_since {
            self.current_at - Duration::days(1)
        } else {
            self.previous_at - Duration::days(30)
        };
        let when_created = if (u.new || u.recreated) && when == When::Current {
            self.current_at - Duration::days(2)
        } else {
            self.previous_at - Duration::days(400)
        };
        let rid = if u.recreated && when == When::Current {
            2000
        } else {
            1100
        } + index as u32;
        let usn = if changed_since {
            50_000 + index as i64
        } else {
            10_000 + index as i64
        };
        let mut raw = serde_json::Map::new();
        let mut put = |k: &str, v: Value| {
            raw.insert(k.to_string(), v);
        };
        put(
            "objectClass",
            json!(["top", "person", "organizationalPerson", "user"]),
        );
        put("cn", json!([display]));
        put("distinguishedName", json!([dn]));
        put("objectGUID", json!([{"base64": guid.to_base64()}]));
        put("sAMAccountName", json!([u.sam]));
        put("userPrincipalName", json!([upn]));
        if let Some(m) = &mail {
            put("mail", json!([m]));
        }
        put("sn", json!([u.sn]));
        put("givenName", json!([u.given]));
        put("displayName", json!([display]));
        if let Some(d) = &u.department {
            put("department", json!([d]));
        }
        if let Some(t) = &u.title {
            put("title", json!([t]));
        }
        put("userAccountControl", json!([uac.to_string()]));
        put("accountExpires", json!(["9223372036854775807"]));
        put("whenCreated", json!([generalized(when_created)]));
        put("whenChanged", json!([generalized(when_changed)]));
        put("uSNChanged", json!([usn.to_string()]));
        AdUser {
            object_guid: guid,
            object_sid: Some(ids::sid(rid)),
            dn,
            domain: self.domain.clone(),
            sam_account_name: Some(u.sam.clone()),
            user_principal_name: Some(upn),
            mail,
            given_name: Some(u.given.clone()),
            sn: Some(u.sn.clone()),
            display_name: Some(display),
            department: u.department.clone(),
            title: u.title.clone(),
            telephone_number: None,
            mobile: None,
            consistency_guid: None,
            user_account_control: Some(uac),
            enabled: !disabled,
            account_expires: None,
            expired: false,
            when_created: Some(when_created),
            when_changed: Some(when_changed),
            usn_changed: Some(usn),
            is_deleted: false,
            raw: Value::Object(raw).to_string(),
        }
    }

    fn group_dn(&self, name: &str) -> String {
        format!("CN={name},OU=Groups,{}", self.base_dn)
    }

    fn members(g: &DemoGroup, when: When) -> Vec<&str> {
        let mut m: Vec<&str> = g
            .members
            .iter()
            .map(String::as_str)
            .filter(|m| when == When::Previous || !g.removed_members.iter().any(|r| r == m))
            .collect();
        if when == When::Current {
            m.extend(g.added_members.iter().map(String::as_str));
        }
        m
    }

    fn ad(&self, when: When) -> (Vec<AdUser>, Vec<AdGroup>, Vec<Membership>) {
        let users: Vec<AdUser> = self
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| Self::exists(u, when))
            .map(|(i, u)| self.ad_user(i, u, when))
            .collect();
        let by_sam: BTreeMap<&str, &AdUser> = users
            .iter()
            .filter_map(|u| u.sam_account_name.as_deref().map(|s| (s, u)))
            .collect();
        let groups: Vec<AdGroup> = self
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| when == When::Current || !g.new)
            .map(|(i, g)| {
                let guid = ids::guid(&format!("ad-group:{}", g.name));
                let dn = self.group_dn(&g.name);
                let raw = json!({
                    "objectClass": ["top", "group"],
                    "cn": [g.name],
                    "distinguishedName": [dn],
                    "objectGUID": [{"base64": guid.to_base64()}],
                    "sAMAccountName": [g.name],
                    "groupType": ["-2147483646"],
                });
                AdGroup {
                    object_guid: guid,
                    object_sid: Some(ids::sid(5000 + i as u32)),
                    dn,
                    domain: self.domain.clone(),
                    sam_account_name: Some(g.name.clone()),
                    cn: Some(g.name.clone()),
                    display_name: None,
                    description: None,
                    mail: None,
                    group_type: Some(-2_147_483_646),
                    when_created: Some(self.previous_at - Duration::days(400)),
                    when_changed: Some(self.previous_at - Duration::days(10)),
                    usn_changed: Some(20_000 + i as i64),
                    is_deleted: false,
                    raw: raw.to_string(),
                }
            })
            .collect();
        let mut memberships = Vec::new();
        for g in &self.groups {
            if when == When::Previous && g.new {
                continue;
            }
            let group_key = ids::guid(&format!("ad-group:{}", g.name)).to_string();
            for m in Self::members(g, when) {
                let row = if let Some(name) = m.strip_prefix("group:") {
                    Membership {
                        group_key: group_key.clone(),
                        member_key: Some(ids::guid(&format!("ad-group:{name}")).to_string()),
                        member_kind: MemberKind::Group,
                        member_ref: Some(self.group_dn(name)),
                        member_display: None,
                        in_scope: true,
                    }
                } else if let Some(dn) = m.strip_prefix("dn:") {
                    Membership {
                        group_key: group_key.clone(),
                        member_key: None,
                        member_kind: MemberKind::Unknown,
                        member_ref: Some(dn.to_string()),
                        member_display: None,
                        in_scope: false,
                    }
                } else if let Some(u) = by_sam.get(m) {
                    Membership {
                        group_key: group_key.clone(),
                        member_key: Some(u.object_guid.to_string()),
                        member_kind: MemberKind::User,
                        member_ref: Some(u.dn.clone()),
                        member_display: None,
                        in_scope: true,
                    }
                } else {
                    continue;
                };
                memberships.push(row);
            }
        }
        (users, groups, memberships)
    }

    /// IIJ ID as the last sync left it (`console = false`) or as it is now (`console = true`).
    fn iid(&self, console: bool) -> (Vec<IidUser>, Vec<IidGroup>, Vec<Membership>) {
        let synced_at = self.previous_at;
        let edited_at = self.current_at - Duration::days(1);
        let mut users = Vec::new();
        for (i, u) in self.users.iter().enumerate() {
            if !Self::exists(u, When::Previous) {
                continue;
            }
            let ad = self.ad_user(i, u, When::Previous);
            let id = ids::uuid(&format!("iid-user:{}", u.sam));
            let edits = if console {
                &u.console_edit
            } else {
                &BTreeMap::new()
            };
            let pick = |attr: &str, default: String| edits.get(attr).cloned().unwrap_or(default);
            let display = pick("displayName", format!("{} {}", u.sn, u.given));
            let family = pick("name.familyName", u.sn.clone());
            let given = pick("name.givenName", u.given.clone());
            let title = edits.get("title").cloned().or(u.title.clone());
            let modified = if console && !edits.is_empty() {
                edited_at
            } else {
                synced_at
            };
            let upn = self.upn(u);
            let downstream = ad.object_guid.to_base64();
            let emails: Vec<String> = ad.mail.iter().cloned().collect();
            let mut raw = json!({
                "schemas": [
                    dirsnap_model::URN_CORE_USER,
                    dirsnap_model::URN_ENTERPRISE_USER,
                    dirsnap_model::URN_OIDFJ_ENTERPRISEJP_USER,
                    dirsnap_model::URN_IIJ_ENTERPRISEJP_USER,
                ],
                "id": id,
                "externalId": upn,
                "userName": upn,
                "name": {"familyName": family, "givenName": given},
                "displayName": display,
                "active": ad.enabled,
                "emails": emails.iter().map(|e| json!({"value": e, "primary": true})).collect::<Vec<_>>(),
                "preferredLanguage": "ja-JP",
                "timezone": "Asia/Tokyo",
                "phoneNumbers": [],
                "ims": [],
                "entitlements": [],
                "x509Certificates": [],
                dirsnap_model::URN_ENTERPRISE_USER: {"department": u.department},
                dirsnap_model::URN_OIDFJ_ENTERPRISEJP_USER: {},
                dirsnap_model::URN_IIJ_ENTERPRISEJP_USER: {"downstreamId": downstream},
                "meta": {
                    "resourceType": "User",
                    "created": jst(synced_at - Duration::days(300)),
                    "lastModified": jst(modified),
                    "location": format!("{}Users/{id}", self.tenant_url),
                },
            });
            if let Some(t) = &title {
                raw["title"] = json!(t);
            }
            users.push(IidUser {
                id,
                user_name: upn.clone(),
                external_id: Some(upn),
                downstream_id: Some(downstream),
                active: ad.enabled,
                display_name: Some(display),
                family_name: Some(family),
                given_name: Some(given),
                email: emails.first().cloned(),
                emails,
                title,
                department: u.department.clone(),
                preferred_language: Some("ja-JP".into()),
                timezone: Some("Asia/Tokyo".into()),
                pending_deletion: false,
                meta_created: Some(synced_at - Duration::days(300)),
                meta_last_modified: Some(modified),
                meta_version: None,
                raw: raw.to_string(),
            });
        }
        let user_ids: BTreeMap<&str, &IidUser> = self
            .users
            .iter()
            .filter(|u| Self::exists(u, When::Previous))
            .map(|u| u.sam.as_str())
            .zip(users.iter())
            .collect();
        let mut groups = Vec::new();
        let mut memberships = Vec::new();
        for g in self.groups.iter().filter(|g| !g.new) {
            let id = ids::uuid(&format!("iid-group:{}", g.name));
            let raw = json!({
                "schemas": [dirsnap_model::URN_CORE_GROUP, dirsnap_model::URN_IIJ_ENTERPRISE_GROUP],
                "id": id,
                "externalId": "",
                "displayName": g.name,
                dirsnap_model::URN_IIJ_ENTERPRISE_GROUP: {"groupType": "security"},
                "meta": {
                    "resourceType": "Group",
                    "created": jst(synced_at - Duration::days(300)),
                    "lastModified": jst(synced_at),
                    "location": format!("{}Groups/{id}", self.tenant_url),
                },
            });
            // Directory Sync does not sync nested groups or members outside its scope.
            for m in Self::members(g, When::Previous) {
                if let Some(u) = user_ids.get(m) {
                    memberships.push(Membership {
                        group_key: id.clone(),
                        member_key: Some(u.id.clone()),
                        member_kind: MemberKind::User,
                        member_ref: Some(format!("{}Users/{}", self.tenant_url, u.id)),
                        member_display: u.display_name.clone(),
                        in_scope: true,
                    });
                }
            }
            groups.push(IidGroup {
                id,
                display_name: g.name.clone(),
                external_id: None,
                description: None,
                meta_created: Some(synced_at - Duration::days(300)),
                meta_last_modified: Some(synced_at),
                meta_version: None,
                raw: raw.to_string(),
            });
        }
        (users, groups, memberships)
    }

    fn ad_meta(&self, at: DateTime<Utc>, config: Option<&Value>) -> SnapshotMeta {
        SnapshotMeta {
            source: Source {
                host: Some(self.host.clone()),
                base_dn: Some(self.base_dn.clone()),
                domain: Some(self.domain.clone()),
                tenant_url: None,
                instance: Some(self.instance.clone()),
            },
            taken_at: Some(at),
            config_digest: None,
            filters: Filters {
                user: Some(self.user_filter.clone()),
                group: Some(self.group_filter.clone()),
            },
            config: config.cloned(),
            notes: vec!["generated by dirsnap-harness from fixtures/demo/source.yml".into()],
        }
    }

    fn iid_meta(&self, at: DateTime<Utc>, config: Option<&Value>) -> SnapshotMeta {
        SnapshotMeta {
            source: Source {
                host: None,
                base_dn: None,
                domain: None,
                tenant_url: Some(self.tenant_url.clone()),
                instance: Some(self.instance.clone()),
            },
            taken_at: Some(at),
            config_digest: None,
            filters: Filters::default(),
            config: config.cloned(),
            notes: vec!["generated by dirsnap-harness from fixtures/demo/source.yml".into()],
        }
    }
}

/// Writes `ad-previous`, `ad`, `iid-previous` and `iid` under `out` (which must not contain
/// them yet). `config` (the demo config.yml as JSON) and its digest are recorded in the
/// manifests, as an exporter would.
pub fn generate(
    source: &DemoSource,
    out: &Path,
    config: Option<(&Value, &str)>,
) -> Result<(), DemoError> {
    let cfg = config.map(|(v, _)| v);
    let digest = config.map(|(_, d)| d.to_string());
    for (name, when, at) in [
        ("ad-previous", When::Previous, source.previous_at),
        ("ad", When::Current, source.current_at),
    ] {
        let (users, groups, memberships) = source.ad(when);
        let mut w = SnapshotWriter::<Ad>::create(out.join(name))?;
        w.write_users(&users)?;
        w.write_groups(&groups)?;
        w.write_memberships(&memberships)?;
        let mut meta = source.ad_meta(at, cfg);
        meta.config_digest = digest.clone();
        w.commit(meta)?;
    }
    for (name, console, at) in [
        ("iid-previous", false, source.previous_at),
        ("iid", true, source.current_at),
    ] {
        let (users, groups, memberships) = source.iid(console);
        let mut w = SnapshotWriter::<Iid>::create(out.join(name))?;
        w.write_users(&users)?;
        w.write_groups(&groups)?;
        w.write_memberships(&memberships)?;
        let mut meta = source.iid_meta(at, cfg);
        meta.config_digest = digest.clone();
        w.commit(meta)?;
    }
    Ok(())
}
