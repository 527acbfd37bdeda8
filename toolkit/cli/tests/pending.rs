#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Pending deletion from history and the console's list on the command line
//! (docs/pending-deletion.md): a list that does not parse is refused naming its file, line and
//! column (exit 2); history newer than the live listing, or a folder without a snapshot, is
//! refused; the plan records both inputs with their digests, and the plan directory's front
//! door (`replay --verify`) reads them back to the same presumption.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn demo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/demo")
        .join(p)
}

fn reconcile(extra: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dirsnap"))
        .arg("reconcile")
        .arg("--config")
        .arg(demo("config.yml"))
        .arg("--ad")
        .arg(demo("ad"))
        .arg("--iid")
        .arg(demo("iid"))
        .args(extra)
        .arg("--out")
        .arg(out)
        .arg("-q")
        .output()
        .unwrap()
}

const GONE: &str = "0d5a4c0e-1f1b-4a6c-9b44-3c2f7d0e9a11";
const LEFT: &str = "7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The demo tenant as it was `days` before the live snapshot, with one more user: `gone`, whom
/// the live listing lacks.
fn history_with(to: &Path, days: i64, gone: &str, id: &str) {
    use dirsnap_snapshot::{Iid, ReadOptions, Snapshot, SnapshotMeta, SnapshotWriter};
    let t = Snapshot::open(demo("iid"))
        .unwrap()
        .read::<Iid>(&ReadOptions::default())
        .unwrap();
    let mut users = t.users.clone();
    let mut extra = users[0].clone();
    extra.id = id.into();
    extra.user_name = gone.into();
    extra.external_id = Some(gone.into());
    extra.downstream_id = None;
    extra.raw = serde_json::json!({
        "id": extra.id, "userName": gone, "externalId": gone, "active": true
    })
    .to_string();
    users.push(extra);
    let m = &t.manifest;
    let mut w = SnapshotWriter::<Iid>::create(to).unwrap();
    w.write_users(&users).unwrap();
    w.write_groups(&t.groups).unwrap();
    w.write_memberships(&t.memberships).unwrap();
    w.commit(SnapshotMeta {
        source: m.source.clone(),
        taken_at: Some(m.taken_at - chrono::Duration::days(days)),
        config_digest: m.config_digest.clone(),
        filters: m.filters.clone(),
        config: m.config.clone(),
        notes: m.notes.clone(),
    })
    .unwrap();
}

#[test]
fn a_pending_list_that_does_not_parse_is_refused_naming_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("userName,externalId,id\n", ":1:4:", "no column deleted_at"),
        (
            "userName,externalID,id,deleted_at\n",
            ":1:2:",
            "did you mean externalId?",
        ),
        (
            "userName,externalId,id,deleted_at\na@example.co.jp,,,\n,x,,\n",
            ":3:1:",
            "userName is empty",
        ),
        (
            "userName,externalId,id,deleted_at\na@example.co.jp,,,last week\n",
            ":2:4:",
            "is not a time",
        ),
        (
            "userName,externalId,id,deleted_at\na@example.co.jp,a,b\n",
            ":2:4:",
            "3 fields",
        ),
        (
            "userName,externalId,id,deleted_at\na@example.co.jp,,u-1,\nb@example.co.jp,,u-1,\n",
            ":3:3:",
            "listed twice (first on line 2)",
        ),
    ];
    for (i, (text, at, what)) in cases.iter().enumerate() {
        let list = tmp.path().join(format!("list-{i}.csv"));
        std::fs::write(&list, text).unwrap();
        let out = tmp.path().join(format!("plan-{i}"));
        let o = reconcile(&["--pending-list", list.to_str().unwrap()], &out);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{text:?}: {err}");
        assert!(
            err.contains(&format!("{}{at}", list.display())) && err.contains(what),
            "{text:?}: expected {at} and {what:?} in: {err}"
        );
        assert!(!out.exists());
    }
    // A list that is not there.
    let o = reconcile(
        &["--pending-list", "/nonexistent/list.csv"],
        &tmp.path().join("p"),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent/list.csv"));
}

