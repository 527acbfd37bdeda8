#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dirsnap export iid` through the real binary against the in-process mock IIJ ID.

use assert_cmd::Command;
use dirsnap_mock_scim::{FaultSpec, MockConfig, MockServer, TokenSpec};
use dirsnap_snapshot::{Iid, ReadOptions, Snapshot};
use predicates::prelude::PredicateBooleanExt as _;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const TOKEN: &str = "mock-token-7f3a9c";
const PUBLIC_URL: &str = "https://scim.example.test/scim/v2/";

fn demo_iid() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/iid")
}

fn config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("config.yml");
    std::fs::write(&path, format!("dirsnap:\n  instance: test\n{extra}")).unwrap();
    path
}

fn mock(faults: &[&str], page_cap: usize, extra_users: u32) -> MockServer {
    let mut c = MockConfig::iij();
    c.tokens.push(TokenSpec::new(TOKEN));
    c.faults = FaultSpec::parse_all(faults).unwrap();
    c.profile.page_size_cap = page_cap;
    c.public_url = Some(PUBLIC_URL.into());
    c.seed_snapshot = Some(demo_iid());
    let server = MockServer::spawn(c, "127.0.0.1:0").unwrap();
    let users = (0..extra_users)
        .map(|i| {
            (
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "id": format!("bulk-{i:05}"),
                    "userName": format!("bulk{i}@example.co.jp"),
                    "externalId": format!("bulk{i}@example.co.jp"),
                    "active": i % 5 != 0,
                }),
                false,
            )
        })
        .collect();
    server.seed_resources(users, Vec::new()).unwrap();
    server
}

/// Where the mock really listens (its `url()` is the public URL written into resources).
fn base(server: &MockServer) -> String {
    format!("{}scim/v2/", server.root_url())
}

fn export(
    server: &MockServer,
    dir: &Path,
    name: &str,
    extra_args: &[&str],
) -> assert_cmd::assert::Assert {
    let cfg = config(dir, "");
    Command::cargo_bin("dirsnap")
        .unwrap()
        .env("DIRSNAP_IID_TOKEN", TOKEN)
        .args(["export", "iid", "--base-url", &base(server), "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.join(name))
        .args(extra_args)
        .assert()
}

fn data_digests(snap: &Path) -> Vec<(String, String)> {
    let m = Snapshot::open(snap).unwrap().manifest().clone();
    m.files.into_iter().map(|(k, v)| (k, v.sha256)).collect()
}

#[test]
fn a_fault_storm_gives_the_same_snapshot_as_a_quiet_export() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = mock(&[], 100, 400);
    export(&quiet, dir.path(), "quiet", &["--page-size", "10"]).success();
    let stormy = mock(
        &["seed=7,latency=1ms..4ms,429=10%:retry-after=0,5xx=5%,drop=1%"],
        100,
        400,
    );
    export(
        &stormy,
        dir.path(),
        "stormy",
        &["--page-size", "10", "--concurrency", "4"],
    )
    .success();
    let stats = stormy.stats();
    assert!(
        stats.faults_status + stats.faults_dropped >= 3,
        "the storm injected too few faults to prove anything: {stats:?}"
    );
    assert_eq!(
        data_digests(&dir.path().join("quiet")),
        data_digests(&dir.path().join("stormy"))
    );
    let t = Snapshot::open(dir.path().join("stormy"))
        .unwrap()
        .read::<Iid>(&ReadOptions::default())
        .unwrap();
    assert_eq!(t.users.len(), 28 + 400);
    assert_eq!(t.groups.len(), 5);
}

#[test]
fn capped_pages_ten_thousand_users_and_a_group_of_2500_are_read_completely() {
    let dir = tempfile::tempdir().unwrap();
    let server = mock(&[], 7, 10_001 - 28);
    let members: Vec<Value> = (0..2_500)
        .map(|i| json!({"value": format!("bulk-{i:05}")}))
        .collect();
    server
        .seed_resources(
            Vec::new(),
            vec![json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "id": "big-group",
                "displayName": "全社員 (bulk)",
                "members": members,
            })],
        )
        .unwrap();
    export(
        &server,
        dir.path(),
        "snap",
        &["--page-size", "100", "--concurrency", "8"],
    )
    .success();
    let snap = Snapshot::open(dir.path().join("snap")).unwrap();
    let t = snap.read::<Iid>(&ReadOptions::default()).unwrap();
    let expected = server.tables().unwrap();
    assert_eq!(t.users.len(), 10_001);
    assert_eq!(t.users.len(), expected.users.len());
    assert_eq!(t.groups.len(), expected.groups.len());
    let big: Vec<_> = t
        .memberships
        .iter()
        .filter(|m| m.group_key == "big-group")
        .collect();
    assert_eq!(big.len(), 2_500);
    assert!(big.iter().all(|m| m.in_scope));
    assert_eq!(t.memberships.len(), expected.memberships.len());
    assert!(
        snap.manifest()
            .notes
            .iter()
            .any(|n| n.contains("at most 7 rows per page")),
        "{:?}",
        snap.manifest().notes
    );
}

