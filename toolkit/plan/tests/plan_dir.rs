#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The plan directory: written atomically with the reports a caller renders, read back only
//! when unmodified and executable in seq order.

use chrono::{TimeZone, Utc};
use dirsnap_plan::{
    Action, Keys, MemberRef, Mode, Op, PLAN_SCHEMA_VERSION, Plan, PlanDirError, ReportFile,
    Request, Resource, load_plan, write_plan_dir,
};
use sha2::{Digest, Sha256};

fn action(seq: u32, op: Op) -> Action {
    Action {
        seq,
        op,
        resource: op.resource(),
        instance: "main".into(),
        target: (!op.is_create()).then(|| format!("id-{seq}")),
        target_action: None,
        user_name: Some(format!("u{seq}@example.co.jp")),
        display_name: None,
        external_id: None,
        keys: Keys::new(),
        matched_by: None,
        rule: "r".into(),
        reason: "because".into(),
        changes: Vec::new(),
        request: Request {
            method: "PATCH".into(),
            path: format!("Users/id-{seq}"),
        },
        operations: Vec::new(),
        body: op.is_create().then(|| serde_json::json!({"userName": "x"})),
        members: Vec::new(),
        depends_on: Vec::new(),
        state_digest: None,
    }
}

fn plan(actions: Vec<Action>) -> Plan {
    let mut p = Plan {
        schema_version: PLAN_SCHEMA_VERSION,
        mode: Mode::Recovery,
        as_of: Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
        instances: Vec::new(),
        inputs: Vec::new(),
        summary: Default::default(),
        findings: Vec::new(),
        actions,
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    p.summarize();
    p
}

fn count(plan: &Plan, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
    write!(out, "{} actions", plan.actions.len())
}

#[test]
fn written_with_reports_read_back_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    let p = plan(vec![action(1, Op::CreateUser), action(2, Op::DisableUser)]);
    let reports = [ReportFile {
        name: "count.txt",
        render: &count,
    }];
    let manifest = write_plan_dir(&out, &p, &[], &reports, Utc::now()).unwrap();
    assert_eq!(manifest["kind"], "plan");
    // Every file is listed with the sha256 of its bytes, the report included.
    for name in [
        "plan.json",
        "actions.parquet",
        "findings.parquet",
        "count.txt",
    ] {
        let bytes = std::fs::read(out.join(name)).unwrap();
        assert_eq!(
            manifest["files"][name]["sha256"],
            hex::encode(Sha256::digest(&bytes)),
            "{name}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(out.join("count.txt")).unwrap(),
        "2 actions"
    );
    let back = load_plan(&out).unwrap();
    assert_eq!(back.plan, p);
    assert_eq!(back.dir, out);
    let plan_json = std::fs::read(out.join("plan.json")).unwrap();
    assert_eq!(
        back.digest,
        format!("sha256:{}", hex::encode(Sha256::digest(&plan_json)))
    );
    // Nothing but the plan is left beside it, and it is never written over.
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["plan"]);
    assert!(matches!(
        write_plan_dir(&out, &p, &[], &reports, Utc::now()),
        Err(PlanDirError::Exists { .. })
    ));
}

#[test]
fn a_failing_report_leaves_no_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    let failing = |_: &Plan, _: &mut dyn std::fmt::Write| Err(std::fmt::Error);
    let reports = [ReportFile {
        name: "broken.md",
        render: &failing,
    }];
    let e = write_plan_dir(&out, &plan(Vec::new()), &[], &reports, Utc::now()).unwrap_err();
    assert!(e.to_string().contains("broken.md"), "{e}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// Writes `p` with a consistent manifest (so only the order check can refuse it).
fn written(p: &Plan) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    write_plan_dir(&out, p, &[], &[], Utc::now()).unwrap();
    (tmp, out)
}

#[test]
fn plans_that_cannot_run_in_seq_order_are_refused() {
    let mut forward = action(1, Op::UpdateUser);
    forward.depends_on = vec![2];
    let mut member_of_later = action(1, Op::AddMembers);
    member_of_later.resource = Resource::Group;
    member_of_later.members = vec![MemberRef {
        value: None,
        created_by: Some(2),
        display: "x".into(),
        object_guid: None,
    }];
    let mut no_body = action(1, Op::CreateGroup);
    no_body.body = None;
    let cases = [
        (
            vec![forward, action(2, Op::CreateUser)],
            "depends on 2, which is not an earlier action",
        ),
        (
            vec![member_of_later, action(2, Op::CreateUser)],
            "depends on 2",
        ),
        (vec![no_body], "has no body"),
        (
            vec![action(1, Op::UpdateUser), action(1, Op::DisableUser)],
            "seq 1 appears twice",
        ),
    ];
    for (actions, want) in cases {
        let (_tmp, out) = written(&plan(actions));
        let e = load_plan(&out).unwrap_err();
        assert!(matches!(e, PlanDirError::Invalid { .. }), "{e}");
        assert!(e.is_invalid_input());
        assert!(e.to_string().contains(want), "{e} (wanted {want:?})");
    }
}

