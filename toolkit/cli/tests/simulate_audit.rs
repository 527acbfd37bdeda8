#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dirsnap simulate` and `dirsnap audit` through the real binary, on the demo fixtures and on
//! a mock IIJ ID edited over SCIM the way an admin edits the console. Expected values come
//! from the demo's source.yml (which users are new, disabled, deleted, edited) and from
//! SPEC §2, not from the program's output.

use assert_cmd::Command;
use dirsnap_mock_scim::{MockConfig, MockServer, TokenSpec};
use dirsnap_snapshot::{Ad, Iid, KindSpec, ReadOptions, Snapshot, SnapshotMeta, SnapshotWriter};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TOKEN: &str = "audit-test-token";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn demo(name: &str) -> PathBuf {
    root().join("fixtures/demo").join(name)
}

fn dirsnap() -> Command {
    let mut c = Command::cargo_bin("dirsnap").unwrap();
    c.env_remove("RUST_LOG")
        .env_remove("DIRSNAP_IID_TOKEN")
        .timeout(Duration::from_secs(180));
    c
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// A copy of a snapshot with its users filtered.
fn copy_without<K: KindSpec>(from: &Path, to: &Path, keep: impl Fn(&K::User) -> bool) {
    let t = Snapshot::open(from)
        .unwrap()
        .read::<K>(&ReadOptions::default())
        .unwrap();
    let users: Vec<K::User> = t.users.into_iter().filter(|u| keep(u)).collect();
    let m = &t.manifest;
    let mut w = SnapshotWriter::<K>::create(to).unwrap();
    w.write_users(&users).unwrap();
    w.write_groups(&t.groups).unwrap();
    w.write_memberships(&t.memberships).unwrap();
    w.commit(SnapshotMeta {
        source: m.source.clone(),
        taken_at: Some(m.taken_at),
        config_digest: m.config_digest.clone(),
        filters: m.filters.clone(),
        config: m.config.clone(),
        notes: m.notes.clone(),
    })
    .unwrap();
}

fn simulate(out: &Path, config: &Path, ad: &Path, iid: &Path) -> std::process::Output {
    dirsnap()
        .args(["simulate", "--quiet", "--config"])
        .arg(config)
        .arg("--ad")
        .arg(ad)
        .arg("--iid")
        .arg(iid)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn plan_actions(plan_dir: &Path) -> Vec<Value> {
    read_json(&plan_dir.join("plan.json"))["actions"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn simulate_on_the_demo_converges_and_leaves_every_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sim");
    let run = simulate(&out, &demo("config.yml"), &demo("ad"), &demo("iid"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The demo tenant has a recreated user (RECREATED_PENDING_DELETION, an error): the plan
    // converges, but `replay` would refuse it without --allow-blocked and the error is still
    // there after the replay (Directory Sync logs it on every run): converged, not ready,
    // exit 3 — and nothing says the tenant is done.
    assert_eq!(run.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("converges"), "{stderr}");
    assert!(stderr.contains("NOT ready"), "{stderr}");
    assert!(stdout.contains("converged   yes"), "{stdout}");
    assert!(stdout.contains("ready       NO"), "{stdout}");
    assert!(
        !stdout.contains("leaves nothing for the next sync to do"),
        "{stdout}"
    );
    let sim = read_json(&out.join("simulation.json"));
    assert_eq!(sim["converged"], json!(true), "{sim}");
    assert_eq!(sim["ready"], json!(false), "{sim}");
    assert_eq!(sim["blocked"], json!(true));
    let codes = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(codes(&sim["first"]["blocking"]).contains(&"RECREATED_PENDING_DELETION".into()));
    assert!(
        codes(&sim["second"]["blocking"]).contains(&"RECREATED_PENDING_DELETION".into()),
        "{sim}"
    );
    assert_eq!(sim["second"]["actions"], json!(0));
    let first = plan_actions(&out.join("plan"));
    assert!(!first.is_empty());
    assert_eq!(sim["replay"]["applied"], json!(first.len()), "{sim}");
    assert_eq!(sim["replay"]["failed"], json!(0));
    assert!(plan_actions(&out.join("plan-after")).is_empty());
    assert!(out.join("plan/report.html").is_file());
    assert!(out.join("plan/journal.jsonl").is_file());
    // The post-replay state is a valid IID snapshot: the new users of source.yml are there,
    // the user deleted from AD (yui.yamaguchi) is in pending deletion.
    let after = Snapshot::open(out.join("iid-after"))
        .unwrap()
        .read::<Iid>(&ReadOptions::default())
        .unwrap();
    let find = |n: &str| {
        after
            .users
            .iter()
            .find(|u| u.user_name == format!("{n}@example.co.jp"))
            .unwrap_or_else(|| panic!("{n} in iid-after"))
    };
    assert!(!find("koharu.abe").pending_deletion);
    assert!(find("yui.yamaguchi").pending_deletion);
    assert!(!find("akari.ikeda").active, "disabled in AD");
    assert!(after.groups.iter().any(|g| g.display_name == "VPN利用者"));
    // Nothing to do twice: simulating from the post-replay state has an empty first plan.
    let again = dir.path().join("again");
    let run = simulate(
        &again,
        &demo("config.yml"),
        &demo("ad"),
        &out.join("iid-after"),
    );
    assert!(run.status.code() == Some(0) || run.status.code() == Some(3));
    assert!(plan_actions(&again.join("plan")).is_empty());
}

/// A config whose userName domain is not registered at the tenant: the mock (like IIJ ID)
/// answers 404 "organization is not found" to the creates, so the simulation does not
/// converge and says which actions are still pending.
#[test]
fn simulate_reports_what_does_not_converge() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(demo("config.yml")).unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        text.replace(
            "dirsnap:\n",
            "dirsnap:\n  profile:\n    tenant_domains: [corp.example]\n",
        ),
    )
    .unwrap();
    let out = dir.path().join("sim");
    let run = simulate(&out, &config, &demo("ad"), &demo("iid"));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("does NOT converge"), "{stderr}");
    let sim = read_json(&out.join("simulation.json"));
    assert_eq!(sim["converged"], json!(false));
    let pending: Vec<(String, String)> = sim["not_converged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["op"].as_str().unwrap().to_string(),
                a["subject"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    // source.yml's two new users cannot be created.
    for who in ["koharu.abe@example.co.jp", "tsumugi.ogawa@example.co.jp"] {
        assert!(
            pending.contains(&("create_user".into(), who.into())),
            "{who} in {pending:?}"
        );
    }
    let failures = sim["replay"]["failures"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .any(|f| f["status"] == json!(404) && f["op"] == json!("create_user")),
        "{failures:?}"
    );
    assert!(stdout.contains("converged   NO"), "{stdout}");
}

/// Without the recreated user the demo has no error finding: the simulation converges and is
/// ready, the only case that exits 0.
#[test]
fn simulate_converged_and_ready_is_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let ad = dir.path().join("ad");
    copy_without::<Ad>(&demo("ad"), &ad, |u| {
        u.sam_account_name.as_deref() != Some("sota.kimura")
    });
    let iid = dir.path().join("iid");
    copy_without::<Iid>(&demo("iid"), &iid, |u| {
        !u.user_name.starts_with("sota.kimura")
    });
    let out = dir.path().join("sim");
    let run = simulate(&out, &demo("config.yml"), &ad, &iid);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    let sim = read_json(&out.join("simulation.json"));
    assert_eq!(sim["converged"], json!(true), "{sim}");
    assert_eq!(sim["ready"], json!(true), "{sim}");
    assert_eq!(sim["blocked"], json!(false));
    assert!(stdout.contains("converged   yes"), "{stdout}");
    assert!(stdout.contains("ready       yes"), "{stdout}");
}

fn audit(out: &Path, live: &Path, previous: Option<&Path>, ad: &Path) -> std::process::Output {
    let mut c = dirsnap();
    c.args(["audit", "--quiet", "--config"])
        .arg(demo("config.yml"))
        .arg("--ad")
        .arg(ad)
        .arg("--iid")
        .arg(live)
        .arg("--out")
        .arg(out);
    if let Some(p) = previous {
        c.arg("--previous-iid").arg(p);
    }
    c.output().unwrap()
}

/// The tenant after a sync (simulate's post-replay state), then console edits made over SCIM
/// on a mock seeded with it, exported with `dirsnap export iid`: the audit lists each edit and
/// what recovery mode would do to it, and the verdict is "not safe" (exit 3).
#[test]
fn audit_reports_each_console_edit() {
    let dir = tempfile::tempdir().unwrap();
    // A synced tenant: the demo after simulate, without the recreated user (whose error
    // would make every verdict unsafe).
    let sim = dir.path().join("sim");
    simulate(&sim, &demo("config.yml"), &demo("ad"), &demo("iid"));
    let ad = dir.path().join("ad");
    copy_without::<Ad>(&demo("ad"), &ad, |u| {
        u.sam_account_name.as_deref() != Some("sota.kimura")
    });
    let synced = dir.path().join("synced");
    copy_without::<Iid>(&sim.join("iid-after"), &synced, |u| {
        !u.user_name.starts_with("sota.kimura")
    });

    // Before any edit: safe, nothing to do.
    let clean = dir.path().join("clean");
    let run = audit(&clean, &synced, Some(&synced), &ad);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let a = read_json(&clean.join("audit.json"));
    assert_eq!(a["safe"], json!(true), "{a}");
    assert_eq!(a["counts"]["console_edits"], json!(0));
    assert_eq!(a["counts"]["recovery_actions"], json!(0));
    assert!(clean.join("audit.html").is_file() && clean.join("audit.md").is_file());
    assert!(clean.join("recovery-plan/plan.json").is_file());

    // The console edits, on a mock seeded with the synced tenant.
    let mut config = MockConfig::iij();
    config.tokens.push(TokenSpec::new(TOKEN));
    config.seed_snapshot = Some(synced.clone());
    let mut server = MockServer::spawn(config, "127.0.0.1:0").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let send = |r: reqwest::RequestBuilder| {
        rt.block_on(async {
            let resp = r.bearer_auth(TOKEN).send().await.unwrap();
            (resp.status(), resp.text().await.unwrap_or_default())
        })
    };
    let users = server.users();
    let id_of = |name: &str| {
        users
            .iter()
            .find(|(u, _)| u["userName"] == json!(format!("{name}@example.co.jp")))
            .map(|(u, _)| u["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let patch = |id: &str, path: &str, value: Value| {
        let (status, body) = send(
            http.patch(format!("{}Users/{id}", server.url()))
                .header("Content-Type", "application/scim+json")
                .json(&json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": path, "value": value}]
                })),
        );
        assert!(status.is_success(), "{body}");
    };
    patch(
        &id_of("taro.yamada"),
        "displayName",
        json!("山田 太郎 (本社)"),
    );
    patch(&id_of("hanako.sato"), "title", json!("課長代理"));
    let deleted = id_of("ren.yoshida");
    let (status, body) = send(http.delete(format!("{}Users/{deleted}", server.url())));
    assert!(status.is_success(), "{body}");
    let (status, body) = send(
        http.post(format!("{}Users", server.url()))
            .header("Content-Type", "application/scim+json")
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "console.only@example.co.jp",
                "externalId": "console.only@example.co.jp",
                "displayName": "Console Only",
                "active": true,
            })),
    );
    assert!(status.is_success(), "{body}");

    let live = dir.path().join("live");
    dirsnap()
        .env("DIRSNAP_IID_TOKEN", TOKEN)
        .args(["export", "iid", "--quiet", "--base-url", server.url()])
        .arg("--config")
        .arg(demo("config.yml"))
        .arg("--out")
        .arg(&live)
        .assert()
        .success();
    server.stop();

    let out = dir.path().join("audit");
    let run = audit(&out, &live, Some(&synced), &ad);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("NOT SAFE"), "{stdout}");
    let a = read_json(&out.join("audit.json"));
    assert_eq!(a["safe"], json!(false));
    let drift = a["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == json!("console-drift"))
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .clone();
    let item = |who: &str| {
        drift
            .iter()
            .find(|i| i["subject"].as_str().unwrap().contains(who))
            .unwrap_or_else(|| panic!("{who} in console drift: {drift:?}"))
            .to_string()
    };
    let taro = item("taro.yamada");
    assert!(
        taro.contains("displayName") && taro.contains("山田 太郎 (本社)"),
        "{taro}"
    );
    assert!(taro.contains("recovery mode would update_user"), "{taro}");
    let hanako = item("hanako.sato");
    assert!(
        hanako.contains("title") && hanako.contains("課長代理"),
        "{hanako}"
    );
    let ren = item("ren.yoshida");
    assert!(ren.contains("gone from the live tenant"), "{ren}");
    assert!(ren.contains("create_user") && ren.contains("409"), "{ren}");
    assert!(item("console.only").contains("not in the last-known state"));
    // ren.yoshida's console delete also shows as a member gone from its group.
    assert!(item("総務部").contains("removed"));
    assert_eq!(drift.len(), 5, "{drift:?}");
    // Recovery mode puts the console-created user (no AD source) into pending deletion.
    let md = std::fs::read_to_string(out.join("audit.md")).unwrap();
    if std::env::var_os("DIRSNAP_SHOW_AUDIT").is_some() {
        eprintln!("{md}");
    }
    assert!(md.contains("console.only@example.co.jp"), "{md}");
    let reasons = a["reasons"].to_string();
    assert!(reasons.contains("edited in IIJ ID Console"), "{reasons}");
    assert!(reasons.contains("would be created again"), "{reasons}");
    assert_eq!(a["counts"]["predicted_conflicts"], json!(1));

    // Accepting the reverts and the one delete still leaves the predicted 409: not safe.
    let accepted = dir.path().join("accepted");
    let mut c = dirsnap();
    let run = c
        .args([
            "audit",
            "--quiet",
            "--accept-console-edits",
            "--allow-deletes",
            "1",
        ])
        .arg("--config")
        .arg(demo("config.yml"))
        .arg("--ad")
        .arg(&ad)
        .arg("--iid")
        .arg(&live)
        .arg("--previous-iid")
        .arg(&synced)
        .arg("--out")
        .arg(&accepted)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(3));
    let a = read_json(&accepted.join("audit.json"));
    assert_eq!(a["reasons"].as_array().unwrap().len(), 1, "{a}");
    assert!(
        a["notes"]
            .to_string()
            .contains("accepted with --accept-console-edits"),
        "{a}"
    );
}

/// Without --previous-iid the audit says console edits are unknown rather than "none".
#[test]
fn audit_without_previous_state_says_drift_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit");
    let run = audit(&out, &demo("iid"), None, &demo("ad"));
    assert_eq!(run.status.code(), Some(3), "the demo has blocking findings");
    let md = std::fs::read_to_string(out.join("audit.md")).unwrap();
    assert!(md.contains("Not known: pass --previous-iid"), "{md}");
    // An existing report directory is never overwritten.
    let again = audit(&out, &demo("iid"), None, &demo("ad"));
    assert_eq!(again.status.code(), Some(2));
}
