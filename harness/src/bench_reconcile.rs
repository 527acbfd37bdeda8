//! Benchmark data for `scripts/bench-reconcile`: an AD snapshot and the IIJ ID snapshot a
//! previous sync would have left, with ~2% changes of every kind between them (new, deleted,
//! updated, disabled, enabled users; new and deleted groups; added and removed memberships),
//! plus the config.yml that maps one onto the other. Rows are generated and written in
//! chunks, so the generator's memory stays small whatever the size.

use crate::{bench, ids};
use chrono::{DateTime, Duration, Utc};
use dirsnap_model::{
    AdGroup, AdUser, Filters, IidGroup, IidUser, MemberKind, Membership, Source, URN_CORE_GROUP,
    URN_CORE_USER, URN_ENTERPRISE_USER, URN_IIJ_ENTERPRISEJP_USER,
};
use dirsnap_snapshot::{Ad, Iid, SnapshotError, SnapshotMeta, SnapshotWriter};
use serde::Serialize;
use std::path::Path;

/// The config.yml the benchmark reconciles with: the mapping the generated IIJ ID state was
/// written with.
pub const CONFIG: &str = "\
ad:
  ldap:
    filter:
      user: 'userPrincipalName=*@bench.example.co.jp'
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
          department: department
dirsnap:
  instance: bench
";

const USER_FILTER: &str = "userPrincipalName=*@bench.example.co.jp";
const GROUP_FILTER: &str = "objectClass=group";
const CHUNK: u64 = 65_536;

/// What changed between the IIJ ID state and AD, by construction.
#[derive(Debug, Default, Serialize)]
pub struct Expected {
    pub ad_users: u64,
    pub iid_users: u64,
    pub ad_groups: u64,
    pub iid_groups: u64,
    pub ad_memberships: u64,
    pub iid_memberships: u64,
    pub create_user: u64,
    pub pending_delete_user: u64,
    pub update_user: u64,
    pub disable_user: u64,
    pub enable_user: u64,
    pub create_group: u64,
    pub delete_group: u64,
    /// Groups that get an add_members / remove_members action.
    pub add_members: u64,
    pub remove_members: u64,
    pub members_added: u64,
    pub members_removed: u64,
}

/// User `i`'s role in the change mix.
#[derive(Clone, Copy, PartialEq, Eq)]
enum U {
    New,
    Deleted,
    Updated,
    Disabled,
    Enabled,
    Same,
}

