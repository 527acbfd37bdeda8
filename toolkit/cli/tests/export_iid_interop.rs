#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dirsnap export iid` against an independent SCIM server: scim2-server (PyPI), seeded
//! through its own HTTP API.

use assert_cmd::Command;
use dirsnap_config::Secret;
use dirsnap_scim::{ClientOptions, ScimClient};
use dirsnap_snapshot::{Iid, ReadOptions, Snapshot};
use serde_json::json;

use std::time::{Duration, Instant};

const TOKEN: &str = "interop-token-5d1e";

mod support;
use support::Scim2Server;

#[test]
fn export_iid_reads_everything_scim2_server_holds() {
    let server = Scim2Server::start(TOKEN, &[]);
    let base = server.url.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = ScimClient::new(ClientOptions::new(base.clone(), Secret::new(TOKEN))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while rt.block_on(client.get("ServiceProviderConfig")).is_err() {
        assert!(Instant::now() < deadline, "scim2-server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let names = [
        "山田 太郎",
        "佐藤 花子",
        "John Smith",
        "María García",
        "鈴木 一郎",
    ];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("user{i}@example.co.jp"),
            "externalId": format!("ext-{i}"),
            "displayName": name,
            "active": i != 2,
            "emails": [{"value": format!("user{i}@example.co.jp"), "primary": true}],
        });
        let url = client.url("Users").unwrap();
        let r = rt
            .block_on(client.send(reqwest::Method::POST, url, Some(&body)))
            .unwrap();
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    for (g, members) in [("営業部", &ids[..3]), ("開発部", &ids[2..])] {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": g,
            "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>(),
        });
        let url = client.url("Groups").unwrap();
        rt.block_on(client.send(reqwest::Method::POST, url, Some(&body)))
            .unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.yml");
    std::fs::write(&cfg, "dirsnap: {instance: interop}\n").unwrap();
    Command::cargo_bin("dirsnap")
        .unwrap()
        .env("DIRSNAP_IID_TOKEN", TOKEN)
        .args([
            "export",
            "iid",
            "--page-size",
            "2",
            "--base-url",
            &base,
            "--config",
        ])
        .arg(&cfg)
        .arg("--out")
        .arg(dir.path().join("snap"))
        .assert()
        .success();
    let t = Snapshot::open(dir.path().join("snap"))
        .unwrap()
        .read::<Iid>(&ReadOptions::default())
        .unwrap();
    assert_eq!(t.users.len(), 5);
    assert_eq!(t.groups.len(), 2);
    assert_eq!(t.memberships.len(), 6);
    assert!(t.memberships.iter().all(|m| m.in_scope));
    let mut got: Vec<(&str, Option<&str>, bool)> = t
        .users
        .iter()
        .map(|u| (u.user_name.as_str(), u.display_name.as_deref(), u.active))
        .collect();
    got.sort();
    let mut want: Vec<(String, &str, bool)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("user{i}@example.co.jp"), *n, i != 2))
        .collect();
    want.sort();
    let want: Vec<(&str, Option<&str>, bool)> = want
        .iter()
        .map(|(u, n, a)| (u.as_str(), Some(*n), *a))
        .collect();
    assert_eq!(got, want);
    let ext: Vec<_> = t
        .users
        .iter()
        .filter_map(|u| u.external_id.clone())
        .collect();
    assert_eq!(ext.len(), 5);
}
