#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The recreated-account table of the precautions (reference/iij-facts.md §2, admj/16877844),
//! end to end through the real binary: each row's Microsoft 365 side is exported by
//! `dirsnap export m365` from a loopback Graph serving fixtures/m365/recreate/<row>.json, and
//! `dirsnap reconcile` must give the table's outcome for the recreated demo user sota.kimura.
//!
//! The AD/IID side of every row: the old sota.kimura was deleted from AD, so Directory Sync put
//! its IIJ ID user into pending deletion (which is what blocks its Microsoft 365 account); then
//! the account was recreated in AD with a new objectGUID (fixtures/demo/ad vs ad-previous).
//! "Same linkage ID" = the new AD object carries the old objectGUID in mS-DS-ConsistencyGuid,
//! which the demo config maps to downstreamId (the application-linking ID) before objectGUID.

use assert_cmd::Command;
use dirsnap_m365::fixture::{FixtureConfig, FixtureTenant, GraphFixture};
use dirsnap_model::{Guid, Manifest};
use dirsnap_snapshot::{Ad, Iid, ReadOptions, Snapshot, SnapshotMeta, SnapshotWriter};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const BEARER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.graph-token.c2ln";
const SOTA: &str = "sota.kimura@example.co.jp";
const OLD_GUID: &str = "af043783-67d3-4dcf-b01e-16a24824799e";
const OLD_LINKAGE: &str = "gzcEr9Nnz02wHhaiSCR5ng==";
const NEW_LINKAGE: &str = "Md4N7zKpqku47N94oxQGRQ==";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dirsnap() -> Command {
    let mut c = Command::cargo_bin("dirsnap").unwrap();
    c.env_remove("RUST_LOG").timeout(Duration::from_secs(120));
    c
}

fn meta_of(m: &Manifest) -> SnapshotMeta {
    SnapshotMeta {
        source: m.source.clone(),
        taken_at: Some(m.taken_at),
        config_digest: m.config_digest.clone(),
        filters: m.filters.clone(),
        config: m.config.clone(),
        notes: m.notes.clone(),
    }
}

/// The demo AD snapshot; with `same_linkage`, sota.kimura's new object carries the old
/// objectGUID in mS-DS-ConsistencyGuid (typed columns and the raw LDAP attributes agree).
fn ad_snapshot(out: &Path, same_linkage: bool) {
    let t = Snapshot::open(root().join("fixtures/demo/ad"))
        .unwrap()
        .read::<Ad>(&ReadOptions::default())
        .unwrap();
    let mut users = t.users;
    let old: Guid = OLD_GUID.parse().unwrap();
    let mut found = false;
    for u in users.iter_mut() {
        if u.user_principal_name.as_deref() == Some(SOTA) {
            found = true;
            assert_ne!(
                u.object_guid, old,
                "the demo's sota.kimura is the recreated one"
            );
            if same_linkage {
                let bytes = old.as_bytes().to_vec();
                let mut raw: serde_json::Map<String, Value> = serde_json::from_str(&u.raw).unwrap();
                raw.insert(
                    "mS-DS-ConsistencyGuid".into(),
                    serde_json::json!([{
                        "base64": old.to_base64()
                    }]),
                );
                u.raw = Value::Object(raw).to_string();
                u.consistency_guid = Some(bytes);
            }
        }
    }
    assert!(found, "fixtures/demo/ad has {SOTA}");
    let mut w = SnapshotWriter::<Ad>::create(out).unwrap();
    w.write_users(&users).unwrap();
    w.write_groups(&t.groups).unwrap();
    w.write_memberships(&t.memberships).unwrap();
    w.commit(meta_of(&t.manifest)).unwrap();
}

/// The demo IID snapshot with the old sota.kimura in pending deletion (deleted from AD by an
/// earlier sync): disabled, application-linking ID still the old objectGUID's.
fn iid_snapshot(out: &Path) {
    let t = Snapshot::open(root().join("fixtures/demo/iid"))
        .unwrap()
        .read::<Iid>(&ReadOptions::default())
        .unwrap();
    let mut users = t.users;
    let u = users.iter_mut().find(|u| u.user_name == SOTA).unwrap();
    assert_eq!(u.downstream_id.as_deref(), Some(OLD_LINKAGE));
    u.pending_deletion = true;
    u.active = false;
    let mut raw: serde_json::Map<String, Value> = serde_json::from_str(&u.raw).unwrap();
    raw.insert("active".into(), Value::Bool(false));
    u.raw = Value::Object(raw).to_string();
    let mut w = SnapshotWriter::<Iid>::create(out).unwrap();
    w.write_users(&users).unwrap();
    w.write_groups(&t.groups).unwrap();
    w.write_memberships(&t.memberships).unwrap();
    w.commit(meta_of(&t.manifest)).unwrap();
}

/// `dirsnap export m365` of fixtures/m365/recreate/<row>.json served on loopback.
fn export_m365(row: &str, out: &Path) {
    let tenant =
        FixtureTenant::load(&root().join(format!("fixtures/m365/recreate/{row}.json"))).unwrap();
    let fx = GraphFixture::start(
        tenant,
        FixtureConfig {
            bearer_token: Some(BEARER.into()),
            ..FixtureConfig::default()
        },
    )
    .unwrap();
    dirsnap()
        .env("GRAPH_TOKEN", BEARER)
        .args(["export", "m365", "--token-env", "GRAPH_TOKEN", "--quiet"])
        .args(["--graph-url", fx.graph_url(), "--out"])
        .arg(out)
        .assert()
        .success();
}

