//! Integration tests against a real Samba AD DC (scripts/ad-server; scripts/test starts it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/dc.rs"]
mod dc;
#[path = "support/proxy.rs"]
mod proxy;

use dc::{ConfigSpec, Dc, Ou, b64, filetime, ldif_entry, ldif_group, ldif_ou, ldif_user};
use dirsnap_ad::{AdError, ExportOptions, ExportSummary, NoProgress, PAGED_RESULTS_OID};
use dirsnap_config::Secret;
use dirsnap_model::{AdUser, MemberKind, Membership};
use dirsnap_snapshot::{Ad, ReadOptions, Snapshot, Tables};
use proxy::{Proxy, paged_value};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn runtime() -> tokio::runtime::Runtime {
    dirsnap_ad::install_ring_provider();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn password(dc: &Dc) -> Secret {
    Secret::new(dc.password.clone())
}

struct Run {
    _dir: tempfile::TempDir,
    out: PathBuf,
    config: PathBuf,
}

fn run_dir(spec: &ConfigSpec) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let config = spec.write(dir.path());
    Run {
        out: dir.path().join("snap"),
        config,
        _dir: dir,
    }
}

fn export(
    dc: &Dc,
    spec: &ConfigSpec,
    options: &ExportOptions,
) -> (Run, Result<ExportSummary, AdError>) {
    let run = run_dir(spec);
    let cfg = dirsnap_config::load_config(&run.config).unwrap();
    let res = runtime().block_on(dirsnap_ad::export(
        &cfg,
        &password(dc),
        &run.out,
        options,
        &NoProgress,
    ));
    (run, res)
}

fn read(dir: &Path) -> Tables<Ad> {
    Snapshot::open(dir)
        .unwrap()
        .read::<Ad>(&ReadOptions::default())
        .unwrap()
}

fn by_sam(t: &Tables<Ad>) -> HashMap<String, AdUser> {
    t.users
        .iter()
        .map(|u| (u.sam_account_name.clone().unwrap_or_default(), u.clone()))
        .collect()
}

fn members_of<'a>(t: &'a Tables<Ad>, group_cn: &str) -> Vec<&'a Membership> {
    let g = t
        .groups
        .iter()
        .find(|g| g.cn.as_deref() == Some(group_cn))
        .unwrap_or_else(|| panic!("group {group_cn} not exported"));
    let key = g.object_guid.to_string();
    t.memberships
        .iter()
        .filter(|m| m.group_key == key)
        .collect()
}

/// 3,000 users and a 2,000-member group, seeded once per test process (they stay in the
/// DC's database when the last lease stops it and the next starts it again).
fn bulk(dc: &Dc) -> &'static (Ou, Vec<String>) {
    static BULK: OnceLock<(Ou, Vec<String>)> = OnceLock::new();
    BULK.get_or_init(|| {
        let ou = dc.unique_ou("bulk");
        let mut ldif = ldif_ou(&ou.dn);
        let mut dns = Vec::new();
        for i in 0..3000 {
            let cn = format!("bulk user {i:04}");
            ldif.push_str(&ldif_user(
                &ou.dn,
                &cn,
                &format!("{}{i:04}", ou.token),
                512,
                &[("displayName", format!("Bulk User {i}"))],
            ));
            dns.push(format!("CN={cn},{}", ou.dn));
        }
        ldif.push_str(&ldif_group(
            &ou.dn,
            &format!("{}big", ou.token),
            &dns[..2000],
        ));
        ldif.push_str(&ldif_group(
            &ou.dn,
            &format!("{}small", ou.token),
            &dns[..3],
        ));
        dc.seed(&ldif);
        (ou, dns)
    })
}

