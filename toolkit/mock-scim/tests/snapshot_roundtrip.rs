#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Seeding from an IID snapshot and dumping to one: the demo snapshot goes in and comes out
//! with equal rows, a seeded resource is served exactly as its `raw` JSON, and what SCIM
//! clients change shows up in the dump.

mod common;

use common::{Client, created_id, start, user};
use dirsnap_mock_scim::{MockConfig, MockError};
use dirsnap_model::{IidGroup, IidUser, Membership};
use dirsnap_snapshot::{Iid, ReadOptions, Snapshot};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;

fn demo(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/demo")
        .join(name)
}

fn read_rows(dir: &std::path::Path) -> (Vec<IidUser>, Vec<IidGroup>, Vec<Membership>) {
    let t = Snapshot::open(dir)
        .unwrap()
        .read::<Iid>(&ReadOptions::default())
        .unwrap();
    (t.users, t.groups, t.memberships)
}

fn sorted<T: Clone, K: Ord>(rows: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut v = rows.to_vec();
    v.sort_by_key(|r| key(r));
    v
}

#[tokio::test]
async fn demo_snapshot_seeds_and_dumps_to_equal_rows() {
    let (users, groups, memberships) = read_rows(&demo("iid"));
    assert!(!users.is_empty() && !groups.is_empty() && !memberships.is_empty());
    let mut config = MockConfig::iij();
    config.seed_snapshot = Some(demo("iid"));
    let server = start(config).await;
    let seeded = server.seeded();
    assert_eq!(seeded.users, users.len());
    assert_eq!(seeded.groups, groups.len());
    assert_eq!(seeded.memberships, memberships.len());

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dump");
    let manifest = server.dump_snapshot(&out).unwrap();
    assert_eq!(manifest.counts.users, users.len() as u64);
    let (u2, g2, m2) = read_rows(&out);
    assert_eq!(
        sorted(&u2, |u| u.id.clone()),
        sorted(&users, |u| u.id.clone())
    );
    assert_eq!(
        sorted(&g2, |g| g.id.clone()),
        sorted(&groups, |g| g.id.clone())
    );
    assert_eq!(
        sorted(&m2, |m| m.clone()),
        sorted(&memberships, |m| m.clone())
    );
    // The clock starts at the seed's taken_at, so an untouched dump is taken "then".
    let src = Snapshot::open(demo("iid")).unwrap();
    assert_eq!(manifest.taken_at, src.manifest().taken_at);
}

#[tokio::test]
async fn seeded_resources_are_served_verbatim() {
    let (users, _, _) = read_rows(&demo("iid"));
    let mut config = MockConfig::iij();
    config.seed_snapshot = Some(demo("iid"));
    let server = start(config).await;
    let c = Client::new(&server);
    for u in users.iter().take(5) {
        let r = c.get(&format!("Users/{}", u.id)).await;
        assert_eq!(r.status, StatusCode::OK);
        let raw: Value = serde_json::from_str(&u.raw).unwrap();
        assert_eq!(r.body, raw);
        assert!(r.etag.is_some());
    }
    let first = &users[0];
    let q = format!("Users?filter=userName%20eq%20%22{}%22", first.user_name);
    let r = c.get(&q).await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], first.id.as_str());
}

#[tokio::test]
async fn changes_made_over_scim_show_in_the_dump() {
    let (users, groups, memberships) = read_rows(&demo("iid"));
    let mut config = MockConfig::iij();
    config.seed_snapshot = Some(demo("iid"));
    let server = start(config).await;
    let c = Client::new(&server);
    let gone = &users[0];
    assert_eq!(
        c.delete(&format!("Users/{}", gone.id)).await.status,
        StatusCode::NO_CONTENT
    );
    let new_id = created_id(
        &c.post("Users", user("new.hire@example.co.jp", Some("NH-1")))
            .await,
    );
    let g = &groups[0];
    let r = c
        .patch(
            &format!("Groups/{}", g.id),
            json!([{"op": "add", "path": "members", "value": [{"value": new_id}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("after");
    server.dump_snapshot(&out).unwrap();
    let (u2, g2, m2) = read_rows(&out);
    assert_eq!(u2.len(), users.len() + 1);
    assert!(
        u2.iter()
            .find(|u| u.id == gone.id)
            .unwrap()
            .pending_deletion
    );
    let hire = u2.iter().find(|u| u.id == new_id).unwrap();
    assert_eq!(hire.user_name, "new.hire@example.co.jp");
    assert_eq!(hire.external_id.as_deref(), Some("NH-1"));
    assert_eq!(hire.family_name.as_deref(), Some("Yamada"));
    assert_eq!(hire.emails, vec!["new.hire@example.co.jp".to_owned()]);
    // The first write after the seed (the DELETE only flags the user): one logical second
    // after the seed was taken, stored in UTC.
    let taken = Snapshot::open(demo("iid")).unwrap().manifest().taken_at;
    assert_eq!(
        hire.meta_created,
        Some(taken + chrono::Duration::seconds(1))
    );
    assert_eq!(g2.len(), groups.len());
    assert_eq!(m2.len(), memberships.len() + 1);
    let added = m2
        .iter()
        .find(|m| m.group_key == g.id && m.member_key.as_deref() == Some(new_id.as_str()))
        .unwrap();
    assert!(added.in_scope);
    assert_eq!(
        added.member_display.as_deref(),
        Some("Yamada new.hire@example.co.jp")
    );
}

#[tokio::test]
async fn an_ad_snapshot_is_refused_with_a_clear_error() {
    let mut config = MockConfig::iij();
    config.seed_snapshot = Some(demo("ad"));
    common::install_crypto();
    let err = dirsnap_mock_scim::MockServer::start(config, "127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    let text = err.to_string();
    assert!(text.contains("ad") && text.contains("iid"), "{text}");
    assert!(matches!(err, MockError::Snapshot(_)));
}

#[tokio::test]
async fn the_admin_endpoint_dumps_and_purges() {
    let mut config = MockConfig::iij();
    config.seed_snapshot = Some(demo("iid"));
    let server = start(config).await;
    let c = Client::new(&server);
    let admin = |path: &str| format!("{}_mock/{path}", server.root_url());
    let (users, _, _) = read_rows(&demo("iid"));
    let victim = &users[1];
    assert_eq!(
        c.delete(&format!("Users/{}", victim.id)).await.status,
        StatusCode::NO_CONTENT
    );
    let state = c
        .send(reqwest::Method::GET, &admin("state"), None, &[])
        .await
        .unwrap();
    let flagged: Vec<&Value> = state.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["pending_deletion"] == true)
        .collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["resource"]["id"], victim.id.as_str());

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("snap");
    let body = json!({"out": out.to_str().unwrap()});
    let r = c
        .send(
            reqwest::Method::POST,
            &admin("dump"),
            Some(body.clone()),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["counts"]["users"], users.len());
    let (u2, _, _) = read_rows(&out);
    assert!(
        u2.iter()
            .find(|u| u.id == victim.id)
            .unwrap()
            .pending_deletion
    );
    // Snapshots are immutable: a second dump to the same place is refused.
    let r = c
        .send(reqwest::Method::POST, &admin("dump"), Some(body), &[])
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);

    // The console's permanent delete frees the login ID.
    let r = c
        .send(
            reqwest::Method::DELETE,
            &admin(&format!("users/{}", victim.id)),
            None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let mut again = common::user(&victim.user_name, victim.external_id.as_deref());
    again["displayName"] = json!("Back again");
    created_id(&c.post("Users", again).await);
}
