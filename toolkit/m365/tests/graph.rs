#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The library against the loopback Graph fixture: progress events, duplicate handling and the
//! errors a user must act on. (The binary's behaviour is tested in toolkit/cli/tests.)

use dirsnap_m365::fixture::{Endpoint, Fault, FixtureConfig, FixtureTenant, GraphFixture};
use dirsnap_m365::{Collection, Credentials, GraphOptions, M365Error, Progress, Secret};
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "library-test-token-value";

fn user(id: &str, upn: &str) -> Value {
    json!({"id": id, "userPrincipalName": upn, "accountEnabled": true})
}

fn options(fx: &GraphFixture, graph_url: Option<&str>) -> GraphOptions {
    GraphOptions::new(
        graph_url.unwrap_or(fx.graph_url()),
        Credentials::Bearer {
            token: Secret::new(TOKEN),
            env_var: "T".into(),
        },
    )
    .unwrap()
}

fn start(tenant: FixtureTenant, faults: Vec<Fault>, page_size: usize) -> GraphFixture {
    GraphFixture::start(
        tenant,
        FixtureConfig {
            page_size,
            bearer_token: Some(TOKEN.into()),
            faults,
            ..FixtureConfig::default()
        },
    )
    .unwrap()
}

#[derive(Debug, PartialEq)]
enum Seen {
    Page(Collection, u64, usize),
    Retry(Duration, u32),
}

#[tokio::test]
async fn progress_reports_each_page_and_the_retry_after_wait() {
    let tenant = FixtureTenant {
        users: (0..5)
            .map(|i| user(&format!("u{i}"), &format!("u{i}@x.jp")))
            .collect(),
        deleted_users: vec![user("d0", "d0@x.jp")],
    };
    let fx = start(
        tenant,
        vec![Fault {
            endpoint: Endpoint::Users,
            page: 1,
            status: 429,
            retry_after: Some("1".into()),
            times: 1,
        }],
        2,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let report =
        dirsnap_m365::export_graph(
            options(&fx, None),
            &dir.path().join("s"),
            &mut |p| match p {
                Progress::Page {
                    collection,
                    page,
                    rows,
                    ..
                } => seen.push(Seen::Page(collection, page, rows)),
                Progress::Retry { wait, attempt, .. } => seen.push(Seen::Retry(wait, attempt)),
                Progress::Token { .. } => {}
            },
        )
        .await
        .unwrap();
    assert_eq!(
        seen,
        vec![
            Seen::Page(Collection::Users, 1, 2),
            Seen::Retry(Duration::from_secs(1), 1),
            Seen::Page(Collection::Users, 2, 2),
            Seen::Page(Collection::Users, 3, 1),
            Seen::Page(Collection::DeletedUsers, 1, 1),
        ]
    );
    let stats = report.stats.unwrap();
    assert_eq!((stats.pages, stats.retries, stats.throttled), (4, 1, 1));
    assert_eq!(stats.waited, Duration::from_secs(1));
    assert_eq!(report.tally.users, 6);
    assert_eq!(report.tally.deleted, 1);
}

#[tokio::test]
async fn a_retry_after_past_the_budget_fails_at_once_and_a_501_is_not_retried() {
    for (status, retry_after, says) in [
        (503, Some("400"), "400s (Retry-After)"),
        (501, None, "HTTP 501"),
    ] {
        let fx = start(
            FixtureTenant::default(),
            vec![Fault {
                endpoint: Endpoint::Users,
                page: 0,
                status,
                retry_after: retry_after.map(String::from),
                times: 100,
            }],
            100,
        );
        let dir = tempfile::tempdir().unwrap();
        let mut retries = 0;
        let started = std::time::Instant::now();
        let e = dirsnap_m365::export_graph(options(&fx, None), &dir.path().join("s"), &mut |p| {
            if let Progress::Retry { .. } = p {
                retries += 1;
            }
        })
        .await
        .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{status}: it waited"
        );
        assert_eq!(retries, 0, "{status}");
        let text = e.to_string();
        assert!(text.contains(says), "{status}: {text}");
        let answered: Vec<u16> = fx.requests().iter().map(|r| r.status).collect();
        assert_eq!(answered, vec![status], "{status}: one request, not retried");
        assert!(!dir.path().join("s").exists());
    }
}

#[tokio::test]
async fn a_user_deleted_during_the_export_is_kept_once() {
    let tenant = FixtureTenant {
        users: vec![user("a", "a@x.jp"), user("b", "b@x.jp")],
        deleted_users: vec![user("B", "b@x.jp")],
    };
    let fx = start(tenant, Vec::new(), 100);
    let dir = tempfile::tempdir().unwrap();
    let report = dirsnap_m365::export_graph(options(&fx, None), &dir.path().join("s"), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(report.tally.users, 2);
    assert_eq!(report.duplicates, 1);
    assert!(report.warnings[0].contains("listed twice"));
    assert!(
        report
            .manifest
            .notes
            .iter()
            .any(|n| n.contains("listed twice"))
    );
}

#[tokio::test]
async fn forbidden_names_the_permission_and_is_invalid_input() {
    let fx = start(
        FixtureTenant::default(),
        vec![Fault {
            endpoint: Endpoint::Users,
            page: 0,
            status: 403,
            retry_after: None,
            times: 1,
        }],
        100,
    );
    let dir = tempfile::tempdir().unwrap();
    let e = dirsnap_m365::export_graph(options(&fx, None), &dir.path().join("s"), &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, M365Error::Auth { .. }), "{e:?}");
    assert!(e.is_invalid_input());
    let text = e.to_string();
    assert!(
        text.contains("User.Read.All") && text.contains("Authorization_RequestDenied"),
        "{text}"
    );
    assert!(!dir.path().join("s").exists());
}

#[tokio::test]
async fn a_wrong_graph_path_is_invalid_input_naming_the_url() {
    let fx = start(FixtureTenant::default(), Vec::new(), 100);
    let wrong = format!("{}/beta", fx.authority_url());
    let dir = tempfile::tempdir().unwrap();
    let e = dirsnap_m365::export_graph(
        options(&fx, Some(&wrong)),
        &dir.path().join("s"),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(e, M365Error::Request { .. }), "{e:?}");
    assert!(e.is_invalid_input());
    assert!(e.to_string().contains("/beta/users"), "{e}");
}

#[tokio::test]
async fn without_select_graph_would_omit_account_enabled() {
    // The fixture behaves like Graph: without $select, accountEnabled is not returned. This is
    // why the exporter always sends $select; checked here so the fixture cannot silently
    // become more lenient than Graph.
    let tenant = FixtureTenant {
        users: vec![user("a", "a@x.jp")],
        deleted_users: Vec::new(),
    };
    let fx = start(tenant, Vec::new(), 100);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let get = |query: &'static str| {
        let url = format!("{}/users{query}", fx.graph_url());
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let v = get("").await;
    assert!(v["value"][0].get("accountEnabled").is_none(), "{v}");
    assert_eq!(v["value"][0]["userPrincipalName"], "a@x.jp");
    let v = get("?$select=id,accountEnabled").await;
    assert_eq!(v["value"][0]["accountEnabled"], true);
    assert!(v["value"][0].get("userPrincipalName").is_none(), "{v}");
}
