#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every rule of the IIJ profile, through real HTTP against a started mock. Expected values
//! come from IIJ's documentation (reference/iij-facts.md) and the assumptions in
//! docs/iij-assumptions.md, not from the code.

mod common;

use chrono::{DateTime, Utc};
use common::{Client, created_id, group, start, user};
use dirsnap_mock_scim::{ClockSpec, LogicalClock, MockConfig, Profile, Scope, TokenSpec};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn profile_with(settings: &[&str]) -> Profile {
    let mut p = Profile::iij();
    for s in settings {
        p.apply_assignment(s).unwrap();
    }
    p
}

fn total(r: &common::Resp) -> u64 {
    r.body["totalResults"].as_u64().unwrap()
}

#[tokio::test]
async fn uniqueness_conflicts_answer_409_with_iij_body() {
    let server = start(MockConfig::iij()).await;
    let c = Client::new(&server);
    let a = created_id(&c.post("Users", user("taro@example.jp", Some("E-1"))).await);

    // userName is case-insensitive (RFC 7643 caseExact=false): a different case still clashes.
    let r = c.post("Users", user("Taro@Example.JP", Some("E-2"))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.content_type.as_deref(), Some("application/scim+json"));
    assert_eq!(
        r.body,
        json!({"schemas": [ERROR_URN], "detail": "userName has already been taken",
               "scimType": "uniqueness", "status": "409"})
    );
    // The IIJ ID message quoted in ds/53259383.
    let r = c.post("Users", user("jiro@example.jp", Some("E-1"))).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["detail"], "externalId has already been taken");
    assert_eq!(r.body["scimType"], "uniqueness");
    assert_eq!(r.body["status"], "409");

    // Updates are checked too.
    let b = created_id(&c.post("Users", user("jiro@example.jp", Some("E-2"))).await);
    let r = c
        .patch(
            &format!("Users/{b}"),
            json!([{"op": "replace", "path": "externalId", "value": "E-1"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["detail"], "externalId has already been taken");
    let r = c
        .put(&format!("Users/{b}"), user("TARO@example.jp", Some("E-2")))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["detail"], "userName has already been taken");
    // Renaming to one's own name in another case is no conflict.
    let r = c
        .put(&format!("Users/{a}"), user("TARO@example.jp", Some("E-1")))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Group names are unique in the tenant (ds/17896822).
    created_id(&c.post("Groups", group("Sales", &[])).await);
    let r = c.post("Groups", group("sales", &[])).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["detail"], "displayName has already been taken");
    assert_eq!(r.body["status"], "409");
}