#[test]
fn paged_3000_users_with_page_size_500_sends_and_follows_the_paged_control() {
    let lease = dc::lease();
    let dc = &*lease;
    let (ou, _) = bulk(dc);
    let rt = runtime();
    let proxy = rt.block_on(Proxy::start(format!("{}:389", dc.ip)));
    let mut spec = ConfigSpec::new(dc, &ou.dn);
    spec.addresses = vec![format!("127.0.0.1:{}", proxy.port)];
    let options = ExportOptions {
        page_size: 500,
        ..ExportOptions::default()
    };
    let (run, res) = export(dc, &spec, &options);
    let summary = res.unwrap();
    assert_eq!(summary.users, 3000);
    let t = read(&run.out);
    assert_eq!(t.users.len(), 3000);
    let guids: BTreeSet<String> = t.users.iter().map(|u| u.object_guid.to_string()).collect();
    assert_eq!(guids.len(), 3000, "every user once, keyed by objectGUID");
    let sams: BTreeSet<String> = t
        .users
        .iter()
        .filter_map(|u| u.sam_account_name.clone())
        .collect();
    let expected: BTreeSet<String> = (0..3000).map(|i| format!("{}{i:04}", ou.token)).collect();
    assert_eq!(sams, expected);
    // Samba returns `member` whole when not asked for ranges.
    assert_eq!(members_of(&t, &format!("{}big", ou.token)).len(), 2000);

    // The wire: every user search request carries the paged control with size 500; the first
    // has an empty cookie, each next one the cookie the server sent with the previous page.
    let msgs = proxy.messages();
    let requests: Vec<_> = msgs
        .iter()
        .filter(|m| m.from_client)
        .filter(|m| {
            m.search_request().is_some_and(|(base, attrs)| {
                base == ou.dn && attrs.iter().any(|a| a == "userPrincipalName")
            })
        })
        .collect();
    assert!(
        requests.len() >= 6,
        "3000 users in pages of 500 need at least 6 requests, saw {}",
        requests.len()
    );
    let done_cookie = |id: i64| {
        let done = msgs
            .iter()
            .find(|m| !m.from_client && m.op == 5 && m.id == id)
            .expect("SearchResultDone");
        let value = done
            .control(PAGED_RESULTS_OID)
            .expect("paged control in the answer")
            .clone()
            .unwrap();
        paged_value(&value).1
    };
    let entries_of = |id: i64| {
        msgs.iter()
            .filter(|m| !m.from_client && m.op == 4 && m.id == id)
            .count()
    };
    let mut total = 0;
    for (i, req) in requests.iter().enumerate() {
        let value = req
            .control(PAGED_RESULTS_OID)
            .expect("paged results control on every user search request")
            .clone()
            .unwrap();
        let (size, cookie) = paged_value(&value);
        assert_eq!(size, 500);
        if i == 0 {
            assert!(cookie.is_empty(), "first page starts without a cookie");
        } else {
            assert!(!cookie.is_empty());
            assert_eq!(cookie, done_cookie(requests[i - 1].id), "cookie followed");
        }
        let n = entries_of(req.id);
        assert!(n <= 500, "page {i} had {n} entries");
        total += n;
    }
    assert!(done_cookie(requests.last().unwrap().id).is_empty());
    assert_eq!(total, 3000);
}

