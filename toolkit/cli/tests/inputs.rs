#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Inputs checked against each other: swapped, repeated or mismatched snapshots are refused
//! before anything is read (exit 2, naming both inputs); snapshots taken far apart are a
//! SNAPSHOT_TIME_GAP warning in the plan.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn demo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/demo")
        .join(p)
}

fn reconcile(args: &[&Path], flags: &[&str], out: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dirsnap"));
    cmd.arg("reconcile").arg("--config").arg(demo("config.yml"));
    for (flag, path) in flags.iter().zip(args) {
        cmd.arg(flag).arg(path);
    }
    cmd.arg("--out").arg(out).arg("-q").output().unwrap()
}

/// `from` written again with every user's SCIM id changed.
fn rewrite_ids(from: &Path, to: &Path) {
    use dirsnap_snapshot::{Iid, ReadOptions, Snapshot, SnapshotMeta, SnapshotWriter};
    let t = Snapshot::open(from)
        .unwrap()
        .read::<Iid>(&ReadOptions::default())
        .unwrap();
    let users: Vec<dirsnap_model::IidUser> = t
        .users
        .into_iter()
        .map(|mut u| {
            u.id = format!("other-{}", u.id);
            u
        })
        .collect();
    let m = &t.manifest;
    let mut w = SnapshotWriter::<Iid>::create(to).unwrap();
    w.write_users(&users).unwrap();
    w.write_groups(&t.groups).unwrap();
    w.write_memberships(&t.memberships).unwrap();
    w.commit(SnapshotMeta {
        source: m.source.clone(),
        taken_at: Some(m.taken_at),
        config_digest: m.config_digest.clone(),
        filters: m.filters.clone(),
        config: m.config.clone(),
        notes: m.notes.clone(),
    })
    .unwrap();
}

/// The findings with `code` in the plan a reconcile (`o`, which must have written one, exit
/// 0 or 3) wrote to `out`.
fn planned_findings(o: &Output, out: &Path, code: &str) -> Vec<serde_json::Value> {
    support::written_plan(o, out)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .cloned()
        .collect()
}

#[test]
fn contradicting_inputs_are_refused_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    let (ad, ad_prev, iid, iid_prev) = (
        demo("ad"),
        demo("ad-previous"),
        demo("iid"),
        demo("iid-previous"),
    );
    // The cache of another tenant: the same people, other SCIM ids (every tenant is served
    // at the same URL, so only the ids tell tenants apart).
    let other_tenant = tmp.path().join("iid-other-tenant");
    rewrite_ids(&iid_prev, &other_tenant);

    let cases: Vec<(Vec<&Path>, Vec<&str>, &str)> = vec![
        (
            vec![&ad_prev, &ad, &iid],
            vec!["--ad", "--previous-ad", "--iid"],
            "are the two swapped?",
        ),
        (
            vec![&ad, &iid_prev, &iid],
            vec!["--ad", "--iid", "--previous-iid"],
            "are the two swapped?",
        ),
        (
            vec![&ad, &iid, &other_tenant],
            vec!["--ad", "--iid", "--previous-iid"],
            "snapshots of different tenants",
        ),
    ];
    for (paths, flags, want) in cases {
        let o = reconcile(&paths, &flags, &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {err}");
        assert!(!out.exists(), "{flags:?}: a plan was written");
    }
}

#[test]
fn snapshots_taken_a_week_apart_are_a_time_gap_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    // The AD of now against the tenant of a week ago.
    let o = reconcile(
        &[&demo("ad"), &demo("iid-previous")],
        &["--ad", "--iid"],
        &out,
    );
    let gap = planned_findings(&o, &out, "SNAPSHOT_TIME_GAP");
    assert_eq!(gap.len(), 1, "{gap:?}");
    assert_eq!(gap[0]["severity"], "warning");
    assert!(
        gap[0]["message"]
            .as_str()
            .unwrap()
            .contains("168 hours apart")
    );
    // Taken together, the demo's snapshots raise none.
    let again = tmp.path().join("plan-2");
    reconcile(&[&demo("ad"), &demo("iid")], &["--ad", "--iid"], &again);
    let text = std::fs::read_to_string(again.join("plan.json")).unwrap();
    assert!(!text.contains("SNAPSHOT_TIME_GAP"));
}

#[test]
fn one_snapshot_in_two_roles_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    let o = reconcile(
        &[&demo("ad"), &demo("iid"), &demo("iid")],
        &["--ad", "--iid", "--previous-iid"],
        &out,
    );
    let repeated = planned_findings(&o, &out, "SNAPSHOT_REPEATED");
    assert_eq!(repeated.len(), 1, "{repeated:?}");
    let message = repeated[0]["message"].as_str().unwrap();
    assert!(
        message.contains("--iid and --previous-iid are the same snapshot"),
        "{message}"
    );
}