#[test]
fn the_token_never_appears_in_logs_errors_or_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let server = mock(&["seed=3,429=20%:retry-after=0"], 100, 50);
    let out = export(&server, dir.path(), "snap", &["--page-size", "10"])
        .success()
        .get_output()
        .clone();
    let _ = out;
    let cfg = config(dir.path(), "");
    let run = Command::cargo_bin("dirsnap")
        .unwrap()
        .env("DIRSNAP_IID_TOKEN", TOKEN)
        .env("RUST_LOG", "trace")
        .args(["export", "iid", "--base-url", &base(&server), "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("traced"))
        .args(["--page-size", "10"])
        .output()
        .unwrap();
    assert!(run.status.success());
    let logs = String::from_utf8_lossy(&run.stderr);
    assert!(
        logs.contains("TRACE") && logs.contains("retrying in"),
        "trace logging was not on: {}",
        &logs[..logs.len().min(2000)]
    );
    assert!(!logs.contains(TOKEN), "token leaked into logs");
    for snap in ["snap", "traced"] {
        for entry in std::fs::read_dir(dir.path().join(snap)).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(
                !bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
                "token found in a snapshot file"
            );
        }
    }
}

#[test]
fn a_token_expiring_midway_is_exit_1_with_the_token_message_and_no_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let server = mock(&["token-expiry-after=5"], 100, 200);
    export(
        &server,
        dir.path(),
        "snap",
        &["--page-size", "10", "--concurrency", "1"],
    )
    .code(1)
    .stderr(predicates::str::contains("expired or was revoked"))
    .stderr(predicates::str::contains(TOKEN).not());
    assert!(!dir.path().join("snap").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("snap"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn jwt(exp: i64) -> String {
    use base64::Engine as _;
    let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.sig",
        enc(r#"{"alg":"RS256","typ":"JWT"}"#),
        enc(&format!(r#"{{"exp":{exp}}}"#))
    )
}

#[test]
fn an_expired_jwt_is_refused_before_any_request_and_one_expiring_soon_warns() {
    let dir = tempfile::tempdir().unwrap();
    let expired = jwt(chrono::Utc::now().timestamp() - 3600);
    let soon = jwt(chrono::Utc::now().timestamp() + 3 * 86_400);
    let mut c = MockConfig::iij();
    c.tokens.push(TokenSpec::new(expired.clone()));
    c.tokens.push(TokenSpec::new(soon.clone()));
    let server = MockServer::spawn(c, "127.0.0.1:0").unwrap();
    let cfg = config(dir.path(), "");
    Command::cargo_bin("dirsnap")
        .unwrap()
        .env("DIRSNAP_IID_TOKEN", &expired)
        .args(["export", "iid", "--base-url", &base(&server), "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("a"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("expired at"))
        .stderr(predicates::str::contains("nothing was sent"));
    assert_eq!(server.stats().requests, 0);
    Command::cargo_bin("dirsnap")
        .unwrap()
        .env("DIRSNAP_IID_TOKEN", &soon)
        .args(["export", "iid", "--base-url", &base(&server), "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("b"))
        .assert()
        .success()
        .stderr(predicates::str::contains("expires at"));
}

#[test]
fn the_config_scim_filters_are_applied_by_the_server_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = mock(&[], 100, 0);
    let cfg = config(
        dir.path(),
        "iid:\n  scim:\n    filter:\n      user: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"開発部\"'\n      group: 'displayName eq \"\"'\n",
    );
    Command::cargo_bin("dirsnap")
        .unwrap()
        .env("DIRSNAP_IID_TOKEN", TOKEN)
        .args(["export", "iid", "--base-url", &base(&server), "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("snap"))
        .assert()
        .success();
    let snap = Snapshot::open(dir.path().join("snap")).unwrap();
    let t = snap.read::<Iid>(&ReadOptions::default()).unwrap();
    // fixtures/demo/source.yml: department 開発部 has 12 users; koharu.abe is new in AD and
    // not yet in IIJ ID, so 11 (john.smith and maria.garcia included).
    assert_eq!(
        t.users.len(),
        11,
        "{:?}",
        t.users.iter().map(|u| &u.user_name).collect::<Vec<_>>()
    );
    assert!(
        t.users
            .iter()
            .all(|u| u.department.as_deref() == Some("開発部"))
    );
    // The precautions' "no groups" filter selects nothing.
    assert_eq!(t.groups.len(), 0);
    assert_eq!(
        snap.manifest().filters.group.as_deref(),
        Some("displayName eq \"\"")
    );
}

#[test]
fn missing_token_and_existing_output_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    Command::cargo_bin("dirsnap")
        .unwrap()
        .env_remove("DIRSNAP_IID_TOKEN")
        .args([
            "export",
            "iid",
            "--base-url",
            "http://127.0.0.1:9/",
            "--config",
        ])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("x"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("DIRSNAP_IID_TOKEN"));
    std::fs::create_dir(dir.path().join("exists")).unwrap();
    Command::cargo_bin("dirsnap")
        .unwrap()
        .env("DIRSNAP_IID_TOKEN", TOKEN)
        .args([
            "export",
            "iid",
            "--base-url",
            "http://127.0.0.1:9/",
            "--config",
        ])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("exists"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("already exists"));
}

#[test]
fn json_is_the_only_thing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let server = mock(&[], 100, 10);
    let out = export(&server, dir.path(), "snap", &["--json"]).success();
    let o = out.get_output();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("exported 38 users"), "{stderr}");
    assert_eq!(v["kind"], "iid");
    assert_eq!(v["out"], dir.path().join("snap").display().to_string());
    assert_eq!(v["counts"]["users"], 28 + 10);
    assert_eq!(v["counts"]["groups"], 5);
    assert_eq!(v["base_url"], base(&server));
    assert!(v["requests"].as_u64().unwrap() > 0);
    assert!(v["duration_seconds"].as_f64().unwrap() >= 0.0);
    for (name, sha) in data_digests(&dir.path().join("snap")) {
        assert_eq!(v["files"][&name]["sha256"], sha, "{name}");
    }
}