fn role(i: u64) -> U {
    match i % 50 {
        0 => U::New,
        1 => U::Deleted,
        2 => U::Updated,
        3 => U::Disabled,
        4 => U::Enabled,
        _ => U::Same,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum G {
    New,
    Deleted,
    Same,
}

fn group_role(j: u64) -> G {
    match j % 50 {
        0 => G::New,
        1 => G::Deleted,
        _ => G::Same,
    }
}

fn member(j: u64, k: u64, users: u64) -> u64 {
    (j * 37 + k * 20_011) % users
}

fn ad_row(i: u64, base: DateTime<Utc>) -> AdUser {
    let mut u = bench::ad_user(i, base);
    match role(i) {
        U::Disabled => {
            u.user_account_control = Some(514);
            u.enabled = false;
        }
        U::Enabled => {
            u.user_account_control = Some(512);
            u.enabled = true;
        }
        _ => {}
    }
    u
}

fn iid_row(i: u64, base: DateTime<Utc>) -> IidUser {
    let ad = bench::ad_user(i, base);
    let id = ids::uuid(&format!("bench-iid-user:{i}"));
    let upn = ad.user_principal_name.clone().unwrap_or_default();
    let downstream = ad.object_guid.to_base64();
    let title = if role(i) == U::Updated {
        Some("旧役職".to_string())
    } else {
        ad.title.clone()
    };
    let active = match role(i) {
        U::Disabled => true,
        U::Enabled => false,
        _ => ad.enabled,
    };
    let display = ad.display_name.clone().unwrap_or_default();
    let raw = serde_json::json!({
        "schemas": [URN_CORE_USER, URN_ENTERPRISE_USER, URN_IIJ_ENTERPRISEJP_USER],
        "id": id,
        "externalId": upn,
        "userName": upn,
        "name": {"familyName": ad.sn, "givenName": ad.given_name},
        "displayName": display,
        "active": active,
        "emails": [{"value": upn, "primary": true}],
        "title": title,
        "preferredLanguage": "ja-JP",
        "timezone": "Asia/Tokyo",
        URN_ENTERPRISE_USER: {"department": ad.department},
        URN_IIJ_ENTERPRISEJP_USER: {"downstreamId": downstream},
        "meta": {"resourceType": "User", "created": "2025-01-01T09:00:00+09:00",
                 "lastModified": "2026-11-20T09:00:00+09:00"},
    });
    IidUser {
        id,
        user_name: upn.clone(),
        external_id: Some(upn.clone()),
        downstream_id: Some(downstream),
        active,
        display_name: Some(display),
        family_name: ad.sn.clone(),
        given_name: ad.given_name.clone(),
        email: Some(upn.clone()),
        emails: vec![upn],
        title,
        department: ad.department.clone(),
        preferred_language: Some("ja-JP".into()),
        timezone: Some("Asia/Tokyo".into()),
        pending_deletion: false,
        meta_created: Some(base - Duration::days(700)),
        meta_last_modified: Some(base - Duration::days(7)),
        meta_version: None,
        raw: raw.to_string(),
    }
}

fn group_name(j: u64) -> String {
    format!("G{j:06} 部門グループ")
}

/// Writes `out/ad`, `out/iid` and `out/config.yml`; returns the changes built in.
pub fn generate(
    out: &Path,
    users: u64,
    groups: u64,
    members_per_group: u64,
    base: DateTime<Utc>,
) -> Result<Expected, SnapshotError> {
    std::fs::create_dir_all(out).map_err(|e| SnapshotError::Io {
        path: out.to_path_buf(),
        source: e,
    })?;
    let cfg_path = out.join("config.yml");
    std::fs::write(&cfg_path, CONFIG).map_err(|e| SnapshotError::Io {
        path: cfg_path.clone(),
        source: e,
    })?;
    let mut exp = Expected::default();
    let users = users.max(1);

    let mut ad = SnapshotWriter::<Ad>::create(out.join("ad"))?;
    let mut iid = SnapshotWriter::<Iid>::create(out.join("iid"))?;
    let mut i = 0;
    while i < users {
        let end = (i + CHUNK).min(users);
        let ad_rows: Vec<AdUser> = (i..end)
            .filter(|&n| role(n) != U::Deleted)
            .map(|n| ad_row(n, base))
            .collect();
        let iid_rows: Vec<IidUser> = (i..end)
            .filter(|&n| role(n) != U::New)
            .map(|n| iid_row(n, base))
            .collect();
        for n in i..end {
            match role(n) {
                U::New => exp.create_user += 1,
                U::Deleted => exp.pending_delete_user += 1,
                U::Updated => exp.update_user += 1,
                U::Disabled => exp.disable_user += 1,
                U::Enabled => exp.enable_user += 1,
                U::Same => {}
            }
        }
        exp.ad_users += ad_rows.len() as u64;
        exp.iid_users += iid_rows.len() as u64;
        ad.write_users(&ad_rows)?;
        iid.write_users(&iid_rows)?;
        i = end;
    }
    // The bench users' own `enabled` pattern (every 17th disabled) is mirrored in IIJ ID, so
    // only the roles above change `active`.
    let mut ad_groups = Vec::new();
    let mut iid_groups = Vec::new();
    for j in 0..groups {
        let name = group_name(j);
        let guid = ids::guid(&format!("bench-group:{j}"));
        if group_role(j) != G::Deleted {
            ad_groups.push(AdGroup {
                object_guid: guid,
                object_sid: Some(ids::sid(3_000_000 + j as u32)),
                dn: format!("CN={name},OU=Groups,DC=bench,DC=example,DC=co,DC=jp"),
                domain: "bench.example.co.jp".into(),
                sam_account_name: Some(format!("G{j:06}")),
                cn: Some(name.clone()),
                group_type: Some(-2_147_483_646),
                when_changed: Some(base - Duration::days(3)),
                raw: format!(
                    r#"{{"objectClass":["top","group"],"cn":["{name}"],"sAMAccountName":["G{j:06}"],"groupType":["-2147483646"]}}"#
                ),
                ..AdGroup::default()
            });
        } else {
            exp.delete_group += 1;
        }
        if group_role(j) != G::New {
            let id = ids::uuid(&format!("bench-iid-group:{j}"));
            iid_groups.push(IidGroup {
                id: id.clone(),
                display_name: name.clone(),
                external_id: None,
                meta_last_modified: Some(base - Duration::days(7)),
                raw: format!(
                    r#"{{"schemas":["{URN_CORE_GROUP}"],"id":"{id}","externalId":"","displayName":"{name}","meta":{{"resourceType":"Group"}}}}"#
                ),
                ..IidGroup::default()
            });
        } else {
            exp.create_group += 1;
        }
    }
    exp.ad_groups = ad_groups.len() as u64;
    exp.iid_groups = iid_groups.len() as u64;
    ad.write_groups(&ad_groups)?;
    iid.write_groups(&iid_groups)?;
    drop(ad_groups);
    drop(iid_groups);

    let mut ad_ms = Vec::with_capacity(CHUNK as usize);
    let mut iid_ms = Vec::with_capacity(CHUNK as usize);
    for j in 0..groups {
        let g_guid = ids::guid(&format!("bench-group:{j}")).to_string();
        let g_id = ids::uuid(&format!("bench-iid-group:{j}"));
        let (mut adds, mut removes) = (0u64, 0u64);
        for k in 0..members_per_group {
            let u = member(j, k, users);
            let slot = (j * members_per_group + k) % 50;
            let in_ad = group_role(j) != G::Deleted && role(u) != U::Deleted && slot != 6;
            let in_iid = group_role(j) != G::New && role(u) != U::New && slot != 5;
            if in_ad {
                ad_ms.push(Membership {
                    group_key: g_guid.clone(),
                    member_key: Some(bench_guid(u).to_string()),
                    member_kind: MemberKind::User,
                    member_ref: Some(format!(
                        "CN=user {u},OU=Staff,DC=bench,DC=example,DC=co,DC=jp"
                    )),
                    member_display: None,
                    in_scope: true,
                });
            }
            if in_iid {
                let uid = ids::uuid(&format!("bench-iid-user:{u}"));
                iid_ms.push(Membership {
                    group_key: g_id.clone(),
                    member_key: Some(uid.clone()),
                    member_kind: MemberKind::User,
                    member_ref: Some(uid),
                    member_display: None,
                    in_scope: true,
                });
            }
            // A group both sides have: the member differences become member actions.
            if group_role(j) == G::Same {
                match (in_ad, in_iid) {
                    (true, false) => adds += 1,
                    (false, true) => removes += 1,
                    _ => {}
                }
            }
            if group_role(j) == G::New && in_ad {
                adds += 1;
            }
        }
        exp.members_added += adds;
        exp.members_removed += removes;
        exp.add_members += u64::from(adds > 0);
        exp.remove_members += u64::from(removes > 0);
        if ad_ms.len() >= CHUNK as usize {
            exp.ad_memberships += ad_ms.len() as u64;
            ad.write_memberships(&ad_ms)?;
            ad_ms.clear();
        }
        if iid_ms.len() >= CHUNK as usize {
            exp.iid_memberships += iid_ms.len() as u64;
            iid.write_memberships(&iid_ms)?;
            iid_ms.clear();
        }
    }
    exp.ad_memberships += ad_ms.len() as u64;
    exp.iid_memberships += iid_ms.len() as u64;
    ad.write_memberships(&ad_ms)?;
    iid.write_memberships(&iid_ms)?;
    let config = serde_json::json!({"note": "see config.yml beside the snapshots"});
    ad.commit(SnapshotMeta {
        source: Source {
            host: Some("dc1.bench.example.co.jp".into()),
            base_dn: Some("DC=bench,DC=example,DC=co,DC=jp".into()),
            domain: Some("bench.example.co.jp".into()),
            tenant_url: None,
            instance: Some("bench".into()),
        },
        taken_at: Some(base),
        config_digest: None,
        filters: Filters {
            user: Some(USER_FILTER.into()),
            group: Some(GROUP_FILTER.into()),
        },
        config: None,
        notes: vec!["generated by dirsnap-harness gen-reconcile".into()],
    })?;
    let _ = config;
    iid.commit(SnapshotMeta {
        source: Source {
            tenant_url: Some("https://scim.auth.iij.jp/scim/v2/".into()),
            instance: Some("bench".into()),
            ..Source::default()
        },
        taken_at: Some(base),
        notes: vec!["generated by dirsnap-harness gen-reconcile".into()],
        ..SnapshotMeta::default()
    })?;
    Ok(exp)
}

fn bench_guid(i: u64) -> dirsnap_model::Guid {
    ids::guid(&format!("bench:{i}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn small_bench_data_has_every_kind_of_change() {
        let dir = tempfile::tempdir().unwrap();
        let base = Utc
            .with_ymd_and_hms(2026, 11, 27, 0, 0, 0)
            .single()
            .unwrap();
        let e = generate(dir.path(), 1000, 100, 10, base).unwrap();
        assert_eq!(e.create_user, 20);
        assert_eq!(e.pending_delete_user, 20);
        assert_eq!(e.update_user, 20);
        assert_eq!(e.create_group, 2);
        assert_eq!(e.delete_group, 2);
        assert!(e.members_added > 0 && e.members_removed > 0);
        assert!(dir.path().join("ad/manifest.json").is_file());
        assert!(dir.path().join("iid/manifest.json").is_file());
        // bench::ad_user's member of this id exists.
        assert_eq!(bench_guid(3), bench::ad_user(3, base).object_guid);
    }
}
