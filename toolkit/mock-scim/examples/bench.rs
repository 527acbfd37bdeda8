//! The benchmark behind scripts/bench-mock-scim: the same SCIM requests against our mock and
//! against scim2-server (PyPI, the reference implementation), both seeded with the same users,
//! driven by the same Rust client at the same concurrency, in one run. Prints requests/s and
//! the ratio.
//!
//! Workloads: a paged list of every user (`GET /Users?startIndex=…&count=100`) and
//! `userName eq` lookups of random users (`GET /Users?filter=userName eq "…"`). The reference
//! is given a time budget per workload (it sorts every user on every page); its rate is
//! measured over the requests it completed, and the table says how many that was.
//!
//! usage: bench --python .venv/bin/python --script scripts/py/scim2_server_seeded.py
//!              [--users 100000] [--lookups 10000] [--concurrency 4] [--budget-secs 60]

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dirsnap_mock_scim::{IdGen, MockConfig, MockServer, TokenSpec};
use dirsnap_model::scim_json;
use dirsnap_snapshot::{Iid, SnapshotMeta, SnapshotWriter};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token";

struct Opts {
    python: PathBuf,
    script: PathBuf,
    users: usize,
    lookups: usize,
    concurrency: usize,
    budget: Duration,
}

fn opts() -> Opts {
    let mut o = Opts {
        python: PathBuf::from(".venv/bin/python"),
        script: PathBuf::from("scripts/py/scim2_server_seeded.py"),
        users: 100_000,
        lookups: 10_000,
        concurrency: 4,
        budget: Duration::from_secs(60),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--python" => o.python = v.into(),
            "--script" => o.script = v.into(),
            "--users" => o.users = v.parse().expect("--users N"),
            "--lookups" => o.lookups = v.parse().expect("--lookups N"),
            "--concurrency" => o.concurrency = v.parse().expect("--concurrency N"),
            "--budget-secs" => o.budget = Duration::from_secs(v.parse().expect("--budget-secs N")),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    o
}

fn user_name(i: usize) -> String {
    format!("user{i:06}@example.co.jp")
}

/// A User shaped like IIJ ID's (core attributes and the enterprise extension, which both
/// servers' schemas know).
fn user(i: usize) -> Value {
    let id = IdGen::id_at(7, i as u64);
    let name = user_name(i);
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": id,
        "externalId": format!("ext-{i:06}"),
        "userName": name,
        "name": {"familyName": format!("Family{}", i % 997), "givenName": format!("Given{}", i % 991)},
        "displayName": format!("Family{} Given{}", i % 997, i % 991),
        "active": !i.is_multiple_of(17),
        "emails": [{"value": name, "primary": true}],
        "title": "Engineer",
        "preferredLanguage": "ja-JP",
        "timezone": "Asia/Tokyo",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": format!("Dept{}", i % 50)},
        "meta": {
            "resourceType": "User",
            "created": "2026-01-01T09:00:00+09:00",
            "lastModified": "2026-01-01T09:00:00+09:00",
            "location": format!("https://scim.auth.iij.jp/scim/v2/Users/{id}"),
        }
    })
}

fn start_reference(o: &Opts, jsonl: &std::path::Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(&o.python)
        .arg(&o.script)
        .args(["--port", &port.to_string(), "--token", TOKEN, "--users"])
        .arg(jsonl)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the Python interpreter of the venv starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("ready"),
        "scim2-server did not start: {line:?}"
    );
    (child, format!("http://127.0.0.1:{port}/v2/"))
}

/// Outcome of one workload against one server.
struct Run {
    done: usize,
    elapsed: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64()
    }
}

