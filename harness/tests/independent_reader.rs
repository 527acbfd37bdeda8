#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Our Parquet, read by someone else: pyarrow and DuckDB (from the venv `scripts/test`
//! creates) must see exactly the documented columns and the manifest's row counts.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("DIRSNAP_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with pyarrow/duckdb: run scripts/test (it creates .venv) or set DIRSNAP_TEST_PYTHON"
    );
    venv
}

#[test]
fn pyarrow_and_duckdb_read_the_demo_snapshots_as_documented() {
    let root = root();
    let snaps: Vec<PathBuf> = ["ad-previous", "ad", "iid-previous", "iid"]
        .iter()
        .map(|s| root.join("fixtures/demo").join(s))
        .collect();
    let out = Command::new(python())
        .arg(root.join("scripts/py/check_snapshot.py"))
        .arg(root.join("docs/snapshot-format.md"))
        .args(&snaps)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("checked 12 files of 4 snapshots: 0 mismatches"),
        "{stdout}"
    );
}

#[test]
fn pyarrow_reads_an_m365_snapshot_with_lists_and_nulls() {
    use dirsnap_model::M365User;
    use dirsnap_snapshot::{M365, SnapshotMeta, SnapshotWriter};
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("m365");
    let mut w = SnapshotWriter::<M365>::create(&snap).unwrap();
    w.write_users(&[
        M365User {
            id: "1".into(),
            user_principal_name: "a@example.co.jp".into(),
            account_enabled: Some(false),
            licenses: vec!["ENTERPRISEPACK".into()],
            ..M365User::default()
        },
        M365User {
            id: "2".into(),
            user_principal_name: "b@example.co.jp".into(),
            ..M365User::default()
        },
    ])
    .unwrap();
    w.commit(SnapshotMeta::default()).unwrap();
    let out = Command::new(python())
        .arg(root().join("scripts/py/check_snapshot.py"))
        .arg(root().join("docs/snapshot-format.md"))
        .arg(&snap)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("checked 3 files of 1 snapshots: 0 mismatches"),
        "{stdout}"
    );
}