#[test]
fn history_newer_than_the_live_listing_or_a_folder_without_snapshots_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let newer = tmp.path().join("newer");
    history_with(&newer, -2, "gone@example.co.jp", GONE);
    let o = reconcile(
        &["--history", newer.to_str().unwrap()],
        &tmp.path().join("p1"),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("are the two swapped?"),
        "{}",
        stderr(&o)
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = reconcile(
        &["--history", empty.to_str().unwrap()],
        &tmp.path().join("p2"),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("neither an IID snapshot nor a folder"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_plan_records_history_and_the_pending_list_and_the_plan_front_door_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    // A folder of earlier snapshots: the older lists gone@ and left@; the list says only
    // gone@ is pending (left@ was deleted for good).
    let folder = tmp.path().join("history");
    std::fs::create_dir(&folder).unwrap();
    history_with(&folder.join("2026-11-20"), 7, "gone@example.co.jp", GONE);
    history_with(&folder.join("2026-11-13"), 14, "left@example.co.jp", LEFT);
    // Taken with the live one (the folder every export goes to): not history, left out.
    history_with(
        &folder.join("2026-11-27"),
        0,
        "today@example.co.jp",
        "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    );
    let list = tmp.path().join("pending.csv");
    std::fs::write(
        &list,
        "\u{feff}userName,externalId,id,deleted_at\r\ngone@example.co.jp,gone@example.co.jp,,2026/11/21 09:30\r\n",
    )
    .unwrap();
    let out = tmp.path().join("plan");
    let o = reconcile(
        &[
            "--history",
            folder.to_str().unwrap(),
            "--pending-list",
            list.to_str().unwrap(),
        ],
        &out,
    );
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let inputs = manifest["inputs"].as_array().unwrap();
    let roles: Vec<(&str, &str)> = inputs
        .iter()
        .map(|i| (i["role"].as_str().unwrap(), i["path"].as_str().unwrap()))
        .collect();
    // Each snapshot of the folder, oldest name first, then the list.
    let h1 = folder.join("2026-11-13").display().to_string();
    let h2 = folder.join("2026-11-20").display().to_string();
    let l = list.display().to_string();
    assert!(roles.contains(&("history", h1.as_str())), "{roles:?}");
    assert!(roles.contains(&("history", h2.as_str())), "{roles:?}");
    assert!(roles.contains(&("pending_list", l.as_str())), "{roles:?}");
    assert_eq!(
        roles.iter().filter(|(r, _)| *r == "history").count(),
        2,
        "{roles:?}"
    );
    let list_digest = inputs.iter().find(|i| i["role"] == "pending_list").unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(list_digest.starts_with("sha256:"));

    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap();
    let digests: Vec<&str> = plan["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        digests.iter().filter(|r| **r == "history").count(),
        2,
        "{digests:?}"
    );
    assert!(digests.contains(&"pending_list"), "{digests:?}");
    let presumed: Vec<&serde_json::Value> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "PENDING_DELETION_PRESUMED")
        .collect();
    assert_eq!(presumed.len(), 1, "{presumed:?}");
    assert_eq!(presumed[0]["subject"], "user gone@example.co.jp");
    // The console's list: high confidence, its line and time (JST) in the message.
    assert_eq!(presumed[0]["confidence"], "high");
    let message = presumed[0]["message"].as_str().unwrap();
    assert!(
        message.contains("line 2") && message.contains("2026-11-21T00:30:00Z"),
        "{message}"
    );
    let notes = plan["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| {
            let n = n.as_str().unwrap();
            n.contains("left@example.co.jp") && n.contains("deleted for good")
        }),
        "{notes:?}"
    );

    // The plan's own front door reads the same inputs to the same presumption.
    let dir = dirsnap_plan::load_plan(&out).unwrap();
    let again = dirsnap_app::inputs::from_plan(&dir, None).unwrap();
    assert_eq!(again.pending.evidence.len(), 1);
    assert_eq!(again.pending.evidence[0].user_name, "gone@example.co.jp");
    assert_eq!(again.pending.history.len(), 2);
    let replanned = dirsnap_reconcile::reconcile(&again.view()).unwrap();
    let codes = |p: &dirsnap_plan::Plan| -> Vec<(String, String)> {
        p.findings
            .iter()
            .map(|f| (f.code.clone(), f.subject.clone()))
            .collect()
    };
    assert_eq!(codes(&replanned), codes(&dir.plan));
    assert_eq!(replanned.actions.len(), dir.plan.actions.len());

    // A list edited since is refused by the plan's front door (exit 2 in `replay --verify`).
    std::fs::write(&list, "userName,externalId,id,deleted_at\n").unwrap();
    let err = dirsnap_app::inputs::check_recorded(&dir, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("changed since the plan was built") && err.contains("pending_list"),
        "{err}"
    );
}
