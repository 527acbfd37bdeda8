#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Fault injection through real HTTP: the same seed gives the same fault sequence, and each
//! fault looks on the wire the way it is documented (docs/mock-scim.md).

mod common;

use common::{Client, created_id, start, user};
use dirsnap_mock_scim::{FaultAction, FaultSpec, MockConfig};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

/// What one request saw: a status, or a dropped connection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Status(u16, Option<String>),
    Dropped,
}

async fn observe(spec: &str, requests: usize) -> Vec<Seen> {
    let mut config = MockConfig::iij();
    config.faults = FaultSpec::parse(spec).unwrap();
    let server = start(config).await;
    let c = Client::new(&server);
    let mut seen = Vec::with_capacity(requests);
    for _ in 0..requests {
        match c.send(reqwest::Method::GET, "Users", None, &[]).await {
            Ok(r) => seen.push(Seen::Status(r.status.as_u16(), r.retry_after)),
            Err(_) => seen.push(Seen::Dropped),
        }
    }
    let stats = server.stats();
    assert_eq!(
        stats.faults_dropped as usize,
        seen.iter().filter(|s| **s == Seen::Dropped).count()
    );
    seen
}

#[tokio::test]
async fn the_same_seed_gives_the_same_fault_sequence() {
    let spec = "seed=42,429=20%:retry-after=2,5xx=20%,drop=10%";
    let a = observe(spec, 80).await;
    let b = observe(spec, 80).await;
    assert_eq!(a, b);
    // And it is the sequence the decision function documents.
    let f = FaultSpec::parse(spec).unwrap();
    let expected: Vec<Seen> = (0..80)
        .map(|n| match f.decide(n).action {
            FaultAction::Pass => Seen::Status(200, None),
            FaultAction::Drop => Seen::Dropped,
            FaultAction::Status {
                status,
                retry_after,
            } => Seen::Status(status, retry_after.map(|s| s.to_string())),
        })
        .collect();
    assert_eq!(a, expected);
    for kind in [
        |s: &Seen| *s == Seen::Dropped,
        |s: &Seen| *s == Seen::Status(429, Some("2".into())),
        |s: &Seen| matches!(s, Seen::Status(500..=504, None)),
        |s: &Seen| *s == Seen::Status(200, None),
    ] {
        assert!(a.iter().any(kind), "{a:?}");
    }
    let c = observe("seed=43,429=20%:retry-after=2,5xx=20%,drop=10%", 80).await;
    assert_ne!(a, c);
}

#[tokio::test]
async fn faulted_writes_change_nothing_and_writes_only_scope() {
    let mut config = MockConfig::iij();
    config.faults = FaultSpec::parse("on=writes,503=100%").unwrap();
    let server = start(config).await;
    let c = Client::new(&server);
    let r = c.post("Users", user("a@example.jp", None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["status"], "503");
    assert!(server.users().is_empty());
    // Reads and the admin endpoints are not touched.
    assert_eq!(c.get("Users").await.status, StatusCode::OK);
    let r = c
        .send(
            reqwest::Method::GET,
            &format!("{}_mock/stats", server.root_url()),
            None,
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["faults_status"], 1);
}

#[tokio::test]
async fn latency_delays_and_slow_bodies_arrive_intact() {
    let mut config = MockConfig::iij();
    config.faults = FaultSpec::parse("latency=120ms..160ms").unwrap();
    let server = start(config).await;
    let c = Client::new(&server);
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(c.get("Users").await.status, StatusCode::OK);
        assert!(
            t.elapsed() >= Duration::from_millis(120),
            "{:?}",
            t.elapsed()
        );
    }

    let plain = start(MockConfig::iij()).await;
    let mut config = MockConfig::iij();
    config.faults = FaultSpec::parse("slow-body=512B/25ms").unwrap();
    let slow = start(config).await;
    for s in [&plain, &slow] {
        let c = Client::new(s);
        for i in 0..20 {
            created_id(
                &c.post("Users", user(&format!("u{i}@example.jp"), None))
                    .await,
            );
        }
    }
    let fast = Client::new(&plain).get("Users?count=10").await;
    let t = Instant::now();
    let r = Client::new(&slow).get("Users?count=10").await;
    let took = t.elapsed();
    let bytes = r.body.to_string().len();
    // At least one pause per started 512-byte chunk of a multi-kilobyte body (creates were
    // slowed too, so count only this GET).
    assert!(bytes > 2048, "{bytes}");
    let chunks = bytes.div_ceil(512) as u32;
    assert!(
        took >= Duration::from_millis(25) * (chunks - 1),
        "{took:?} for {chunks} chunks"
    );
    // The content is what the unfaulted server sends (ids and locations aside).
    let strip = |v: &serde_json::Value| {
        v["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&r.body), strip(&fast.body));
    assert_eq!(r.body["totalResults"], json!(20));
}

#[tokio::test]
async fn token_expiry_after_n_requests_and_renewal() {
    let mut config = MockConfig::iij();
    config.faults = FaultSpec::parse("token-expiry-after=3").unwrap();
    let server = start(config).await;
    let c = Client::new(&server);
    for _ in 0..3 {
        assert_eq!(c.get("Users").await.status, StatusCode::OK);
    }
    let r = c.get("Users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.www_authenticate
            .as_deref()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    server.add_token(dirsnap_mock_scim::TokenSpec::new(common::TOKEN));
    assert_eq!(c.get("Users").await.status, StatusCode::OK);
}
