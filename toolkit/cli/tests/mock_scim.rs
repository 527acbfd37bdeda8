#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dirsnap mock-scim` as a process: prints its URL, serves SCIM, and on SIGTERM writes the
//! `--dump-on-exit` snapshot with what clients changed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

fn demo_iid() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/iid")
}

/// One HTTP/1.1 request with `Connection: close`; returns (status, body).
fn http(method: &str, url: &str, token: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[cfg(unix)]
#[test]
fn serves_the_seed_and_dumps_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("after");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dirsnap"))
        .args(["mock-scim", "--listen", "127.0.0.1:0", "--seed"])
        .arg(demo_iid())
        .arg("--dump-on-exit")
        .arg(&dump)
        .env("DIRSNAP_MOCK_TOKEN", "cli-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let url = url.trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/scim/v2/"),
        "{url}"
    );

    let (status, body) = http("GET", &format!("{url}Users?count=1"), "cli-token");
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["totalResults"], 28);
    let id = list["Resources"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(http("GET", &format!("{url}Users"), "wrong").0, 401);
    assert_eq!(
        http("DELETE", &format!("{url}Users/{id}"), "cli-token").0,
        204
    );

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("dumped 28 users"), "{stderr}");
    assert!(!stderr.contains("cli-token"), "the token leaked: {stderr}");

    let t = dirsnap_snapshot::Snapshot::open(&dump)
        .unwrap()
        .read::<dirsnap_snapshot::Iid>(&dirsnap_snapshot::ReadOptions::default())
        .unwrap();
    assert_eq!(t.users.len(), 28);
    let gone = t.users.iter().find(|u| u.id == id).unwrap();
    assert!(gone.pending_deletion);
    assert_eq!(t.users.iter().filter(|u| u.pending_deletion).count(), 1);
}

#[test]
fn refuses_an_existing_dump_target_before_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dirsnap"))
        .args(["mock-scim", "--listen", "127.0.0.1:0", "--dump-on-exit"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already exists"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_fault_specs_are_usage_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_dirsnap"))
        .args([
            "mock-scim",
            "--listen",
            "127.0.0.1:0",
            "--fault",
            "latency=5",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid fault spec \"latency=5\""), "{err}");
}

/// Starts `dirsnap mock-scim` with `args`; returns the child and the URL it printed.
fn serve(args: &[&str], token: Option<&str>) -> (std::process::Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dirsnap"));
    cmd.arg("mock-scim")
        .args(args)
        .env_remove("DIRSNAP_MOCK_TOKEN");
    if let Some(t) = token {
        cmd.env("DIRSNAP_MOCK_TOKEN", t);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    assert!(url.starts_with("http://"), "printed {url:?}");
    (child, url.trim().to_owned())
}

/// The URL with the loopback address, for a mock listening on every address.
fn via_loopback(url: &str) -> String {
    url.replace("0.0.0.0", "127.0.0.1")
}

#[test]
fn an_open_mock_is_refused_on_a_network_address() {
    // No token, every address: anyone on the network could use /_mock/dump. Refused, exit 2,
    // saying why and what to do; nothing is served.
    let out = Command::new(env!("CARGO_BIN_EXE_dirsnap"))
        .args(["mock-scim", "--listen", "0.0.0.0:0"])
        .env_remove("DIRSNAP_MOCK_TOKEN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("reachable from other machines"), "{err}");
    assert!(err.contains("/_mock/dump"), "{err}");
    assert!(
        err.contains("--token") && err.contains("--insecure-open"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    // With a token it serves, and the admin endpoints need that token.
    let (mut child, url) = serve(&["--listen", "0.0.0.0:0"], Some("net-token"));
    let root = via_loopback(url.trim_end_matches("scim/v2/"));
    assert_eq!(http("GET", &format!("{root}_mock/state"), "guess").0, 401);
    assert_eq!(
        http("GET", &format!("{root}_mock/state"), "net-token").0,
        200
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // Asked for explicitly, it serves open.
    let (mut child, url) = serve(&["--listen", "0.0.0.0:0", "--insecure-open"], None);
    assert_eq!(
        http("GET", &format!("{}Users", via_loopback(&url)), "x").0,
        200
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_bad_listen_address_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    for (listen, want) in [
        ("nonsense", "expected ADDRESS:PORT"),
        ("127.0.0.1:99999", "expected ADDRESS:PORT"),
        (busy.as_str(), "cannot listen there"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_dirsnap"))
            .args(["mock-scim", "--listen", listen])
            .env_remove("DIRSNAP_MOCK_TOKEN")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{listen}: {err}");
        assert!(err.contains("--listen"), "{err}");
        assert!(err.contains(want), "{listen}: {err}");
    }
    drop(taken);
}