/// Sends `urls` with `concurrency` workers until all are done or `budget` runs out; checks
/// every response with `check`.
async fn drive(
    client: &reqwest::Client,
    urls: Arc<Vec<String>>,
    concurrency: usize,
    budget: Duration,
    check: fn(&Value) -> bool,
) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, urls, next, done) = (client.clone(), urls.clone(), next.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                if start.elapsed() >= budget {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(url) = urls.get(i) else { break };
                let resp = client.get(url).bearer_auth(TOKEN).send().await.unwrap();
                assert!(resp.status().is_success(), "{url}: {}", resp.status());
                let body: Value = resp.json().await.unwrap();
                assert!(check(&body), "{url}: unexpected answer");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Run {
        done: done.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
    }
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let o = opts();
    let tmp = tempfile::tempdir().unwrap();

    eprintln!("generating {} users…", o.users);
    let users: Vec<Value> = (0..o.users).map(user).collect();
    let jsonl = tmp.path().join("users.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&jsonl).unwrap());
        for u in &users {
            writeln!(f, "{u}").unwrap();
        }
    }
    let snap = tmp.path().join("seed");
    {
        let rows: Vec<_> = users
            .iter()
            .map(|u| scim_json::user_from_scim(u).unwrap())
            .collect();
        let mut w = SnapshotWriter::<Iid>::create(&snap).unwrap();
        w.write_users(&rows).unwrap();
        w.commit(SnapshotMeta::default()).unwrap();
    }

    let t = Instant::now();
    let mut config = MockConfig::iij();
    config.tokens.push(TokenSpec::new(TOKEN));
    config.seed_snapshot = Some(snap);
    let mut ours = MockServer::spawn(config, "127.0.0.1:0").unwrap();
    let ours_seed = t.elapsed();
    eprintln!(
        "dirsnap mock seeded from the snapshot in {:.1}s",
        ours_seed.as_secs_f64()
    );

    let t = Instant::now();
    let (mut reference, reference_url) = start_reference(&o, &jsonl);
    eprintln!("scim2-server seeded in {:.1}s", t.elapsed().as_secs_f64());

    let page = 100;
    let pages = o.users.div_ceil(page);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let picks: Vec<usize> = (0..o.lookups)
        .map(|_| rng.random_range(0..o.users))
        .collect();
    let page_urls = |base: &str| -> Arc<Vec<String>> {
        Arc::new(
            (0..pages)
                .map(|p| format!("{base}Users?startIndex={}&count={page}", p * page + 1))
                .collect(),
        )
    };
    let lookup_urls = |base: &str| -> Arc<Vec<String>> {
        Arc::new(
            picks
                .iter()
                .map(|i| {
                    format!(
                        "{base}Users?filter=userName%20eq%20%22{}%22",
                        user_name(*i).replace('@', "%40")
                    )
                })
                .collect(),
        )
    };
    let total = o.users;
    let page_ok: fn(&Value) -> bool = |b| b["Resources"].as_array().is_some_and(|r| !r.is_empty());
    let lookup_ok: fn(&Value) -> bool = |b| b["totalResults"] == 1;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency)
        .build()
        .unwrap();
    let (ours_pages, ours_lookups, ref_pages, ref_lookups) = rt.block_on(async {
        // Sanity: both servers hold the same users.
        for base in [ours.url().to_owned(), reference_url.clone()] {
            let b: Value = client
                .get(format!("{base}Users?count=1"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(b["totalResults"], total, "{base}");
        }
        let unlimited = Duration::from_secs(3600);
        let ours_pages = drive(
            &client,
            page_urls(ours.url()),
            o.concurrency,
            unlimited,
            page_ok,
        )
        .await;
        let ours_lookups = drive(
            &client,
            lookup_urls(ours.url()),
            o.concurrency,
            unlimited,
            lookup_ok,
        )
        .await;
        let ref_pages = drive(
            &client,
            page_urls(&reference_url),
            o.concurrency,
            o.budget,
            page_ok,
        )
        .await;
        let ref_lookups = drive(
            &client,
            lookup_urls(&reference_url),
            o.concurrency,
            o.budget,
            lookup_ok,
        )
        .await;
        (ours_pages, ours_lookups, ref_pages, ref_lookups)
    });
    let _ = reference.kill();
    let _ = reference.wait();
    ours.stop();

    println!(
        "\n{} users, concurrency {}, same client for both servers",
        o.users, o.concurrency
    );
    println!(
        "{:<34} {:>17} {:>17} {:>8}",
        "workload", "dirsnap mock", "scim2-server", "ratio"
    );
    for (name, n, ours, theirs) in [
        (
            format!("paged list, {page}/page ({pages} pages)"),
            pages,
            &ours_pages,
            &ref_pages,
        ),
        (
            format!("userName eq lookups ({})", o.lookups),
            o.lookups,
            &ours_lookups,
            &ref_lookups,
        ),
    ] {
        assert_eq!(ours.done, n, "the mock must finish every request");
        println!(
            "{:<34} {:>11.0} req/s {:>11.1} req/s {:>7.1}x",
            name,
            ours.rate(),
            theirs.rate(),
            ours.rate() / theirs.rate()
        );
        println!(
            "{:<34} {:>11} reqs  {:>11} reqs",
            "",
            format!("{}/{n}", ours.done),
            format!("{}/{n}", theirs.done),
        );
    }
    println!(
        "(scim2-server gets {}s per workload; its rate is over the requests it completed)",
        o.budget.as_secs()
    );
}