#[tokio::test]
async fn user_name_outside_the_tenant_domains_is_organization_not_found() {
    let server = start(MockConfig::with_profile(profile_with(&[
        r#"tenant_domains=["example.jp", "example.co.jp"]"#,
    ])))
    .await;
    let c = Client::new(&server);
    let r = c.post("Users", user("taro@example.com", None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.body,
        json!({"schemas": [ERROR_URN], "detail": "organization is not found.", "status": "404"})
    );
    let id = created_id(&c.post("Users", user("taro@Example.Co.JP", None)).await);
    // Moving an existing user out of the tenant's domains is refused the same way.
    let r = c
        .patch(
            &format!("Users/{id}"),
            json!([{"op": "replace", "path": "userName", "value": "taro@elsewhere.jp"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["detail"], "organization is not found.");

    // Without a domain list every domain is accepted, so generic clients work.
    let open = start(MockConfig::iij()).await;
    let c = Client::new(&open);
    created_id(&c.post("Users", user("taro@example.com", None)).await);
    created_id(&c.post("Users", user("no-at-sign", None)).await);
}

#[tokio::test]
async fn user_delete_is_pending_deletion_hidden_reserved_and_restorable() {
    let server = start(MockConfig::iij()).await;
    let c = Client::new(&server);
    let id = created_id(
        &c.post("Users", user("hanako@example.jp", Some("G-1")))
            .await,
    );
    let other = created_id(&c.post("Users", user("ken@example.jp", Some("G-2"))).await);
    let gid = created_id(&c.post("Groups", group("Team", &[&id, &other])).await);

    assert_eq!(
        c.delete(&format!("Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    // Not visible over SCIM.
    let r = c.get(&format!("Users/{id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["status"], "404");
    let r = c
        .get("Users?filter=userName%20eq%20%22hanako%40example.jp%22")
        .await;
    assert_eq!(total(&r), 0);
    let r = c.get("Users").await;
    assert_eq!(total(&r), 1);
    assert_eq!(r.body["Resources"][0]["id"], other.as_str());
    // A second DELETE or a PUT see no such user (PATCH restores, below).
    assert_eq!(
        c.delete(&format!("Users/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = c
        .put(
            &format!("Users/{id}"),
            user("hanako@example.jp", Some("G-1")),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The login ID and the externalId stay reserved (faq/32466293).
    let r = c
        .post("Users", user("hanako@example.jp", Some("G-9")))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["detail"], "userName has already been taken");
    let r = c
        .post("Users", user("hanako2@example.jp", Some("G-1")))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["detail"], "externalId has already been taken");

    // The dump shows it, flagged; its memberships are kept (it can come back).
    let t = server.tables().unwrap();
    let row = t.users.iter().find(|u| u.id == id).unwrap();
    assert!(row.pending_deletion);
    assert!(
        !t.users
            .iter()
            .find(|u| u.id == other)
            .unwrap()
            .pending_deletion
    );
    assert!(
        t.memberships
            .iter()
            .any(|m| m.group_key == gid && m.member_key.as_deref() == Some(id.as_str()))
    );

    // The console's restore: the admin endpoint.
    let admin = Client::new(&server);
    let r = admin
        .send(
            reqwest::Method::POST,
            &format!("{}_mock/users/{id}/restore", server.root_url()),
            None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(c.get(&format!("Users/{id}")).await.status, StatusCode::OK);

    // Re-entering the scope (ds/17896820 *1, *2): with the default restore_method (PATCH,
    // docs/iij-assumptions.md RC7) a PATCH of the pending user writes the AD values and
    // restores it, even though GET does not show it.
    assert_eq!(
        c.delete(&format!("Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let r = c
        .patch(
            &format!("Users/{id}"),
            json!([{"op": "replace", "path": "title", "value": "Back"},
                   {"op": "replace", "path": "active", "value": true}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["title"], "Back");
    assert_eq!(c.get(&format!("Users/{id}")).await.status, StatusCode::OK);
    assert!(
        !server
            .tables()
            .unwrap()
            .users
            .iter()
            .any(|u| u.pending_deletion)
    );
    // A PUT is not the restore method here: the pending user stays hidden.
    assert_eq!(
        c.delete(&format!("Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let r = c
        .put(
            &format!("Users/{id}"),
            user("hanako@example.jp", Some("G-1")),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn restore_by_post_when_the_profile_says_so() {
    let server = start(MockConfig::with_profile(profile_with(&[
        "restore_method=POST",
    ])))
    .await;
    let c = Client::new(&server);
    let id = created_id(
        &c.post("Users", user("hanako@example.jp", Some("G-1")))
            .await,
    );
    assert_eq!(
        c.delete(&format!("Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    // PATCH does not restore under this profile.
    let r = c
        .patch(
            &format!("Users/{id}"),
            json!([{"op": "replace", "path": "title", "value": "x"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The same userName with another externalId: Directory Sync's "recreated user" error.
    let r = c
        .post("Users", user("hanako@example.jp", Some("G-2")))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["detail"], "userName has already been taken");
    // userName and externalId both match: restored with the posted values, same id.
    let mut again = user("hanako@example.jp", Some("G-1"));
    again["title"] = json!("Restored");
    let r = c.post("Users", again).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["title"], "Restored");
    assert_eq!(c.get(&format!("Users/{id}")).await.status, StatusCode::OK);
    assert!(!server.tables().unwrap().users[0].pending_deletion);
}

#[tokio::test]
async fn pending_deletion_listing_and_hard_delete_are_switchable() {
    let listed = start(MockConfig::with_profile(profile_with(&[
        "pending_deletion_listed=true",
    ])))
    .await;
    let c = Client::new(&listed);
    let id = created_id(&c.post("Users", user("a@example.jp", Some("X"))).await);
    assert_eq!(
        c.delete(&format!("Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(c.get(&format!("Users/{id}")).await.status, StatusCode::OK);
    assert_eq!(total(&c.get("Users").await), 1);
    assert!(listed.tables().unwrap().users[0].pending_deletion);

    let hard = start(MockConfig::with_profile(profile_with(&[
        "user_delete=hard",
    ])))
    .await;
    let c = Client::new(&hard);
    let id = created_id(&c.post("Users", user("a@example.jp", Some("X"))).await);
    let gid = created_id(&c.post("Groups", group("G", &[&id])).await);
    assert_eq!(
        c.delete(&format!("Users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(hard.tables().unwrap().users.is_empty());
    // The login ID is free again, and the membership is gone with the user.
    created_id(&c.post("Users", user("a@example.jp", Some("X"))).await);
    let g = c.get(&format!("Groups/{gid}")).await;
    assert!(g.body.get("members").is_none(), "{:?}", g.body);
}

#[tokio::test]
async fn unset_external_id_reads_back_as_empty_string() {
    let server = start(MockConfig::iij()).await;
    let c = Client::new(&server);
    let r = c.post("Users", user("a@example.jp", None)).await;
    let id = created_id(&r);
    assert_eq!(r.body["externalId"], "");
    assert_eq!(c.get(&format!("Users/{id}")).await.body["externalId"], "");
    // IIJ ID returns these as empty arrays when unset (api/19000993).
    for attr in ["phoneNumbers", "ims", "entitlements", "x509Certificates"] {
        assert_eq!(r.body[attr], json!([]), "{attr}");
    }
    let r = c
        .patch(
            &format!("Users/{id}"),
            json!([{"op": "add", "path": "externalId", "value": "E"}]),
        )
        .await;
    assert_eq!(r.body["externalId"], "E");
    let r = c
        .patch(
            &format!("Users/{id}"),
            json!([{"op": "remove", "path": "externalId"}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["externalId"], "");
    // "" is unset: it reserves nothing, and the snapshot row says None.
    created_id(&c.post("Users", user("b@example.jp", Some(""))).await);
    assert_eq!(server.tables().unwrap().users[0].external_id, None);
    let r = c.post("Groups", group("G", &[])).await;
    assert_eq!(r.body["externalId"], "");

    // The RFC profile leaves it absent.
    let rfc = start(MockConfig::with_profile(Profile::rfc())).await;
    let r = Client::new(&rfc)
        .post("Users", user("a@example.jp", None))
        .await;
    assert!(r.body.get("externalId").is_none(), "{:?}", r.body);
}

#[tokio::test]
async fn meta_timestamps_are_jst_from_the_logical_clock() {
    let start_at: DateTime<Utc> = "2026-11-27T00:00:00Z".parse().unwrap();
    let mut config = MockConfig::iij();
    config.clock = ClockSpec::LogicalFrom(start_at);
    let server = start(config).await;
    let c = Client::new(&server);
    let r = c.post("Users", user("a@example.jp", None)).await;
    let id = created_id(&r);
    // One logical second per write, shown in +09:00 (api/19001059's format).
    assert_eq!(r.body["meta"]["created"], "2026-11-27T09:00:01+09:00");
    assert_eq!(r.body["meta"]["lastModified"], "2026-11-27T09:00:01+09:00");
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(
        r.body["meta"]["location"].as_str().unwrap(),
        format!("{}Users/{id}", server.url())
    );
    assert_eq!(r.location.as_deref(), r.body["meta"]["location"].as_str());
    let r = c
        .patch(
            &format!("Users/{id}"),
            json!([{"op": "replace", "path": "title", "value": "T"}]),
        )
        .await;
    assert_eq!(r.body["meta"]["created"], "2026-11-27T09:00:01+09:00");
    assert_eq!(r.body["meta"]["lastModified"], "2026-11-27T09:00:02+09:00");
    // The snapshot rows hold UTC.
    let row = &server.tables().unwrap().users[0];
    assert_eq!(
        row.meta_created,
        Some("2026-11-27T00:00:01Z".parse().unwrap())
    );
    assert_eq!(
        row.meta_last_modified,
        Some("2026-11-27T00:00:02Z".parse().unwrap())
    );
}

#[tokio::test]
async fn pages_are_capped_at_the_profile_size() {
    let server = start(MockConfig::iij()).await;
    let users: Vec<(Value, bool)> = (0..120)
        .map(|i| {
            (
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "id": format!("u{i:03}"), "userName": format!("user{i:03}@example.jp")}),
                false,
            )
        })
        .collect();
    server.seed_resources(users, Vec::new()).unwrap();
    let c = Client::new(&server);
    let r = c.get("Users").await;
    assert_eq!(total(&r), 120);
    assert_eq!(r.body["itemsPerPage"], 100);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["Resources"].as_array().unwrap().len(), 100);
    let r = c.get("Users?count=500").await;
    assert_eq!(r.body["itemsPerPage"], 100);
    let r = c.get("Users?startIndex=101&count=50").await;
    assert_eq!(r.body["itemsPerPage"], 20);
    assert_eq!(r.body["Resources"][0]["id"], "u100");
    let r = c.get("Users?count=0").await;
    assert_eq!(total(&r), 120);
    assert_eq!(r.body["Resources"], json!([]));
    let spc = c.get("ServiceProviderConfig").await;
    assert_eq!(spc.body["filter"]["maxResults"], 100);

    let small = start(MockConfig::with_profile(profile_with(&["page_size_cap=7"]))).await;
    small
        .seed_resources(
            (0..10)
                .map(|i| {
                    (
                        json!({"id": format!("u{i}"), "userName": format!("u{i}")}),
                        false,
                    )
                })
                .collect(),
            Vec::new(),
        )
        .unwrap();
    let r = Client::new(&small).get("Users?count=10").await;
    assert_eq!(r.body["itemsPerPage"], 7);
}

#[tokio::test]
async fn every_error_body_has_a_string_status() {
    let server = start(MockConfig::iij()).await;
    let c = Client::new(&server);
    let cases = [
        (c.get("Users?filter=userName%20equals%20%22x%22").await, 400),
        (c.get("Users/nope").await, 404),
        (c.get("NoSuchEndpoint").await, 404),
        (
            c.post("Users", json!({"displayName": "no userName"})).await,
            400,
        ),
        (
            c.post("Users", json!({"userName": "a", "active": "yes"}))
                .await,
            400,
        ),
        (
            c.send(reqwest::Method::DELETE, "ServiceProviderConfig", None, &[])
                .await
                .unwrap(),
            405,
        ),
        (
            Client::new(&server).with_token(None).get("Users").await,
            401,
        ),
    ];
    for (r, status) in cases {
        assert_eq!(r.status.as_u16(), status, "{:?}", r.body);
        assert_eq!(r.body["status"], json!(status.to_string()), "{:?}", r.body);
        assert_eq!(r.body["schemas"], json!([ERROR_URN]));
        assert_eq!(r.content_type.as_deref(), Some("application/scim+json"));
    }
    let r = c.get("Users?filter=userName%20equals%20%22x%22").await;
    assert_eq!(r.body["scimType"], "invalidFilter");
    assert!(r.body["detail"].as_str().unwrap().contains("position 9"));
}

#[tokio::test]
async fn bearer_tokens_scopes_and_expiry() {
    let clock = Arc::new(LogicalClock::new(
        "2026-01-01T00:00:00Z".parse().unwrap(),
        chrono::Duration::seconds(1),
    ));
    let mut config = MockConfig::iij();
    config.clock = ClockSpec::Custom(clock.clone());
    config.tokens = vec![
        TokenSpec::new("full").expiring_at("2026-06-01T00:00:00Z".parse().unwrap()),
        TokenSpec::new("reader").with_scopes(&[Scope::ReadUsers]),
        TokenSpec::parse("old;expires=2025-12-31T00:00:00+09:00").unwrap(),
    ];
    let server = start(config).await;
    let as_token = |t: Option<&str>| Client::new(&server).with_token(t);

    let r = as_token(None).get("Users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.www_authenticate
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let r = as_token(Some("guess")).get("Users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = as_token(Some("old")).get("Users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["detail"], "the access token has expired");

    let reader = as_token(Some("reader"));
    assert_eq!(reader.get("Users").await.status, StatusCode::OK);
    let r = reader.post("Users", user("a@example.jp", None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["status"], "403");
    assert!(
        r.www_authenticate
            .unwrap()
            .contains("scope=\"escim_write_users\"")
    );
    let r = reader.get("Groups").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("escim_read_groups")
    );

    let full = as_token(Some("full"));
    created_id(&full.post("Users", user("a@example.jp", None)).await);
    created_id(&full.post("Groups", group("G", &[])).await);
    // Time passes on the mock's clock: the token expires.
    clock.set("2026-06-01T00:00:00Z".parse().unwrap());
    let r = full.get("Users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.www_authenticate.unwrap().contains("invalid_token"));
    // The administrator issues a new one (the admin endpoint accepts any known token).
    let r = full
        .send(
            reqwest::Method::POST,
            &format!("{}_mock/tokens", server.root_url()),
            Some(json!({"token": "renewed"})),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        as_token(Some("renewed")).get("Users").await.status,
        StatusCode::OK
    );
    // The admin endpoints refuse strangers.
    let r = as_token(Some("guess"))
        .send(
            reqwest::Method::GET,
            &format!("{}_mock/state", server.root_url()),
            None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn etags_guard_writes_and_reads() {
    let server = start(MockConfig::iij()).await;
    let c = Client::new(&server);
    let r = c.post("Users", user("a@example.jp", None)).await;
    let id = created_id(&r);
    let v1 = r.etag.clone().unwrap();
    assert_eq!(r.body["meta"]["version"], v1.as_str());
    let r = c
        .send(
            reqwest::Method::GET,
            &format!("Users/{id}"),
            None,
            &[("If-None-Match", &v1)],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = c
        .send(
            reqwest::Method::PUT,
            &format!("Users/{id}"),
            Some(user("a@example.jp", Some("E"))),
            &[("If-Match", &v1)],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let v2 = r.etag.unwrap();
    assert_ne!(v1, v2);
    let r = c
        .send(
            reqwest::Method::PUT,
            &format!("Users/{id}"),
            Some(user("a@example.jp", Some("F"))),
            &[("If-Match", &v1)],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.body["status"], "412");
    let r = c
        .send(
            reqwest::Method::DELETE,
            &format!("Users/{id}"),
            None,
            &[("If-Match", &v2)],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn filters_sorting_projection_and_search() {
    let server = start(MockConfig::iij()).await;
    let c = Client::new(&server);
    let iij = dirsnap_model::URN_IIJ_ENTERPRISEJP_USER;
    for (name, dept, ds) in [
        ("b@example.jp", "Sales", "DS-B"),
        ("a@example.jp", "Ops", "DS-A"),
        ("c@example.com", "Sales", "DS-C"),
    ] {
        let mut u = user(name, Some(&format!("ext-{name}")));
        u["emails"] = json!([{"value": name, "type": "work"}]);
        u[dirsnap_model::URN_ENTERPRISE_USER] = json!({"department": dept});
        u[iij] = json!({"downstreamId": ds});
        created_id(&c.post("Users", u).await);
    }
    let names = |r: &common::Resp| -> Vec<String> {
        r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let q = |f: &str| format!("Users?filter={}", percent(f));
    assert_eq!(
        names(&c.get(&q(r#"userName eq "A@EXAMPLE.JP""#)).await),
        ["a@example.jp"]
    );
    assert_eq!(
        names(
            &c.get(&q(r#"emails[type eq "work" and value co "@example.jp"]"#))
                .await
        ),
        ["b@example.jp", "a@example.jp"]
    );
    assert_eq!(
        names(&c.get(&q(&format!(r#"{iij}:downstreamId eq "DS-C""#))).await),
        ["c@example.com"]
    );
    // downstreamId is caseExact in the served schema.
    assert_eq!(
        names(&c.get(&q(&format!(r#"{iij}:downstreamId eq "ds-c""#))).await).len(),
        0
    );
    assert_eq!(
        names(
            &c.get(&q(
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales" and not (userName sw "c")"#
            ))
            .await
        ),
        ["b@example.jp"]
    );
    assert_eq!(
        names(&c.get("Users?sortBy=userName&sortOrder=descending").await),
        ["c@example.com", "b@example.jp", "a@example.jp"]
    );
    let r = c.get("Users?attributes=userName&count=1").await;
    let first = &r.body["Resources"][0];
    assert_eq!(first.as_object().unwrap().len(), 3, "{first}");
    assert!(first.get("id").is_some() && first.get("schemas").is_some());
    let r = c.get("Users?excludedAttributes=emails,name&count=1").await;
    assert!(r.body["Resources"][0].get("emails").is_none());
    assert!(r.body["Resources"][0].get("displayName").is_some());
    let r = c
        .post(
            "Users/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "filter": "userName ew \".jp\"", "sortBy": "userName", "attributes": ["userName"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(names(&r), ["a@example.jp", "b@example.jp"]);
    let r = c.get(&q(r#"userName eq "a@example.jp" or"#)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["scimType"], "invalidFilter");
}

#[tokio::test]
async fn group_members_by_value_path_with_iij_display_and_ref() {
    let server = start(MockConfig::iij()).await;
    let c = Client::new(&server);
    let a = created_id(&c.post("Users", user("a@example.jp", None)).await);
    let b = created_id(&c.post("Users", user("b@example.jp", None)).await);
    let r = c.post("Groups", group("Team", &[&a])).await;
    let gid = created_id(&r);
    // IIJ ID fills display and $ref (api/19001103).
    assert_eq!(
        r.body["members"],
        json!([{"value": a, "display": "Yamada a@example.jp",
                "$ref": format!("{}Users/{a}", server.url())}])
    );
    let r = c
        .patch(
            &format!("Groups/{gid}"),
            json!([{"op": "add", "path": "members", "value": [{"value": b}, {"value": a}]}]),
        )
        .await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
    let r = c
        .patch(
            &format!("Groups/{gid}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let members: Vec<&str> = r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, [b.as_str()]);
    // A member that does not exist is refused.
    let r = c
        .patch(
            &format!("Groups/{gid}"),
            json!([{"op": "add", "path": "members", "value": [{"value": "no-such-id"}]}]),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["scimType"], "invalidValue");
    // The IIJ group extension round-trips.
    let ext = dirsnap_model::URN_IIJ_ENTERPRISE_GROUP;
    let r = c
        .patch(
            &format!("Groups/{gid}"),
            json!([{"op": "add", "path": format!("{ext}:description"), "value": "the team"}]),
        )
        .await;
    assert_eq!(r.body[ext]["description"], "the team");
    assert!(r.body["schemas"].as_array().unwrap().contains(&json!(ext)));
    let t = server.tables().unwrap();
    assert_eq!(t.groups[0].description.as_deref(), Some("the team"));
    assert_eq!(t.memberships.len(), 1);
    assert_eq!(t.memberships[0].member_key.as_deref(), Some(b.as_str()));
    assert!(t.memberships[0].in_scope);
}

#[tokio::test]
async fn ids_and_timestamps_are_deterministic() {
    async fn run(id_seed: u64) -> Vec<Value> {
        let mut config = MockConfig::iij();
        config.id_seed = id_seed;
        let server = start(config).await;
        let c = Client::new(&server);
        let mut seen = Vec::new();
        for name in ["a@example.jp", "b@example.jp"] {
            let r = c.post("Users", user(name, None)).await;
            seen.push(json!([
                r.body["id"],
                r.body["meta"]["created"],
                r.body["meta"]["version"]
            ]));
        }
        let r = c.post("Groups", group("G", &[])).await;
        seen.push(json!([r.body["id"], r.body["meta"]["created"]]));
        seen
    }
    let first = run(1).await;
    assert_eq!(first, run(1).await);
    let other = run(2).await;
    assert_ne!(first[0][0], other[0][0]);
    // Same clock, so the same timestamps whatever the id seed.
    assert_eq!(first[0][1], other[0][1]);
    assert_eq!(first[0][1], "2026-01-01T09:00:01+09:00");
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
