#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Network failures as a user sees them through the real binary: every retry is a line on
//! stderr (here piped, as in a script or a log file); a port nothing listens on fails at once
//! naming the host and what to check; `check`'s advice for an unreachable custom URL is about
//! that URL, not IIJ ID's firewall rule.

use assert_cmd::Command;
use dirsnap_mock_scim::{FaultSpec, MockConfig, MockServer, TokenSpec};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TOKEN: &str = "network-test-token";

fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/demo")
        .join(name)
}

fn dirsnap() -> Command {
    let mut c = Command::cargo_bin("dirsnap").unwrap();
    c.env_remove("RUST_LOG")
        .env_remove("DIRSNAP_AD_PASSWORD")
        .env("DIRSNAP_IID_TOKEN", TOKEN)
        .timeout(Duration::from_secs(120));
    c
}

fn config(dir: &Path) -> PathBuf {
    let path = dir.join("config.yml");
    std::fs::write(&path, "dirsnap:\n  instance: test\n").unwrap();
    path
}

/// A loopback port nothing listens on: bound, then let go.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn every_retry_is_a_line_on_stderr_even_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = MockConfig::iij();
    c.tokens.push(TokenSpec::new(TOKEN));
    c.seed_snapshot = Some(demo("iid"));
    c.faults = FaultSpec::parse_all(&["seed=3,503=40%".to_string()]).unwrap();
    let server = MockServer::spawn(c, "127.0.0.1:0").unwrap();
    let base = format!("{}scim/v2/", server.root_url());
    let run = dirsnap()
        .args([
            "export",
            "iid",
            "--page-size",
            "5",
            "--base-url",
            &base,
            "--config",
        ])
        .arg(config(dir.path()))
        .arg("--out")
        .arg(dir.path().join("snap"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let retries: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("retrying in"))
        .collect();
    let faults = server.stats().faults_status;
    assert!(faults > 0, "the mock injected no fault");
    // One line per retry: what failed (the request and the answer), the wait, the attempt.
    assert_eq!(retries.len() as u64, faults, "{stderr}");
    for l in &retries {
        assert!(l.contains(&format!("GET {base}")), "{l}");
        assert!(l.contains("HTTP 503"), "{l}");
        assert!(l.contains(" of 8)") && l.contains("(attempt "), "{l}");
    }
    // --quiet: only errors.
    let run = dirsnap()
        .args([
            "--quiet",
            "export",
            "iid",
            "--page-size",
            "5",
            "--base-url",
            &base,
        ])
        .arg("--config")
        .arg(config(dir.path()))
        .arg("--out")
        .arg(dir.path().join("snap-quiet"))
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(
        !String::from_utf8_lossy(&run.stderr).contains("retrying"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn a_closed_port_fails_at_once_naming_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let base = format!("http://127.0.0.1:{port}/scim/v2/");
    let started = Instant::now();
    let run = dirsnap()
        .args(["export", "iid", "--base-url", &base, "--config"])
        .arg(config(dir.path()))
        .arg("--out")
        .arg(dir.path().join("snap"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    // Not 8 attempts over ~20 s: the default retry policy is 200 ms doubling.
    assert!(started.elapsed() < Duration::from_secs(3), "{stderr}");
    assert!(!stderr.contains("retrying"), "{stderr}");
    assert!(
        stderr.contains(&format!("connection refused by 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("--base-url or iid.scim.url"), "{stderr}");
    assert!(!dir.path().join("snap").exists());

    // replay: its first request (the stale-plan check) fails the same way.
    let plan = dir.path().join("plan");
    let r = dirsnap()
        .args(["--quiet", "reconcile", "--config"])
        .arg(demo("config.yml"))
        .arg("--ad")
        .arg(demo("ad"))
        .arg("--iid")
        .arg(demo("iid"))
        .arg("--out")
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(3));
    let started = Instant::now();
    let run = dirsnap()
        .arg("replay")
        .arg(&plan)
        .arg("--config")
        .arg(demo("config.yml"))
        .args(["--allow-blocked", "--base-url", &base])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(3), "{stderr}");
    assert!(
        stderr.contains(&format!("connection refused by 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[test]
fn check_does_not_send_a_custom_url_to_auth_iij_jp() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let cfg = dir.path().join("config.yml");
    // No reachable domain controller either: only the IIJ ID lines matter here.
    std::fs::write(
        &cfg,
        format!(
            "ad:\n  ldap:\n    server:\n      addresses: [127.0.0.1]\n      port: {port}\n      user: 'CN=x,DC=example'\n    base_dn: 'DC=example'\ndirsnap:\n  instance: t\n"
        ),
    )
    .unwrap();
    let run = dirsnap()
        .env("DIRSNAP_AD_PASSWORD", "p")
        .args(["check", "--json", "--timeout", "2", "--config"])
        .arg(&cfg)
        .args(["--base-url", &format!("http://127.0.0.1:{port}/scim/v2/")])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let reach = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "iid.reach")
        .unwrap();
    assert_eq!(reach["status"], "fail", "{reach}");
    let fix = reach["fix"].as_str().unwrap();
    assert!(!fix.contains("auth.iij.jp"), "{fix}");
    assert!(
        fix.contains(&format!("127.0.0.1:{port}")) && fix.contains("--base-url"),
        "{fix}"
    );
}
