#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The SCIM client against wiremock: the exact requests it sends and how it reacts to each
//! kind of answer.

use dirsnap_config::Secret;
use dirsnap_scim::{ClientOptions, ListOptions, ResourceType, RetryPolicy, ScimClient, ScimError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "tok-abc.def-123";

fn client(server: &MockServer) -> ScimClient {
    let mut o = ClientOptions::new(format!("{}/scim/v2", server.uri()), Secret::new(TOKEN));
    o.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        budget: Duration::from_secs(10),
        ..RetryPolicy::default()
    };
    ScimClient::new(o).unwrap()
}

fn user(id: u32) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": format!("u{id:05}"), "userName": format!("user{id}@example.co.jp")})
}

fn list_response(total: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

fn query(req: &Request) -> HashMap<String, String> {
    req.url.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn get_sends_bearer_token_and_scim_accept_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/abc"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/scim+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(1)))
        .expect(1)
        .mount(&server)
        .await;
    let r = client(&server).get("Users/abc").await.unwrap();
    assert_eq!(r.body["id"], "u00001");
}

#[tokio::test]
async fn filter_is_url_encoded_and_paging_parameters_are_sent() {
    let server = MockServer::start().await;
    let filter = r#"userName eq "a+b@example.co.jp" and urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId pr"#;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("filter", filter))
        .and(query_param("startIndex", "1"))
        .and(query_param("count", "50"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_response(1, vec![user(1)])))
        .expect(1)
        .mount(&server)
        .await;
    let opts = ListOptions {
        filter: Some(filter.into()),
        page_size: 50,
        ..ListOptions::default()
    };
    let out = client(&server)
        .list(ResourceType::Users, &opts, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out.resources.len(), 1);
    let received = server.received_requests().await.unwrap();
    let raw_query = received[0].url.query().unwrap();
    // '+', '@', spaces and quotes must be percent-encoded so the server sees the exact filter.
    assert!(raw_query.contains("a%2Bb%40example.co.jp"), "{raw_query}");
    assert!(
        !raw_query.contains(' ') && !raw_query.contains('"'),
        "{raw_query}"
    );
}

#[tokio::test]
async fn capped_pages_are_all_read_and_sorted() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .respond_with(|req: &Request| {
            // Whatever `count` asks, at most 7 rows, newest first.
            let start: u32 = query(req)["startIndex"].parse().unwrap();
            let end = (start + 7).min(101);
            let rows = (start..end).rev().map(user).collect();
            ResponseTemplate::new(200).set_body_json(list_response(100, rows))
        })
        .mount(&server)
        .await;
    let out = client(&server)
        .list(ResourceType::Users, &ListOptions::default(), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out.resources.len(), 100);
    assert_eq!(out.pages, 15); // ceil(100 / 7)
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("at most 7 rows per page")),
        "{:?}",
        out.notes
    );
    let ids: Vec<&str> = out
        .resources
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "resources are sorted by id");
}

#[tokio::test]
async fn duplicates_and_missing_rows_are_detected_reread_and_reported() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .respond_with(move |req: &Request| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let start: u32 = query(req)["startIndex"].parse().unwrap();
            let body = if n < 2 && start == 6 {
                // The tenant shifted between pages: row 5 again, row 6 skipped.
                list_response(10, vec![user(5), user(7), user(8), user(9), user(10)])
            } else {
                list_response(10, (start..(start + 5).min(11)).map(user).collect())
            };
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(&server)
        .await;
    let opts = ListOptions {
        page_size: 5,
        concurrency: 1,
        ..ListOptions::default()
    };
    let out = client(&server)
        .list(ResourceType::Users, &opts, &|_, _| {})
        .await
        .unwrap();
    assert_eq!(out.resources.len(), 10, "every row read once");
    assert!(
        out.notes.iter().any(|n| n.contains("more than one page")),
        "{:?}",
        out.notes
    );
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("re-read pass 1 found 1 more")),
        "{:?}",
        out.notes
    );
}

