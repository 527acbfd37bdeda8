#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A snapshot write killed midway (SIGKILL: no destructor runs) leaves no directory at the
//! target.

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn killed_writer_leaves_no_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("snap");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dirsnap-harness"))
        .args([
            "gen-users",
            "--users",
            "5000000",
            "--chunk",
            "20000",
            "--out",
        ])
        .arg(&target)
        .spawn()
        .unwrap();
    // Wait until the writer has created its temporary directory and written some data.
    let deadline = Instant::now() + Duration::from_secs(60);
    let tmp = loop {
        let found = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().starts_with(".snap.tmp-"));
        if let Some(e) = found {
            let users = e.path().join("users.parquet");
            if users
                .metadata()
                .map(|m| m.len() > 1_000_000)
                .unwrap_or(false)
            {
                break e.path();
            }
        }
        assert!(Instant::now() < deadline, "writer never started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "writer finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !target.exists(),
        "a half-written snapshot appeared at the target"
    );
    assert!(
        tmp.exists(),
        "the test did not interrupt a write in progress"
    );
}