#[test]
fn group_of_2000_members_read_with_forced_small_ranges() {
    let lease = dc::lease();
    let dc = &*lease;
    let (ou, dns) = bulk(dc);
    let rt = runtime();
    let proxy = rt.block_on(Proxy::start(format!("{}:389", dc.ip)));
    let mut spec = ConfigSpec::new(dc, &ou.dn);
    spec.addresses = vec![format!("127.0.0.1:{}", proxy.port)];
    let options = ExportOptions {
        member_range_step: Some(300),
        ..ExportOptions::default()
    };
    let (run, res) = export(dc, &spec, &options);
    let summary = res.unwrap();
    assert_eq!(
        summary.ranged_groups, 1,
        "only the big group needs more than one window"
    );
    let t = read(&run.out);
    let big = members_of(&t, &format!("{}big", ou.token));
    assert_eq!(big.len(), 2000);
    let users: HashMap<String, String> = t
        .users
        .iter()
        .map(|u| (u.dn.to_lowercase(), u.object_guid.to_string()))
        .collect();
    let want: BTreeSet<String> = dns[..2000]
        .iter()
        .map(|d| users[&d.to_lowercase()].clone())
        .collect();
    let got: BTreeSet<String> = big
        .iter()
        .map(|m| {
            assert!(m.in_scope);
            assert_eq!(m.member_kind, MemberKind::User);
            m.member_key.clone().unwrap()
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(members_of(&t, &format!("{}small", ou.token)).len(), 3);

    // The group search asked for the first window; then one base search per window.
    let msgs = proxy.messages();
    let searches: Vec<(String, Vec<String>)> = msgs
        .iter()
        .filter(|m| m.from_client)
        .filter_map(|m| m.search_request())
        .collect();
    assert!(
        searches
            .iter()
            .any(|(base, attrs)| base == &ou.dn && attrs.iter().any(|a| a == "member;range=0-299"))
    );
    let ranged: Vec<String> = searches
        .iter()
        .filter(|(base, _)| base.starts_with("<GUID="))
        .flat_map(|(_, attrs)| attrs.clone())
        .collect();
    assert_eq!(
        ranged,
        [
            "member;range=300-599",
            "member;range=600-899",
            "member;range=900-1199",
            "member;range=1200-1499",
            "member;range=1500-1799",
            "member;range=1800-2099"
        ]
    );
}

#[test]
fn disabled_expired_and_japanese_accounts() {
    let lease = dc::lease();
    let dc = &*lease;
    let ou = dc.unique_ou("accounts");
    let t = &ou.token;
    let past = filetime(1_577_836_800); // 2020-01-01T00:00:00Z
    let future = filetime(4_070_908_800); // 2099-01-01T00:00:00Z
    let consistency: Vec<u8> = (1..=16).collect();
    let mut ldif = ldif_ou(&ou.dn);
    ldif.push_str(&ldif_user(
        &ou.dn,
        "山田 太郎",
        &format!("{t}yamada"),
        512,
        &[
            ("displayName", "山田 太郎".into()),
            ("sn", "山田".into()),
            ("givenName", "太郎".into()),
            ("department", "営業部".into()),
            ("title", "課長".into()),
            ("telephoneNumber", "+81-3-1234-5678".into()),
            ("mS-DS-ConsistencyGuid:", b64(&consistency)),
        ],
    ));
    ldif.push_str(&ldif_user(&ou.dn, "bob", &format!("{t}bob"), 514, &[]));
    ldif.push_str(&ldif_user(
        &ou.dn,
        "carol",
        &format!("{t}carol"),
        512,
        &[("accountExpires", past.to_string())],
    ));
    ldif.push_str(&ldif_user(
        &ou.dn,
        "dave",
        &format!("{t}dave"),
        512,
        &[("accountExpires", future.to_string())],
    ));
    ldif.push_str(&ldif_user(
        &ou.dn,
        "erin",
        &format!("{t}erin"),
        512,
        &[("accountExpires", "0".into())],
    ));
    // Not users for Directory Sync: a computer account and a contact.
    ldif.push_str(&ldif_entry(
        &format!("CN={t}pc,{}", ou.dn),
        &[
            ("objectClass", "computer".into()),
            ("sAMAccountName", format!("{t}pc$")),
            ("userAccountControl", "4096".into()),
        ],
    ));
    ldif.push_str(&ldif_entry(
        &format!("CN={t}contact,{}", ou.dn),
        &[("objectClass", "contact".into())],
    ));
    dc.seed(&ldif);

    let spec = ConfigSpec::new(dc, &ou.dn);
    let (run, res) = export(dc, &spec, &ExportOptions::default());
    let summary = res.unwrap();
    let tables = read(&run.out);
    let users = by_sam(&tables);
    let names: BTreeSet<&str> = users.keys().map(String::as_str).collect();
    let want: BTreeSet<String> = ["yamada", "bob", "carol", "dave", "erin"]
        .iter()
        .map(|n| format!("{t}{n}"))
        .collect();
    assert_eq!(
        names,
        want.iter().map(String::as_str).collect(),
        "people only: no computer, no contact"
    );
    assert_eq!(summary.disabled_users, 1);
    assert_eq!(summary.expired_users, 1);

    let yamada = &users[&format!("{t}yamada")];
    assert_eq!(yamada.display_name.as_deref(), Some("山田 太郎"));
    assert_eq!(yamada.sn.as_deref(), Some("山田"));
    assert_eq!(yamada.given_name.as_deref(), Some("太郎"));
    assert_eq!(yamada.department.as_deref(), Some("営業部"));
    assert_eq!(yamada.title.as_deref(), Some("課長"));
    assert_eq!(yamada.telephone_number.as_deref(), Some("+81-3-1234-5678"));
    assert_eq!(yamada.dn, format!("CN=山田 太郎,{}", ou.dn));
    assert_eq!(yamada.consistency_guid.as_deref(), Some(&consistency[..]));
    assert_eq!(yamada.domain, "test.example");
    assert!(yamada.enabled && !yamada.expired);
    let raw: serde_json::Value = serde_json::from_str(&yamada.raw).unwrap();
    assert_eq!(raw["displayName"], serde_json::json!(["山田 太郎"]));
    assert_eq!(
        raw["objectGUID"][0]["base64"],
        serde_json::json!(b64(yamada.object_guid.as_bytes()))
    );
    let sid = yamada.object_sid.as_deref().unwrap();
    assert!(
        sid.starts_with("S-1-5-21-") && sid.split('-').count() == 8,
        "{sid}"
    );

    let bob = &users[&format!("{t}bob")];
    assert!(!bob.enabled && !bob.expired);
    assert_eq!(bob.user_account_control, Some(514));
    let carol = &users[&format!("{t}carol")];
    assert!(carol.enabled && carol.expired);
    assert_eq!(
        carol.account_expires.map(|t| t.to_rfc3339()),
        Some("2020-01-01T00:00:00+00:00".into())
    );
    let dave = &users[&format!("{t}dave")];
    assert!(!dave.expired);
    assert_eq!(
        dave.account_expires.map(|t| t.to_rfc3339()),
        Some("2099-01-01T00:00:00+00:00".into())
    );
    let erin = &users[&format!("{t}erin")];
    assert!(erin.account_expires.is_none() && !erin.expired);

    // The GUID text is AD's canonical form: the DC finds bob by it.
    let found = dc.ldap_tool(
        "ldapsearch",
        &[
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-b",
            &format!("<GUID={}>", bob.object_guid),
            "-s",
            "base",
            "(objectClass=*)",
            "sAMAccountName",
        ],
        None,
    );
    assert!(
        found.contains(&format!("sAMAccountName: {t}bob")),
        "{found}"
    );
    assert!(bob.when_created.is_some() && bob.when_changed.is_some());
    assert!(bob.usn_changed.is_some_and(|u| u > 0));

    // The manifest records where, when and with what.
    let m = &tables.manifest;
    assert_eq!(m.source.base_dn.as_deref(), Some(ou.dn.as_str()));
    assert_eq!(m.source.domain.as_deref(), Some("test.example"));
    assert_eq!(m.source.host.as_deref(), Some(dc.ip.as_str()));
    assert_eq!(m.source.instance.as_deref(), Some("samba-test"));
    assert_eq!(
        m.filters.user.as_deref(),
        Some("(&(objectCategory=person)(objectClass=user))")
    );
    assert_eq!(m.filters.group.as_deref(), Some("(objectClass=group)"));
    let cfg = dirsnap_config::load_config(&run.config).unwrap();
    assert_eq!(m.config_digest, Some(cfg.digest()));
    assert_eq!(m.config, Some(cfg.redacted_document()));
    assert!(m.taken_at <= chrono::Utc::now());
}

#[test]
fn rename_and_move_keep_object_guid_and_memberships() {
    let lease = dc::lease();
    let dc = &*lease;
    let ou = dc.unique_ou("move");
    let (a, b) = (format!("OU=a,{}", ou.dn), format!("OU=b,{}", ou.dn));
    let u1 = format!("CN=u1,{a}");
    let u2 = format!("CN=u2,{a}");
    let mut ldif = ldif_ou(&ou.dn);
    ldif.push_str(&ldif_ou(&a));
    ldif.push_str(&ldif_ou(&b));
    ldif.push_str(&ldif_user(&a, "u1", &format!("{}u1", ou.token), 512, &[]));
    ldif.push_str(&ldif_user(&a, "u2", &format!("{}u2", ou.token), 512, &[]));
    ldif.push_str(&ldif_group(&ou.dn, "team", &[u1.clone(), u2.clone()]));
    dc.seed(&ldif);

    let spec = ConfigSpec::new(dc, &ou.dn);
    let (run1, res) = export(dc, &spec, &ExportOptions::default());
    res.unwrap();
    dc.ldap_tool("ldapmodrdn", &["-r", "-s", &b, &u1, "CN=u1 renamed"], None);
    let (run2, res) = export(dc, &spec, &ExportOptions::default());
    res.unwrap();
    let (t1, t2) = (read(&run1.out), read(&run2.out));
    let sam = format!("{}u1", ou.token);
    let (before, after) = (&by_sam(&t1)[&sam], &by_sam(&t2)[&sam]);
    assert_eq!(before.object_guid, after.object_guid);
    assert_eq!(before.dn, u1);
    assert_eq!(after.dn, format!("CN=u1 renamed,{b}"));
    assert!(after.usn_changed > before.usn_changed);
    for t in [&t1, &t2] {
        let keys: BTreeSet<String> = members_of(t, "team")
            .iter()
            .map(|m| m.member_key.clone().unwrap())
            .collect();
        assert!(keys.contains(&before.object_guid.to_string()));
        assert_eq!(keys.len(), 2);
    }
    let diff = dirsnap_diff::diff_snapshot(
        (&t1.users, &t1.groups, &t1.memberships),
        (&t2.users, &t2.groups, &t2.memberships),
    );
    assert!(diff.users.added.is_empty() && diff.users.removed.is_empty());
    assert_eq!(diff.users.changed.len(), 1);
    assert_eq!(diff.users.changed[0].key, before.object_guid.to_string());
    assert!(
        diff.memberships.added.is_empty() && diff.memberships.removed.is_empty(),
        "membership follows the GUID"
    );
}

#[test]
fn iij_in_chain_filter_selects_direct_and_nested_members() {
    let lease = dc::lease();
    let dc = &*lease;
    let ou = dc.unique_ou("chain");
    let t = &ou.token;
    let dn = |cn: &str| format!("CN={cn},{}", ou.dn);
    let mut ldif = ldif_ou(&ou.dn);
    for u in ["u1", "u2", "u3", "u4"] {
        ldif.push_str(&ldif_user(&ou.dn, u, &format!("{t}{u}"), 512, &[]));
    }
    ldif.push_str(&ldif_group(&ou.dn, "g2", &[dn("u3")]));
    ldif.push_str(&ldif_group(
        &ou.dn,
        "IID_IDaaS user group",
        &[dn("u1"), dn("g2")],
    ));
    ldif.push_str(&ldif_group(&ou.dn, "g3", &[dn("u4")]));
    dc.seed(&ldif);

    let mut spec = ConfigSpec::new(dc, &ou.dn);
    // Exactly as IIJ's sample writes it: no outer parentheses, spaces in the value.
    spec.user_filter = Some(format!(
        "memberOf:1.2.840.113556.1.4.1941:={}",
        dn("IID_IDaaS user group")
    ));
    let (run, res) = export(dc, &spec, &ExportOptions::default());
    let summary = res.unwrap();
    let tables = read(&run.out);
    let names: BTreeSet<String> = by_sam(&tables).into_keys().collect();
    assert_eq!(names, [format!("{t}u1"), format!("{t}u3")].into());
    assert_eq!(
        tables.manifest.filters.user.as_deref(),
        Some(
            format!(
                "(&(objectCategory=person)(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:={}))",
                dn("IID_IDaaS user group")
            )
            .as_str()
        )
    );
    // Nested group kept as a group member; a member outside the exported users kept, flagged.
    let top = members_of(&tables, "IID_IDaaS user group");
    assert_eq!(top.len(), 2);
    let g2 = top
        .iter()
        .find(|m| m.member_ref.as_deref() == Some(dn("g2").as_str()))
        .unwrap();
    assert_eq!(g2.member_kind, MemberKind::Group);
    assert!(g2.in_scope && g2.member_key.is_some());
    let g3 = members_of(&tables, "g3");
    assert_eq!(g3.len(), 1);
    assert_eq!(g3[0].member_key, None);
    assert!(!g3[0].in_scope);
    assert_eq!(g3[0].member_kind, MemberKind::Unknown);
    assert_eq!(g3[0].member_ref.as_deref(), Some(dn("u4").as_str()));
    assert_eq!(summary.nested_group_members, 1);
    assert_eq!(summary.members_out_of_scope, 1);
}

fn small_ou(dc: &Dc, tag: &str) -> Ou {
    let ou = dc.unique_ou(tag);
    let mut ldif = ldif_ou(&ou.dn);
    ldif.push_str(&ldif_user(
        &ou.dn,
        "only",
        &format!("{}only", ou.token),
        512,
        &[],
    ));
    dc.seed(&ldif);
    ou
}

fn leftovers(run: &Run) -> Vec<String> {
    std::fs::read_dir(run.out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "config.yml")
        .collect()
}

#[test]
fn ldaps_and_starttls_verify_with_the_generated_ca_and_a_wrong_ca_fails_clearly() {
    let lease = dc::lease();
    let dc = &*lease;
    let ou = small_ou(dc, "tls");
    let with_ca = |ca: &Path| ExportOptions {
        ca_file: Some(ca.to_path_buf()),
        ..ExportOptions::default()
    };

    let mut ldaps = ConfigSpec::new(dc, &ou.dn);
    ldaps.addresses = vec![dc.ldaps_url.clone()];
    ldaps.verify_mode = true;
    let (_, res) = export(dc, &ldaps, &with_ca(&dc.ca));
    let s = res.unwrap();
    assert_eq!(s.users, 1);
    assert_eq!(s.server, format!("ldaps://{}:636", dc.ip));

    let mut starttls = ConfigSpec::new(dc, &ou.dn);
    starttls.encryption = "start_tls";
    starttls.verify_mode = true;
    let (_, res) = export(dc, &starttls, &with_ca(&dc.ca));
    assert!(res.unwrap().server.contains("StartTLS"));

    // A CA that did not issue the DC's certificate.
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong-ca.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .arg("-keyout")
        .arg(dir.path().join("k.pem"))
        .arg("-out")
        .arg(&wrong)
        .args(["-subj", "/CN=not the dirsnap test CA"])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    for spec in [&ldaps, &starttls] {
        let (run, res) = export(dc, spec, &with_ca(&wrong));
        let err = res.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, AdError::Unreachable(_)), "{msg}");
        assert!(msg.contains("TLS certificate verification failed"), "{msg}");
        assert!(msg.contains("not issued by a trusted CA"), "{msg}");
        assert!(msg.contains("--ca-file"), "{msg}");
        assert!(!run.out.exists());
        assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));
    }
}