#[test]
fn tampering_and_foreign_directories_are_named() {
    let (_tmp, out) = written(&plan(vec![action(1, Op::CreateUser)]));
    let text = std::fs::read_to_string(out.join("plan.json")).unwrap();
    std::fs::write(out.join("plan.json"), text.replace("because", "Because")).unwrap();
    let e = load_plan(&out).unwrap_err();
    assert!(matches!(e, PlanDirError::Checksum { .. }), "{e}");
    assert!(
        e.to_string().contains("plan.json: checksum mismatch"),
        "{e}"
    );

    let snapshot = tempfile::tempdir().unwrap();
    std::fs::write(
        snapshot.path().join("manifest.json"),
        r#"{"kind": "ad", "schema_version": 1}"#,
    )
    .unwrap();
    let e = load_plan(snapshot.path()).unwrap_err();
    assert!(e.to_string().contains("this is a snapshot"), "{e}");
    let empty = tempfile::tempdir().unwrap();
    let e = load_plan(empty.path()).unwrap_err();
    assert!(e.to_string().contains("no manifest.json"), "{e}");
}

#[test]
fn every_listed_file_is_verified_and_the_one_that_differs_is_named() {
    let reports = [ReportFile {
        name: "count.txt",
        render: &count,
    }];
    let fresh = || {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("plan");
        write_plan_dir(
            &out,
            &plan(vec![action(1, Op::CreateUser)]),
            &[],
            &reports,
            Utc::now(),
        )
        .unwrap();
        (tmp, out)
    };
    let (_tmp, out) = fresh();
    let back = load_plan(&out).unwrap();
    let names: Vec<&str> = back.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "actions.parquet",
            "count.txt",
            "findings.parquet",
            "plan.json"
        ]
    );
    // A journal beside the plan is the replay's, not part of what was reviewed.
    std::fs::write(out.join("journal.jsonl"), "{}\n").unwrap();
    assert!(load_plan(&out).is_ok());

    // An edited report (what people approve), a corrupt table: refused, the file named.
    for name in ["count.txt", "actions.parquet", "findings.parquet"] {
        let (_tmp, out) = fresh();
        let mut bytes = std::fs::read(out.join(name)).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(out.join(name), bytes).unwrap();
        let e = load_plan(&out).unwrap_err();
        assert!(matches!(e, PlanDirError::Checksum { .. }), "{name}: {e}");
        assert!(e.is_invalid_input());
        assert!(
            e.to_string()
                .contains(&format!("{name}: checksum mismatch")),
            "{e}"
        );
        let manifest = dirsnap_plan::read_plan_manifest(&out).unwrap();
        let e = dirsnap_plan::verify_files(&out, &manifest).unwrap_err();
        assert!(e.to_string().contains(name), "{e}");
    }

    // A listed file removed.
    let (_tmp, out) = fresh();
    std::fs::remove_file(out.join("count.txt")).unwrap();
    let e = load_plan(&out).unwrap_err();
    assert!(matches!(e, PlanDirError::MissingFile { .. }), "{e}");
    assert!(e.to_string().contains("count.txt: missing"), "{e}");

    // A manifest that stops listing plan.json (so that an edit goes unnoticed), or lists a
    // path outside the directory, is not a plan dirsnap wrote.
    for edit in [
        |m: &mut serde_json::Value| {
            m["files"].as_object_mut().unwrap().remove("plan.json");
        },
        |m: &mut serde_json::Value| {
            m["files"]["../x"] = serde_json::json!({"sha256": "00"});
        },
    ] {
        let (_tmp, out) = fresh();
        let path = out.join("manifest.json");
        let mut m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut m);
        std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
        let e = load_plan(&out).unwrap_err();
        assert!(matches!(e, PlanDirError::NotAPlan { .. }), "{e}");
    }
}
