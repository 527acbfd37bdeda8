#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dirsnap export m365` through the real binary: against a loopback Microsoft Graph (the
//! `fixture-server` of dirsnap-m365: real HTTP, paging, throttling, token endpoint), and from
//! the admin center CSV samples in fixtures/m365/csv. Expected values come from the fixture
//! data and docs/m365-export.md's mapping, not from the program's output.

use assert_cmd::Command;
use chrono::{DateTime, TimeZone, Utc};
use dirsnap_m365::fixture::{
    Endpoint, Fault, FixtureClient, FixtureConfig, FixtureTenant, GraphFixture,
};
use dirsnap_model::M365User;
use dirsnap_snapshot::{M365, ReadOptions, Snapshot};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TENANT: &str = "11111111-2222-4333-8444-555555555555";
const CLIENT: &str = "dirsnap-test-app";
const SECRET: &str = "Xq8~client-secret-value-do-not-print";
const BEARER: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.bearer-token-do-not-print.c2ln";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/m365")
}

/// The binary with a clean environment for the variables it reads.
fn dirsnap() -> Command {
    let mut c = Command::cargo_bin("dirsnap").unwrap();
    for v in [
        "DIRSNAP_M365_TENANT_ID",
        "DIRSNAP_M365_CLIENT_ID",
        "DIRSNAP_M365_CLIENT_SECRET",
        "DIRSNAP_M365_AUTHORITY",
        "DIRSNAP_M365_SCOPE",
        "RUST_LOG",
        "NO_COLOR",
    ] {
        c.env_remove(v);
    }
    c.timeout(Duration::from_secs(120));
    c
}

fn client_env(cmd: &mut Command, fx: &GraphFixture) {
    cmd.env("DIRSNAP_M365_TENANT_ID", TENANT)
        .env("DIRSNAP_M365_CLIENT_ID", CLIENT)
        .env("DIRSNAP_M365_CLIENT_SECRET", SECRET)
        .env("DIRSNAP_M365_AUTHORITY", fx.authority_url());
}

fn fixture_client() -> Option<FixtureClient> {
    Some(FixtureClient {
        tenant_id: TENANT.into(),
        client_id: CLIENT.into(),
        client_secret: SECRET.into(),
    })
}

fn graph_user(i: usize, enabled: bool) -> Value {
    let names = [
        "山田 太郎",
        "佐藤 花子",
        "鈴木 一郎",
        "高橋 由紀",
        "田中 健二",
        "渡辺 舞",
        "伊藤 翔太",
    ];
    json!({
        "id": format!("00000000-0000-4000-8000-{i:012}"),
        "userPrincipalName": format!("user{i}@example.co.jp"),
        "displayName": names[i % names.len()],
        "accountEnabled": enabled,
        "onPremisesImmutableId": format!("immutable-{i}=="),
        "mail": format!("user{i}@example.co.jp"),
        "assignedLicenses": [{"disabledPlans": [], "skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965"}],
        "createdDateTime": format!("2024-04-{:02}T00:00:00Z", i + 1),
        "jobTitle": "not selected, must not be exported",
    })
}

fn deleted_user(i: usize) -> Value {
    let id = format!("00000000-0000-4000-9000-{i:012}");
    json!({
        "@odata.type": "#microsoft.graph.user",
        "id": id,
        "userPrincipalName": format!("{}gone{i}@example.co.jp", id.replace('-', "")),
        "displayName": format!("削除済み {i}"),
        "accountEnabled": false,
        "onPremisesImmutableId": format!("deleted-immutable-{i}=="),
        "mail": null,
        "assignedLicenses": [],
        "createdDateTime": "2023-01-01T00:00:00Z",
        "deletedDateTime": format!("2026-11-{:02}T12:00:00Z", i + 1),
    })
}

/// 7 users (3 pages of at most 3), 2 of them blocked; 2 soft-deleted users.
fn tenant() -> FixtureTenant {
    FixtureTenant {
        users: (0..7).map(|i| graph_user(i, i % 3 != 2)).collect(),
        deleted_users: (0..2).map(deleted_user).collect(),
    }
}