#[test]
fn wrong_password_names_the_bind_dn_never_the_password_and_writes_nothing() {
    let lease = dc::lease();
    let dc = &*lease;
    let ou = small_ou(dc, "badpw");
    let spec = ConfigSpec::new(dc, &ou.dn);
    let run = run_dir(&spec);
    let cfg = dirsnap_config::load_config(&run.config).unwrap();
    let wrong = "Wr0ng-Secret-Value-42";
    let res = runtime().block_on(dirsnap_ad::export(
        &cfg,
        &Secret::new(wrong),
        &run.out,
        &ExportOptions::default(),
        &NoProgress,
    ));
    let err = res.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, AdError::Bind { .. }), "{msg}");
    assert!(
        !err.is_invalid_input(),
        "a refused bind is a runtime error (exit 1)"
    );
    assert!(msg.contains(&dc.bind_dn), "{msg}");
    assert!(msg.contains("invalidCredentials"), "{msg}");
    assert!(!msg.contains(wrong));
    assert!(!format!("{err:?}").contains(wrong));
    assert!(!run.out.exists());
    assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));
}

#[test]
fn first_address_unreachable_the_second_is_used() {
    let lease = dc::lease();
    let dc = &*lease;
    let ou = small_ou(dc, "failover");
    let mut spec = ConfigSpec::new(dc, &ou.dn);
    // Nothing listens on 127.0.0.254:389 (the DC binds its own address only).
    spec.addresses = vec!["127.0.0.254".into(), dc.ip.clone()];
    let (run, res) = export(dc, &spec, &ExportOptions::default());
    let s = res.unwrap();
    assert_eq!(s.server, format!("ldap://{}:389", dc.ip));
    assert_eq!(s.users, 1);
    assert_eq!(
        read(&run.out).manifest.source.host.as_deref(),
        Some(dc.ip.as_str())
    );

    spec.addresses = vec!["127.0.0.254".into(), "127.0.0.253".into()];
    let (run, res) = export(dc, &spec, &ExportOptions::default());
    let msg = res.unwrap_err().to_string();
    assert!(
        msg.contains("127.0.0.254") && msg.contains("127.0.0.253"),
        "{msg}"
    );
    assert!(msg.contains("connection refused"), "{msg}");
    assert!(!run.out.exists());
}