struct Outcome {
    exit: Option<i32>,
    /// (code, severity, message) of every finding about sota.kimura.
    findings: Vec<(String, String, String)>,
    /// (op, rule) of every action on sota.kimura.
    actions: Vec<(String, String)>,
}

fn run_row(row: &str, same_linkage: bool) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let (ad, iid, m365, plan) = (
        dir.path().join("ad"),
        dir.path().join("iid"),
        dir.path().join("m365"),
        dir.path().join("plan"),
    );
    ad_snapshot(&ad, same_linkage);
    iid_snapshot(&iid);
    export_m365(row, &m365);
    let run = dirsnap()
        .args(["reconcile", "--quiet", "--config"])
        .arg(root().join("fixtures/demo/config.yml"))
        .arg("--ad")
        .arg(&ad)
        .arg("--previous-ad")
        .arg(root().join("fixtures/demo/ad-previous"))
        .arg("--iid")
        .arg(&iid)
        .arg("--m365")
        .arg(&m365)
        .arg("--out")
        .arg(&plan)
        .output()
        .unwrap();
    let plan: Value =
        serde_json::from_slice(&std::fs::read(plan.join("plan.json")).unwrap()).unwrap();
    let about_sota = |v: &Value| {
        v["subject"].as_str().is_some_and(|s| s.contains(SOTA))
            || v["user_name"].as_str() == Some(SOTA)
            || v["name"].as_str() == Some(SOTA)
    };
    let findings = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| about_sota(f))
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let actions = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a.to_string().contains(SOTA))
        .map(|a| {
            (
                a["op"].as_str().unwrap_or_default().to_string(),
                a["rule"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    Outcome {
        exit: run.status.code(),
        findings,
        actions,
    }
}

fn codes(o: &Outcome) -> Vec<&str> {
    let mut c: Vec<&str> = o.findings.iter().map(|f| f.0.as_str()).collect();
    c.sort();
    c
}

fn m365_finding(o: &Outcome) -> &(String, String, String) {
    let m: Vec<_> = o
        .findings
        .iter()
        .filter(|f| f.0.starts_with("M365_RECREATE_"))
        .collect();
    assert_eq!(m.len(), 1, "exactly one M365 finding: {:?}", o.findings);
    m[0]
}

/// Row 1: same linkage ID, blocked account exists → linkage succeeds, the account is unblocked
/// and reused; the pending user is restored (both keys match).
#[test]
fn row1_same_id_blocked_account_is_unblocked() {
    let o = run_row("same-id-blocked", true);
    let (code, severity, message) = m365_finding(&o);
    assert_eq!(
        (code.as_str(), severity.as_str()),
        ("M365_RECREATE_UNBLOCK", "info")
    );
    assert!(message.contains(OLD_LINKAGE), "{message}");
    assert!(
        o.actions.iter().any(|a| a.0 == "restore_user"),
        "{:?}",
        o.actions
    );
    assert!(!codes(&o).contains(&"RECREATED_PENDING_DELETION"));
}

/// Row 2: same linkage ID, no account → a new account is created.
#[test]
fn row2_same_id_no_account_gets_a_new_one() {
    let o = run_row("same-id-absent", true);
    let (code, severity, _) = m365_finding(&o);
    assert_eq!(
        (code.as_str(), severity.as_str()),
        ("M365_RECREATE_NEW_ACCOUNT", "info")
    );
    assert!(o.actions.iter().any(|a| a.0 == "restore_user"));
}

/// Row 3: different linkage ID, blocked account exists → linkage fails as a duplicate: error,
/// exit 3, with the remediation the precautions give.
#[test]
fn row3_different_id_blocked_account_collides() {
    let o = run_row("different-id-blocked", false);
    let (code, severity, message) = m365_finding(&o);
    assert_eq!(
        (code.as_str(), severity.as_str()),
        ("M365_RECREATE_COLLISION", "error")
    );
    assert!(
        message.contains(OLD_LINKAGE) && message.contains(NEW_LINKAGE),
        "{message}"
    );
    assert_eq!(o.exit, Some(3), "an error finding blocks the plan");
    // The pending user is not restored (its linkage ID differs): Directory Sync does nothing.
    assert!(codes(&o).contains(&"RECREATED_PENDING_DELETION"));
    assert!(
        !o.actions.iter().any(|a| a.0 == "restore_user"),
        "{:?}",
        o.actions
    );
}

/// Row 4: different linkage ID, no account → a new account.
#[test]
fn row4_different_id_no_account_gets_a_new_one() {
    let o = run_row("different-id-absent", false);
    let (code, severity, message) = m365_finding(&o);
    assert_eq!(
        (code.as_str(), severity.as_str()),
        ("M365_RECREATE_NEW_ACCOUNT", "info")
    );
    assert!(!message.contains("recycle bin"), "{message}");
    assert_eq!(o.exit, Some(3), "RECREATED_PENDING_DELETION is an error");
}

/// The blocked account only in the recycle bin: Entra keeps a soft-deleted user's UPN and
/// immutableId reserved (assumption M1), so linkage fails as with a blocked account until it
/// is deleted for good — an error, with low confidence (an assumption), naming it.
#[test]
fn soft_deleted_account_keeps_the_upn_reserved() {
    let o = run_row("different-id-recycle-bin", false);
    let (code, severity, message) = m365_finding(&o);
    assert_eq!(
        (code.as_str(), severity.as_str()),
        ("M365_RECREATE_COLLISION", "error")
    );
    assert!(message.contains("recycle bin"), "{message}");
    assert!(message.contains("assumption M1"), "{message}");
}