fn read_users(snap: &Path) -> Vec<M365User> {
    Snapshot::open(snap)
        .unwrap()
        .read::<M365>(&ReadOptions::default())
        .unwrap()
        .users
}

/// Every byte of every file under `dir`, for secret scans.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_bytes(&p));
        } else {
            out.extend(std::fs::read(&p).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Nothing but `keep` in `dir`: no snapshot, no leftover temporary directory.
fn assert_only(dir: &Path, keep: &[&str]) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    assert!(
        names.is_empty(),
        "left behind in {}: {names:?}",
        dir.display()
    );
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn graph_export_pages_throttling_deleted_users_and_client_credentials() {
    let fx = GraphFixture::start(
        tenant(),
        FixtureConfig {
            page_size: 3,
            client: fixture_client(),
            faults: vec![
                // The second page of /users is throttled once, the recycle bin is briefly
                // unavailable, and so is the token endpoint.
                Fault {
                    endpoint: Endpoint::Users,
                    page: 1,
                    status: 429,
                    retry_after: Some("1".into()),
                    times: 1,
                },
                Fault {
                    endpoint: Endpoint::DeletedUsers,
                    page: 0,
                    status: 503,
                    retry_after: Some("0".into()),
                    times: 1,
                },
                Fault {
                    endpoint: Endpoint::Token,
                    page: 0,
                    status: 503,
                    retry_after: Some("0".into()),
                    times: 1,
                },
            ],
            ..FixtureConfig::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m365");
    let mut cmd = dirsnap();
    client_env(&mut cmd, &fx);
    let run = cmd
        .env("RUST_LOG", "trace")
        .args(["export", "m365", "--graph-url", fx.graph_url(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "stderr:\n{stderr}");

    // Every user exactly once: 7 + 2 deleted.
    let users = read_users(&out);
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 9, "{ids:?}");
    assert_eq!(unique.len(), 9, "{ids:?}");
    let expected: BTreeSet<String> = tenant()
        .users
        .iter()
        .chain(tenant().deleted_users.iter())
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        unique
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        expected
    );

    let by_id: BTreeMap<&str, &M365User> = users.iter().map(|u| (u.id.as_str(), u)).collect();
    // i % 3 == 2 are blocked: users 2 and 5.
    for i in 0..7 {
        let u = by_id[format!("00000000-0000-4000-8000-{i:012}").as_str()];
        assert_eq!(u.user_principal_name, format!("user{i}@example.co.jp"));
        assert_eq!(u.account_enabled, Some(i % 3 != 2), "user{i}");
        assert_eq!(
            u.immutable_id.as_deref(),
            Some(format!("immutable-{i}==").as_str())
        );
        assert!(u.immutable_id_known);
        assert_eq!(u.licenses, vec!["05e9a617-0261-4cee-bb44-138d3ef5d965"]);
        assert_eq!(
            u.created,
            Some(utc(&format!("2024-04-{:02}T00:00:00Z", i + 1)))
        );
        assert!(!u.deleted && u.deleted_at.is_none());
        // raw is the Graph JSON as received: selected properties only.
        let raw: Value = serde_json::from_str(&u.raw).unwrap();
        assert_eq!(raw["accountEnabled"], json!(i % 3 != 2));
        assert!(raw.get("jobTitle").is_none(), "{raw}");
    }
    for i in 0..2 {
        let u = by_id[format!("00000000-0000-4000-9000-{i:012}").as_str()];
        assert!(u.deleted);
        assert_eq!(
            u.deleted_at,
            Some(utc(&format!("2026-11-{:02}T12:00:00Z", i + 1)))
        );
        // The recycle bin's object-id prefix is removed from the typed column only.
        assert_eq!(u.user_principal_name, format!("gone{i}@example.co.jp"));
        let raw: Value = serde_json::from_str(&u.raw).unwrap();
        assert!(
            raw["userPrincipalName"]
                .as_str()
                .unwrap()
                .starts_with("000000000000")
        );
        assert_eq!(raw["@odata.type"], "#microsoft.graph.user");
    }

    // What went over the wire.
    let reqs = fx.requests();
    let token_calls: Vec<_> = reqs.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(token_calls.len(), 2, "one 503, then the token");
    assert!(
        token_calls
            .iter()
            .all(|r| r.path == format!("/{TENANT}/oauth2/v2.0/token"))
    );
    let gets: Vec<_> = reqs.iter().filter(|r| r.method == "GET").collect();
    // /users: page 0, page 1 (429), page 1, page 2; deleted: page 0 (503), page 0.
    assert_eq!(gets.len(), 6, "{gets:#?}");
    for r in &gets {
        assert!(r.authorized, "{r:?}");
        assert_eq!(r.param("$top"), Some("999"));
        let select: BTreeSet<&str> = r.param("$select").unwrap().split(',').collect();
        for f in [
            "id",
            "userPrincipalName",
            "accountEnabled",
            "onPremisesImmutableId",
            "mail",
            "assignedLicenses",
            "createdDateTime",
        ] {
            assert!(select.contains(f), "{f} not selected in {r:?}");
        }
    }
    let throttled = gets.iter().position(|r| r.status == 429).unwrap();
    let retried = gets[throttled + 1];
    assert_eq!(retried.query, gets[throttled].query, "the same page again");
    assert_eq!(retried.status, 200);
    assert!(
        retried.at.duration_since(gets[throttled].at) >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured"
    );
    assert!(gets.iter().any(|r| {
        r.path
            .ends_with("/directory/deletedItems/microsoft.graph.user")
            && r.status == 200
    }));

    // Summary on stdout.
    assert!(
        stdout.contains("users        7: 5 enabled, 2 blocked"),
        "{stdout}"
    );
    assert!(stdout.contains("deleted      2 soft-deleted"), "{stdout}");

    // Secrets: not in trace logs, output or the snapshot.
    let tokens = fx.issued_tokens();
    assert_eq!(tokens.len(), 1);
    let snapshot_bytes = all_bytes(&out);
    for secret in [SECRET, tokens[0].as_str()] {
        assert!(!stderr.contains(secret), "secret in stderr");
        assert!(!stdout.contains(secret), "secret in stdout");
        assert!(!contains(&snapshot_bytes, secret), "secret in snapshot");
    }
    // The trace log really was on (so the scan above means something).
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "{stderr}"
    );
}

#[test]
fn graph_export_with_token_from_environment_variable() {
    let fx = GraphFixture::start(
        tenant(),
        FixtureConfig {
            page_size: 4,
            bearer_token: Some(BEARER.into()),
            ..FixtureConfig::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m365");
    let run = dirsnap()
        .env("RUST_LOG", "trace")
        .env("MY_GRAPH_TOKEN", BEARER)
        .args(["export", "m365", "--token-env", "MY_GRAPH_TOKEN", "--json"])
        .args(["--graph-url", fx.graph_url(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let summary: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(summary["counts"]["users"], 9);
    assert_eq!(summary["counts"]["blocked"], 2);
    assert_eq!(summary["counts"]["deleted"], 2);
    // The files written, with the sha256 the manifest records; the duration; the summary
    // for people on stderr.
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(summary["files"], m["files"]);
    assert_eq!(summary["snapshot"]["counts"]["users"], 9);
    assert!(summary["duration_seconds"].as_f64().unwrap() >= 0.0);
    assert!(stderr.contains("m365 snapshot written"), "{stderr}");
    assert_eq!(read_users(&out).len(), 9);
    assert!(
        fx.requests()
            .iter()
            .all(|r| r.method == "GET" && r.authorized)
    );
    assert!(!stderr.contains(BEARER) && !String::from_utf8_lossy(&run.stdout).contains(BEARER));
    assert!(!contains(&all_bytes(&out), BEARER));
    // The manifest says where the snapshot came from.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["kind"], "m365");
    assert_eq!(manifest["source"]["tenant_url"], fx.graph_url());
}

#[test]
fn expired_token_is_renewed_with_client_credentials() {
    let fx = GraphFixture::start(
        tenant(),
        FixtureConfig {
            page_size: 2,
            client: fixture_client(),
            expire_issued_token_after: Some(2),
            ..FixtureConfig::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m365");
    let mut cmd = dirsnap();
    client_env(&mut cmd, &fx);
    cmd.args(["export", "m365", "--graph-url", fx.graph_url(), "--out"])
        .arg(&out)
        .assert()
        .success();
    assert_eq!(read_users(&out).len(), 9);
    // 4 + 1 pages, 2 per token: the token is renewed twice.
    assert_eq!(fx.issued_tokens().len(), 3);
}

#[test]
fn wrong_client_secret_is_exit_2_and_never_echoed() {
    let fx = GraphFixture::start(
        tenant(),
        FixtureConfig {
            client: fixture_client(),
            ..FixtureConfig::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wrong = "Wrong~secret-value-1234567890";
    let mut cmd = dirsnap();
    client_env(&mut cmd, &fx);
    let run = cmd
        .env("DIRSNAP_M365_CLIENT_SECRET", wrong)
        .env("RUST_LOG", "trace")
        .args(["export", "m365", "--graph-url", fx.graph_url(), "--out"])
        .arg(dir.path().join("m365"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("AADSTS7000215"), "{stderr}");
    assert!(stderr.contains("DIRSNAP_M365_CLIENT_SECRET"), "{stderr}");
    assert!(
        !stderr.contains(wrong) && !stderr.contains(SECRET),
        "{stderr}"
    );
    assert_only(dir.path(), &[]);
}

#[test]
fn rejected_bearer_token_is_exit_2_naming_the_variable() {
    let fx = GraphFixture::start(
        tenant(),
        FixtureConfig {
            bearer_token: Some(BEARER.into()),
            ..FixtureConfig::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stale = "eyJ0eXAiOiJKV1QifQ.stale-token-value.sig";
    let run = dirsnap()
        .env("GRAPH_TOKEN", stale)
        .args(["export", "m365", "--token-env", "GRAPH_TOKEN"])
        .args(["--graph-url", fx.graph_url(), "--out"])
        .arg(dir.path().join("m365"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("GRAPH_TOKEN") && stderr.contains("401"),
        "{stderr}"
    );
    assert!(!stderr.contains(stale), "{stderr}");
    assert_only(dir.path(), &[]);
}

#[test]
fn no_credentials_is_exit_2_saying_what_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let run = dirsnap()
        .args([
            "export",
            "m365",
            "--graph-url",
            "http://127.0.0.1:9/v1.0",
            "--out",
        ])
        .arg(dir.path().join("m365"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    for needed in ["--token-env", "DIRSNAP_M365_CLIENT_SECRET", "--from-csv"] {
        assert!(stderr.contains(needed), "{stderr}");
    }
}

#[test]
fn throttling_past_the_retry_budget_fails_and_leaves_no_snapshot() {
    let fx = GraphFixture::start(
        tenant(),
        FixtureConfig {
            page_size: 3,
            bearer_token: Some(BEARER.into()),
            faults: vec![Fault {
                endpoint: Endpoint::Users,
                page: 2,
                status: 429,
                retry_after: Some("0".into()),
                times: 100,
            }],
            ..FixtureConfig::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dirsnap()
        .env("T", BEARER)
        .args(["export", "m365", "--token-env", "T", "--max-attempts", "3"])
        .args(["--graph-url", fx.graph_url(), "--out"])
        .arg(dir.path().join("m365"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("gave up after 3 attempts") && stderr.contains("429"),
        "{stderr}"
    );
    // Two pages were written to the temporary directory before the failure: none of it stays.
    assert_only(dir.path(), &[]);
    let third_page = fx
        .requests()
        .iter()
        .filter(|r| r.param("$skiptoken").is_some() && r.status == 429)
        .count();
    assert_eq!(third_page, 3);
}

#[test]
fn next_link_to_another_host_is_not_followed() {
    let fx = GraphFixture::start(
        tenant(),
        FixtureConfig {
            page_size: 3,
            bearer_token: Some(BEARER.into()),
            next_link_origin: Some("http://127.0.0.2:1".into()),
            ..FixtureConfig::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dirsnap()
        .env("T", BEARER)
        .args(["export", "m365", "--token-env", "T"])
        .args(["--graph-url", fx.graph_url(), "--out"])
        .arg(dir.path().join("m365"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("refusing to send the access token"),
        "{stderr}"
    );
    assert_only(dir.path(), &[]);
}

// ---------------------------------------------------------------- CSV

fn import(csv: &Path, out: &Path) -> std::process::Output {
    dirsnap()
        .args(["export", "m365", "--from-csv"])
        .arg(csv)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn by_upn(users: &[M365User]) -> BTreeMap<&str, &M365User> {
    users
        .iter()
        .map(|u| (u.user_principal_name.as_str(), u))
        .collect()
}

#[test]
fn admin_center_csv_imports_with_bom_quotes_and_japanese_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("csv");
    let run = import(&fixtures().join("csv/export-users.csv"), &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let users = read_users(&out);
    assert_eq!(users.len(), 6);
    let u = by_upn(&users);

    let taro = u["taro.yamada@example.co.jp"];
    assert_eq!(taro.id, "3f2b8c1e-5a4d-4e7f-9b1a-0c2d3e4f5a61");
    assert_eq!(taro.display_name.as_deref(), Some("山田 太郎"));
    assert_eq!(taro.account_enabled, Some(true));
    assert_eq!(
        taro.licenses,
        vec!["Microsoft 365 E3", "Microsoft Teams Exploratory"]
    );
    assert_eq!(
        taro.created,
        Some(Utc.with_ymd_and_hms(2024, 4, 1, 0, 12, 3).unwrap())
    );

    // Block credential True → blocked; "Unlicensed" → no licenses.
    let sota = u["sota.kimura@example.co.jp"];
    assert_eq!(sota.account_enabled, Some(false));
    assert!(sota.licenses.is_empty());
    assert!(!sota.deleted);

    // Quoted fields with commas and quotes survive, in the typed column and in raw.
    let john = u["john.smith@example.co.jp"];
    assert_eq!(john.display_name.as_deref(), Some("Smith, John"));
    assert_eq!(
        john.created,
        Some(Utc.with_ymd_and_hms(2024, 5, 10, 3, 0, 0).unwrap())
    );
    let raw: Value = serde_json::from_str(&john.raw).unwrap();
    assert_eq!(raw["Title"], "Engineer \"Lead\"");
    let hanako: Value = serde_json::from_str(&u["hanako.sato@example.co.jp"].raw).unwrap();
    assert_eq!(hanako["Department"], "営業部, 第1課");
    assert_eq!(hanako["Street address"], "1-2-3 Marunouchi, Chiyoda-ku");
    // raw keeps every column of the row, with the BOM stripped from the first name.
    assert_eq!(hanako.as_object().unwrap().len(), 31);
    assert_eq!(hanako["Block credential"], "False");
    assert_eq!(
        u["maria.garcia@example.co.jp"].display_name.as_deref(),
        Some("García, María")
    );

    // What a CSV cannot know is unknown, not guessed.
    for user in &users {
        assert_eq!(user.immutable_id, None);
        assert!(!user.immutable_id_known, "{}", user.user_principal_name);
        assert!(!user.deleted);
    }

    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("users        6: 5 enabled, 1 blocked"),
        "{stdout}"
    );
    assert!(stdout.contains("immutableId  unknown"), "{stdout}");

    // inspect reads it back as an m365 snapshot.
    let inspect = dirsnap()
        .arg("inspect")
        .arg(&out)
        .arg("--json")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(v["kind"], "m365");
    assert_eq!(v["counts"]["users"], 6);
}

#[test]
fn csv_with_reordered_and_extra_columns_and_a_deleted_user() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("csv");
    let run = import(&fixtures().join("csv/export-users-reordered.csv"), &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let users = read_users(&out);
    assert_eq!(users.len(), 3);
    let u = by_upn(&users);

    let rin = u["rin.hayashi@example.co.jp"];
    assert_eq!(rin.account_enabled, Some(true)); // "false"
    assert_eq!(rin.display_name.as_deref(), Some("林 凛"));
    let raw: Value = serde_json::from_str(&rin.raw).unwrap();
    assert_eq!(raw["社員番号"], "E-0016");
    assert_eq!(raw["Custom attribute 1"], "x, y");
    assert_eq!(raw["Street address"], "大阪市北区梅田1-1\n梅田ビル 3F");

    let akari = u["akari.ikeda@example.co.jp"];
    assert_eq!(akari.account_enabled, Some(false)); // "TRUE"
    assert!(akari.licenses.is_empty());
    assert_eq!(akari.created, Some(utc("2024-04-01T00:12:44Z"))); // +09:00 → UTC

    let yui = u["yui.yamaguchi@example.co.jp"];
    assert!(yui.deleted);
    assert_eq!(
        yui.deleted_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 21, 2, 30, 0).unwrap())
    );

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let notes = manifest["notes"].to_string();
    assert!(
        notes.contains("社員番号") && notes.contains("Custom attribute 1"),
        "{notes}"
    );
}

#[test]
fn csv_without_user_principal_name_is_exit_2_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let run = import(
        &fixtures().join("csv/export-users-no-upn.csv"),
        &dir.path().join("csv"),
    );
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("`User principal name`"), "{stderr}");
    assert!(stderr.contains("export-users-no-upn.csv"), "{stderr}");
    assert_only(dir.path(), &[]);
}

#[test]
fn csv_and_graph_options_conflict() {
    dirsnap()
        .args([
            "export",
            "m365",
            "--from-csv",
            "x.csv",
            "--token-env",
            "T",
            "--out",
            "o",
        ])
        .assert()
        .code(2);
}

#[test]
fn existing_output_is_refused_before_any_request() {
    let fx = GraphFixture::start(
        tenant(),
        FixtureConfig {
            bearer_token: Some(BEARER.into()),
            ..FixtureConfig::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dirsnap()
        .env("T", BEARER)
        .args(["export", "m365", "--token-env", "T"])
        .args(["--graph-url", fx.graph_url(), "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("already exists"));
    assert!(fx.requests().is_empty());
}

// ------------------------------------------- recreated-account fixtures

/// The M365 side of the recreated-account table (reference/iij-facts.md §2), for the engine's
/// end-to-end test: fixtures/m365/recreate/<row>.json is the tenant, fixtures/m365/recreate/<row>/
/// the snapshot this exporter makes of it. This test re-exports each tenant through the
/// fixture Graph and requires the committed snapshot to hold exactly those rows.
/// `DIRSNAP_REGEN_M365_FIXTURES=1` rewrites the committed snapshots instead.
#[test]
fn recreate_fixtures_are_what_the_exporter_makes() {
    let rows = [
        ("same-id-blocked", true, false),
        ("same-id-absent", false, false),
        ("different-id-blocked", true, false),
        ("different-id-absent", false, false),
        ("different-id-recycle-bin", false, true),
    ];
    let regen = std::env::var_os("DIRSNAP_REGEN_M365_FIXTURES").is_some();
    for (row, blocked_exists, in_recycle_bin) in rows {
        let tenant = FixtureTenant::load(&fixtures().join(format!("recreate/{row}.json"))).unwrap();
        let fx = GraphFixture::start(
            tenant,
            FixtureConfig {
                bearer_token: Some(BEARER.into()),
                ..FixtureConfig::default()
            },
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join(row);
        dirsnap()
            .env("T", BEARER)
            .args(["export", "m365", "--token-env", "T", "--quiet"])
            .args(["--graph-url", fx.graph_url(), "--out"])
            .arg(&out)
            .assert()
            .success();
        let committed = fixtures().join("recreate").join(row);
        if regen {
            if committed.exists() {
                std::fs::remove_dir_all(&committed).unwrap();
            }
            std::fs::rename(&out, &committed)
                .or_else(|_| copy_dir(&out, &committed))
                .unwrap();
        }

        let mut fresh = read_users(if regen { &committed } else { &out });
        let mut stored = read_users(&committed);
        fresh.sort_by(|a, b| a.id.cmp(&b.id));
        stored.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(
            fresh, stored,
            "fixtures/m365/recreate/{row} is stale: run DIRSNAP_REGEN_M365_FIXTURES=1 cargo test -p dirsnap-cli --test export_m365 recreate"
        );

        // What the engine reads, per the table's second column.
        let sota: Vec<&M365User> = stored
            .iter()
            .filter(|u| u.user_principal_name == "sota.kimura@example.co.jp")
            .collect();
        let live: Vec<&&M365User> = sota.iter().filter(|u| !u.deleted).collect();
        if blocked_exists {
            assert_eq!(live.len(), 1, "{row}");
            assert_eq!(live[0].account_enabled, Some(false), "{row}");
            assert_eq!(
                live[0].immutable_id.as_deref(),
                Some("gzcEr9Nnz02wHhaiSCR5ng==")
            );
            assert!(live[0].immutable_id_known);
        } else {
            assert!(live.is_empty(), "{row}");
        }
        let binned = sota.iter().filter(|u| u.deleted).count();
        assert_eq!(binned, usize::from(in_recycle_bin), "{row}");
        // Every row also has an unrelated blocked account (shota.ito, disabled in AD) and a
        // soft-deleted one (yui.yamaguchi), so a check keyed on anything but the UPN shows.
        let upns: BTreeSet<&str> = stored
            .iter()
            .map(|u| u.user_principal_name.as_str())
            .collect();
        assert!(
            upns.contains("shota.ito@example.co.jp")
                && upns.contains("yui.yamaguchi@example.co.jp")
        );
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        std::fs::copy(e.path(), to.join(e.file_name()))?;
    }
    Ok(())
}

/// pyarrow reads the snapshot as it is, with the documented column types.
#[test]
fn pyarrow_reads_an_m365_snapshot() {
    let python = std::env::var_os("DIRSNAP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    assert!(
        python.exists(),
        "no Python with pyarrow: run scripts/test (it creates .venv) or set DIRSNAP_TEST_PYTHON"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("csv");
    assert!(
        import(&fixtures().join("csv/export-users-reordered.csv"), &out)
            .status
            .success()
    );
    let script = r#"
import sys, json, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1] + "/users.parquet")
rows = {r["user_principal_name"]: r for r in t.to_pylist()}
print(json.dumps({
  "types": {f.name: str(f.type) for f in t.schema},
  "rows": t.num_rows,
  "rin_licenses": rows["rin.hayashi@example.co.jp"]["licenses"],
  "yui_deleted": rows["yui.yamaguchi@example.co.jp"]["deleted"],
  "akari_enabled": rows["akari.ikeda@example.co.jp"]["account_enabled"],
}))
"#;
    let run = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(v["rows"], 3);
    assert_eq!(v["types"]["account_enabled"], "bool");
    assert_eq!(v["types"]["immutable_id_known"], "bool");
    assert_eq!(v["types"]["created"], "timestamp[us, tz=UTC]");
    assert_eq!(
        v["rin_licenses"],
        json!(["Microsoft 365 E3", "Microsoft Teams Exploratory"])
    );
    assert_eq!(v["yui_deleted"], true);
    assert_eq!(v["akari_enabled"], false);
}