#[tokio::test]
async fn retries_429_honouring_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/x"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(9)))
        .mount(&server)
        .await;
    let r = client(&server).get("Users/x").await.unwrap();
    assert_eq!(r.body["id"], "u00009");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_the_attempt_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let e = client(&server).get("Users/x").await.unwrap_err();
    assert!(
        matches!(e, ScimError::RetriesExhausted { attempts: 4, .. }),
        "{e}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn retry_after_past_the_budget_fails_at_once_and_says_why() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "60"))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let e = client(&server).get("Users/x").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "it waited");
    assert!(
        matches!(e, ScimError::RetriesExhausted { attempts: 1, .. }),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("HTTP 429") && text.contains("60s (Retry-After)"),
        "{text}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn post_is_not_retried_on_500() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let c = client(&server);
    let e = c
        .send(
            reqwest::Method::POST,
            c.url("Users").unwrap(),
            Some(&user(1)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(500));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn iij_error_bodies_with_string_status_are_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(409).set_body_raw(
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"externalId has already been taken","scimType":"uniqueness","status":"409"}"#,
            "application/scim+json",
        ))
        .mount(&server)
        .await;
    let c = client(&server);
    let e = c
        .send(
            reqwest::Method::POST,
            c.url("Users").unwrap(),
            Some(&user(1)),
        )
        .await
        .unwrap_err();
    let body = e.body().unwrap();
    assert_eq!(body.status.as_deref(), Some("409"));
    assert_eq!(body.scim_type.as_deref(), Some("uniqueness"));
    assert!(
        e.to_string().contains("externalId has already been taken"),
        "{e}"
    );
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        sent.headers.get("content-type").unwrap(),
        "application/scim+json"
    );
}

#[tokio::test]
async fn unauthorized_and_forbidden_explain_the_token_and_never_show_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/a"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", r#"Bearer error="invalid_token""#),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Groups/g"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let c = client(&server);
    let e = c.get("Users/a").await.unwrap_err();
    assert!(e.is_auth());
    let msg = e.to_string();
    assert!(msg.contains("expired or was revoked"), "{msg}");
    assert!(!msg.contains(TOKEN), "token leaked: {msg}");
    assert!(!format!("{e:?}").contains(TOKEN), "token leaked in Debug");
    let e = c
        .send(
            reqwest::Method::PATCH,
            c.url("Groups/g").unwrap(),
            Some(&json!({})),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("escim_write_groups"), "{e}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "auth errors are not retried"
    );
}

#[tokio::test]
async fn connection_refused_fails_at_once_naming_the_host() {
    // A port nothing listens on: retrying cannot help soon, so it is not retried, and the
    // error says where and what to check.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut o = ClientOptions::new(format!("http://{addr}/scim/v2/"), Secret::new(TOKEN));
    o.retry = RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(500),
        ..RetryPolicy::default()
    };
    let started = std::time::Instant::now();
    let e = ScimClient::new(o).unwrap().get("Users").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(400), "retried");
    assert!(matches!(e, ScimError::Unreachable { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("connection refused by {addr}")),
        "{text}"
    );
    assert!(text.contains("--base-url or iid.scim.url"), "{text}");
}

#[tokio::test]
async fn an_unresolvable_host_fails_at_once_naming_it() {
    // .invalid never resolves (RFC 6761).
    let o = ClientOptions::new(
        "http://scim.dirsnap-test.invalid/scim/v2/",
        Secret::new(TOKEN),
    );
    let e = ScimClient::new(o).unwrap().get("Users").await.unwrap_err();
    assert!(matches!(e, ScimError::Unreachable { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("the host name scim.dirsnap-test.invalid does not resolve"),
        "{e}"
    );
}

#[tokio::test]
async fn a_refused_proxy_is_named_as_the_proxy() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut o = ClientOptions::new("http://scim.example.test/scim/v2/", Secret::new(TOKEN));
    o.proxy = Some(format!("http://{addr}"));
    let e = ScimClient::new(o).unwrap().get("Users").await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&format!("connection refused by the proxy {addr}")),
        "{text}"
    );
    assert!(text.contains("iid.scim.http.proxy"), "{text}");
}
