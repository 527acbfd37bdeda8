//! Synthetic AD users for the snapshot benchmark: realistic column widths (Japanese names,
//! DNs, a raw JSON of ~25 attributes), generated from a seed without allocation storms.

use crate::ids;
use chrono::{DateTime, Duration, Utc};
use dirsnap_model::AdUser;

const FAMILY: [&str; 10] = [
    "山田", "佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "中村", "小林", "加藤",
];
const GIVEN: [&str; 10] = [
    "太郎",
    "花子",
    "一郎",
    "由紀",
    "健二",
    "舞",
    "翔太",
    "葵",
    "大輝",
    "さくら",
];
const DEPT: [&str; 5] = ["営業部", "総務部", "開発部", "経理部", "人事部"];

/// The `i`-th synthetic user of a benchmark domain.
pub fn ad_user(i: u64, base: DateTime<Utc>) -> AdUser {
    let sn = FAMILY[(i % 10) as usize];
    let given = GIVEN[((i / 10) % 10) as usize];
    let dept = DEPT[((i / 100) % 5) as usize];
    let sam = format!("user{i:07}");
    let upn = format!("{sam}@bench.example.co.jp");
    let dn = format!("CN={sn} {given} {i},OU={dept},OU=Staff,DC=bench,DC=example,DC=co,DC=jp");
    let guid = ids::guid(&format!("bench:{i}"));
    let enabled = !i.is_multiple_of(17);
    let uac = if enabled { 512u32 } else { 514 };
    let changed = base - Duration::seconds((i % 86_400) as i64);
    let raw = format!(
        concat!(
            r#"{{"objectClass":["top","person","organizationalPerson","user"],"cn":["{sn} {given} {i}"],"#,
            r#""distinguishedName":["{dn}"],"objectGUID":[{{"base64":"{g64}"}}],"sAMAccountName":["{sam}"],"#,
            r#""userPrincipalName":["{upn}"],"mail":["{upn}"],"sn":["{sn}"],"givenName":["{given}"],"#,
            r#""displayName":["{sn} {given}"],"department":["{dept}"],"title":["担当"],"#,
            r#""telephoneNumber":["+81-3-5555-{tel:04}"],"userAccountControl":["{uac}"],"#,
            r#""accountExpires":["9223372036854775807"],"whenCreated":["20240101000000.0Z"],"#,
            r#""whenChanged":["{wc}"],"uSNChanged":["{usn}"],"company":["Example株式会社"],"#,
            r#""physicalDeliveryOfficeName":["東京本社"],"employeeID":["E{i:07}"]}}"#
        ),
        sn = sn,
        given = given,
        i = i,
        dn = dn,
        g64 = guid.to_base64(),
        sam = sam,
        upn = upn,
        dept = dept,
        tel = i % 10_000,
        uac = uac,
        wc = changed.format("%Y%m%d%H%M%S.0Z"),
        usn = 100_000 + i,
    );
    AdUser {
        object_guid: guid,
        object_sid: Some(ids::sid(1_000_000 + i as u32)),
        dn,
        domain: "bench.example.co.jp".into(),
        sam_account_name: Some(sam),
        user_principal_name: Some(upn.clone()),
        mail: Some(upn),
        given_name: Some(given.into()),
        sn: Some(sn.into()),
        display_name: Some(format!("{sn} {given}")),
        department: Some(dept.into()),
        title: Some("担当".into()),
        telephone_number: Some(format!("+81-3-5555-{:04}", i % 10_000)),
        mobile: None,
        consistency_guid: Some(guid.as_bytes().to_vec()),
        user_account_control: Some(uac),
        enabled,
        account_expires: None,
        expired: false,
        when_created: Some(base - Duration::days(365)),
        when_changed: Some(changed),
        usn_changed: Some(100_000 + i as i64),
        is_deleted: false,
        raw,
    }
}

/// The `i`-th synthetic IIJ ID user of a benchmark tenant, as IIJ ID would return it.
pub fn iid_user(i: u64) -> dirsnap_model::IidUser {
    let sn = FAMILY[(i % 10) as usize];
    let given = GIVEN[((i / 10) % 10) as usize];
    let dept = DEPT[((i / 100) % 5) as usize];
    let id = ids::uuid(&format!("bench-iid-user:{i}"));
    let upn = format!("user{i:07}@bench.example.co.jp");
    let anchor = ids::guid(&format!("bench:{i}")).to_base64();
    let raw = serde_json::json!({
        "schemas": [
            dirsnap_model::URN_CORE_USER,
            dirsnap_model::URN_ENTERPRISE_USER,
            dirsnap_model::URN_IIJ_ENTERPRISEJP_USER,
        ],
        "id": id,
        "externalId": upn,
        "userName": upn,
        "name": {"familyName": sn, "givenName": given},
        "displayName": format!("{sn} {given}"),
        "active": !i.is_multiple_of(17),
        "emails": [{"value": upn, "primary": true}],
        dirsnap_model::URN_ENTERPRISE_USER: {"department": dept},
        dirsnap_model::URN_IIJ_ENTERPRISEJP_USER: {"downstreamId": anchor},
        "meta": {"resourceType": "User", "created": "2025-04-01T09:00:00+09:00", "lastModified": "2026-11-20T10:00:00+09:00"},
    });
    dirsnap_model::scim_json::user_from_scim(&raw).unwrap_or_default()
}

/// The `g`-th synthetic group and its members (users `g*k .. g*k+k` modulo `users`).
pub fn iid_group(
    g: u64,
    users: u64,
    members: u64,
) -> (dirsnap_model::IidGroup, Vec<dirsnap_model::Membership>) {
    let id = ids::uuid(&format!("bench-iid-group:{g}"));
    let raw = serde_json::json!({
        "schemas": [dirsnap_model::URN_CORE_GROUP],
        "id": id,
        "displayName": format!("group-{g:06}"),
        "members": (0..members).map(|k| {
            let u = (g * members + k) % users.max(1);
            serde_json::json!({"value": ids::uuid(&format!("bench-iid-user:{u}"))})
        }).collect::<Vec<_>>(),
    });
    dirsnap_model::scim_json::group_from_scim(&raw, &|_| Some(dirsnap_model::MemberKind::User))
        .unwrap_or_default()
}

/// CPU time this process has used so far, all threads, user and system (Linux
/// `/proc/self/stat`; `None` elsewhere). On a machine shared with other work the wall time of
/// a phase depends on the neighbours; its CPU time much less.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the numbers start after its ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15, counted from 1 before the name was cut off.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    // USER_HZ: 100 on every Linux this runs on (it is not the kernel's tick rate).
    Some((user + system) as f64 / 100.0)
}
