#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Independent conformance: `scim2 test` (scim2-tester through scim2-cli, PyPI) against our
//! mock and, in the same run, against the reference implementation scim2-server (PyPI).
//!
//! Our mock must show no check other than SUCCESS and at least as many SUCCESS checks as the
//! reference. The IIJ profile as it is answers `""` for a removed externalId (IIJ ID's
//! documented representation of "unset"), which the checker rightly reports as not removed:
//! that second run must show exactly those deviations and nothing else.
//!
//! Needs the venv scripts/test creates (.venv with scim2-cli, scim2-tester, scim2-server), found
//! through DIRSNAP_TEST_PYTHON or `<workspace>/.venv/bin/python`.

use dirsnap_mock_scim::{MockConfig, MockServer, Profile, TokenSpec};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn venv_bin() -> PathBuf {
    let python = std::env::var_os("DIRSNAP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
        });
    let bin = python
        .parent()
        .expect("python has a parent dir")
        .to_path_buf();
    for tool in ["scim2", "scim2-server"] {
        assert!(
            bin.join(tool).exists(),
            "{} not found: run scripts/test (it creates .venv with scim2-cli, scim2-tester and scim2-server) or set DIRSNAP_TEST_PYTHON",
            bin.join(tool).display()
        );
    }
    bin
}

/// Counts of each status `scim2 test` printed, and the lines that were not SUCCESS.
#[derive(Debug, Default)]
struct Report {
    counts: BTreeMap<String, usize>,
    failures: Vec<String>,
}

impl Report {
    fn success(&self) -> usize {
        self.counts.get("SUCCESS").copied().unwrap_or(0)
    }
    fn non_success(&self) -> usize {
        self.counts
            .iter()
            .filter(|(k, _)| k.as_str() != "SUCCESS")
            .map(|(_, v)| v)
            .sum()
    }
}

const STATUSES: [&str; 7] = [
    "SUCCESS",
    "COMPLIANT",
    "ACCEPTABLE",
    "DEVIATION",
    "ERROR",
    "CRITICAL",
    "SKIPPED",
];

fn parse_report(out: &str) -> Report {
    let mut r = Report::default();
    let lines: Vec<&str> = out.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(word) = line.split_whitespace().next() else {
            continue;
        };
        if !line.starts_with(word) || !STATUSES.contains(&word) {
            continue;
        }
        *r.counts.entry(word.to_owned()).or_default() += 1;
        if word != "SUCCESS" {
            let reason = lines
                .get(i + 1)
                .filter(|l| l.starts_with(' '))
                .map(|l| l.trim())
                .unwrap_or("");
            r.failures.push(format!("{line} — {reason}"));
        }
    }
    r
}

async fn run_scim2_test(bin: &Path, url: &str) -> (Report, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(bin.join("scim2"))
            .args(["-u", url, "-h", "Authorization: Bearer T", "test"])
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("scim2 test finished within 3 minutes")
    .expect("scim2 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (parse_report(&text), text)
}

struct Reference {
    child: tokio::process::Child,
    url: String,
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn start_reference(bin: &Path) -> Reference {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = tokio::process::Command::new(bin.join("scim2-server"))
        .args(["--port", &port.to_string(), "--bearer-token", "T"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("scim2-server starts");
    let url = format!("http://127.0.0.1:{port}/v2/");
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = reqwest::Client::new();
    loop {
        let ok = client
            .get(format!("{url}ServiceProviderConfig"))
            .bearer_auth("T")
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "scim2-server did not answer within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Reference { child, url }
}

async fn start_mock(profile: Profile) -> MockServer {
    let mut config = MockConfig::with_profile(profile);
    config.tokens.push(TokenSpec::new("T"));
    MockServer::start(config, "127.0.0.1:0").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim2_tester_passes_against_the_mock_and_the_reference() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bin = venv_bin();
    let started = Instant::now();
    let reference = start_reference(&bin).await;

    let mut conformant = Profile::iij();
    conformant
        .apply_assignment("external_id_unset=absent")
        .unwrap();
    let mut ours = start_mock(conformant).await;
    let mut iij = start_mock(Profile::iij()).await;

    let (theirs_run, ours_run, iij_run) = tokio::join!(
        run_scim2_test(&bin, &reference.url),
        run_scim2_test(&bin, ours.url()),
        run_scim2_test(&bin, iij.url()),
    );
    let (theirs, theirs_text) = theirs_run;
    let (ours_report, ours_text) = ours_run;
    let (iij_report, iij_text) = iij_run;

    println!(
        "scim2 test (scim2-tester) in {:.1}s\n  scim2-server (reference): {:?}\n  mock, profile iij with external_id_unset=absent: {:?}\n  mock, profile iij: {:?}",
        started.elapsed().as_secs_f64(),
        theirs.counts,
        ours_report.counts,
        iij_report.counts
    );
    for f in &iij_report.failures {
        println!("  iij profile: {f}");
    }

    assert!(
        theirs.success() > 0 && theirs.non_success() == 0,
        "the reference should pass its own checker:\n{theirs_text}"
    );
    assert_eq!(
        ours_report.non_success(),
        0,
        "the mock has non-SUCCESS checks: {:#?}\n{ours_text}",
        ours_report.failures
    );
    assert!(
        ours_report.success() >= theirs.success(),
        "the mock passed {} checks, the reference {}\n{ours_text}",
        ours_report.success(),
        theirs.success()
    );
    // The IIJ profile deviates only where IIJ ID documents a representation the RFC does
    // not: a removed externalId reads back as "" (once for User, once for Group).
    assert_eq!(
        iij_report.failures.len(),
        2,
        "unexpected deviations with the IIJ profile: {:#?}\n{iij_text}",
        iij_report.failures
    );
    for f in &iij_report.failures {
        assert!(
            f.contains("'externalId' was not removed")
                || f.contains("did not remove attribute 'externalId'"),
            "unexpected deviation with the IIJ profile: {f}\n{iij_text}"
        );
    }
    assert_eq!(iij_report.success() + 2, ours_report.success());
    ours.shutdown().await;
    iij.shutdown().await;
}