#[test]
fn include_deleted_adds_tombstones_marked_deleted() {
    let lease = dc::lease();
    let dc = &*lease;
    let ou = dc.unique_ou("deleted");
    let mut ldif = ldif_ou(&ou.dn);
    for u in ["keep", "gone"] {
        ldif.push_str(&ldif_user(&ou.dn, u, &format!("{}{u}", ou.token), 512, &[]));
    }
    dc.seed(&ldif);
    let spec = ConfigSpec::new(dc, &ou.dn);
    let (run1, res) = export(dc, &spec, &ExportOptions::default());
    res.unwrap();
    let gone_sam = format!("{}gone", ou.token);
    let gone = by_sam(&read(&run1.out))[&gone_sam].clone();
    dc.ldap_tool("ldapdelete", &[&format!("CN=gone,{}", ou.dn)], None);

    let (run2, res) = export(dc, &spec, &ExportOptions::default());
    assert_eq!(res.unwrap().users, 1);
    assert!(!by_sam(&read(&run2.out)).contains_key(&gone_sam));

    let (run3, res) = export(
        dc,
        &spec,
        &ExportOptions {
            include_deleted: true,
            ..ExportOptions::default()
        },
    );
    let s = res.unwrap();
    assert_eq!((s.users, s.deleted_users), (2, 1));
    let t = read(&run3.out);
    let tomb = t
        .users
        .iter()
        .find(|u| u.object_guid == gone.object_guid)
        .expect("tombstone exported with its objectGUID");
    assert!(tomb.is_deleted);
    assert!(tomb.dn.contains("DEL:"), "{}", tomb.dn);
    assert_eq!(tomb.sam_account_name.as_deref(), Some(gone_sam.as_str()));
    let raw: serde_json::Value = serde_json::from_str(&tomb.raw).unwrap();
    assert_eq!(raw["lastKnownParent"][0], serde_json::json!(ou.dn));
    assert!(
        !t.users
            .iter()
            .find(|u| u.sam_account_name.as_deref() == Some(&format!("{}keep", ou.token)))
            .unwrap()
            .is_deleted
    );
}

#[test]
fn missing_base_dn_on_the_server_is_named() {
    let lease = dc::lease();
    let dc = &*lease;
    let spec = ConfigSpec::new(dc, &format!("OU=does-not-exist,{}", dc.base_dn));
    let (run, res) = export(dc, &spec, &ExportOptions::default());
    let msg = res.unwrap_err().to_string();
    assert!(
        msg.contains("noSuchObject") && msg.contains("ad.ldap.base_dn"),
        "{msg}"
    );
    assert!(!run.out.exists());
}
