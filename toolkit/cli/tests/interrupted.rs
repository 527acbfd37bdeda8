#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Outputs survive an interruption: `dirsnap simulate` killed outright (SIGKILL, no chance to
//! clean up) while it writes leaves nothing at `--out`, so the same command run again is not
//! refused and succeeds; the hidden staging directory the killed run left is named, not used.

use assert_cmd::cargo::CommandCargoExt as _;
use chrono::TimeZone as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn simulate(data: &Path, out: &Path) -> Command {
    let mut c = Command::cargo_bin("dirsnap").unwrap();
    c.env_remove("RUST_LOG")
        .args(["simulate", "--quiet", "--config"])
        .arg(data.join("config.yml"))
        .arg("--ad")
        .arg(data.join("ad"))
        .arg("--iid")
        .arg(data.join("iid"))
        .arg("--out")
        .arg(out);
    c
}

fn staging_dirs(parent: &Path) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".sim.tmp-"))
        .collect()
}

#[test]
fn simulate_killed_while_writing_leaves_nothing_a_rerun_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Big enough that the replay onto the mock takes a while in a debug build.
    let base = chrono::Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
    dirsnap_harness::bench_reconcile::generate(&data, 20_000, 200, 20, base).unwrap();
    let runs = tmp.path().join("runs");
    std::fs::create_dir(&runs).unwrap();
    let out = runs.join("sim");

    let mut child = simulate(&data, &out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the first plan is inside the staging directory: the moment an
    // unstaged simulation used to leave a `plan/`-only folder behind.
    let deadline = Instant::now() + Duration::from_secs(120);
    let killed_in_flight = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("simulate ended ({status}) before it could be interrupted");
        }
        let staged = staging_dirs(&runs);
        if staged
            .iter()
            .any(|s| runs.join(s).join("plan/manifest.json").is_file())
        {
            child.kill().unwrap();
            child.wait().unwrap();
            break staged;
        }
        assert!(Instant::now() < deadline, "no staging directory appeared");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(!killed_in_flight.is_empty());
    assert!(
        !out.exists(),
        "a killed simulation left {} behind",
        out.display()
    );

    // The same command again: not refused, and it completes.
    let rerun = simulate(&data, &out)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        matches!(rerun.status.code(), Some(0) | Some(3)),
        "{:?}: {stderr}",
        rerun.status
    );
    assert!(!stderr.contains("already exists"), "{stderr}");
    for f in [
        "simulation.json",
        "plan/manifest.json",
        "plan-after/manifest.json",
        "iid-after/manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing after the rerun");
    }
    // What the killed run left beside --out is reported, and left alone (it may belong to a
    // run still going on elsewhere).
    for left in &killed_in_flight {
        assert!(stderr.contains(left.as_str()), "{left} not named: {stderr}");
        assert!(runs.join(left).is_dir());
    }
}
