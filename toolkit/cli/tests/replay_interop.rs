#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dirsnap replay` against an independent SCIM server: scim2-server (PyPI) serving the IIJ ID
//! extension schemas, seeded with the demo IID snapshot through its own HTTP API. The plan
//! is computed from `dirsnap export iid` of that server, replayed onto it, and the server's
//! state is then listed with plain GETs and compared with the outcome expected from
//! plan.json (scripts/py/replay_interop.py: RFC 7644 PATCH semantics, written independently
//! of dirsnap's Rust code).
//!
//! Deviations of scim2-server from IIJ ID that the comparison allows for (docs/replay.md,
//! "Interop"): DELETE is a hard delete (IIJ ID: pending deletion), and empty multi-valued
//! attributes and empty extension objects are dropped rather than returned as `[]` / `{}`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &str = "replay-interop-7c2a";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dirsnap")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(p: &str) -> PathBuf {
    root().join("fixtures/demo").join(p)
}

mod support;
use support::{Scim2Server, python};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs scripts/py/replay_interop.py; returns its output.
fn helper(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(python())
        .arg(root().join("scripts/py/replay_interop.py"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_plan_replayed_onto_scim2_server_leaves_the_expected_state() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p);
    ok(
        helper(&[
            "schemas".as_ref(),
            root()
                .join("toolkit/mock-scim/src/discovery/schemas.json")
                .as_os_str(),
            t("schemas.json").as_os_str(),
            t("resource-types.json").as_os_str(),
        ]),
        "schemas",
    );
    let schemas = t("schemas.json");
    let types = t("resource-types.json");
    let server = Scim2Server::start(
        TOKEN,
        &[
            "--schema".as_ref(),
            schemas.as_os_str(),
            "--resource-type".as_ref(),
            types.as_os_str(),
        ],
    );
    let base = server.url.clone();
    // The demo tenant, POSTed through scim2-server's API (it assigns its own ids).
    let seeded = ok(
        helper(&[
            "seed".as_ref(),
            base.as_ref(),
            TOKEN.as_ref(),
            fixture("iid").as_os_str(),
        ]),
        "seed",
    );
    assert_eq!(seeded.trim(), "33", "28 users and 5 groups seeded");

    let dirsnap = |args: &[&std::ffi::OsStr]| {
        Command::new(bin())
            .args(args)
            .env("DIRSNAP_IID_TOKEN", TOKEN)
            .output()
            .unwrap()
    };
    let config = fixture("config.yml");
    let o = dirsnap(&[
        "export".as_ref(),
        "iid".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--base-url".as_ref(),
        base.as_ref(),
        "--out".as_ref(),
        t("snap").as_os_str(),
        "-q".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = t("plan");
    let o = dirsnap(&[
        "reconcile".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--ad".as_ref(),
        fixture("ad").as_os_str(),
        "--iid".as_ref(),
        t("snap").as_os_str(),
        "--out".as_ref(),
        plan.as_os_str(),
        "-q".as_ref(),
    ]);
    // The demo's blocking findings concern objects the plan leaves alone (exit 3).
    let p = support::written_plan(&o, &plan);
    let ops: std::collections::BTreeSet<&str> = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["op"].as_str().unwrap())
        .collect();
    // Every kind of write the replayer sends is exercised.
    for op in [
        "create_user",
        "update_user",
        "create_group",
        "add_members",
        "remove_members",
        "disable_user",
        "pending_delete_user",
    ] {
        assert!(ops.contains(op), "the plan has no {op}: {ops:?}");
    }

    ok(
        helper(&[
            "list".as_ref(),
            base.as_ref(),
            TOKEN.as_ref(),
            t("before.json").as_os_str(),
        ]),
        "list before",
    );
    let o = dirsnap(&[
        "replay".as_ref(),
        plan.as_os_str(),
        "--config".as_ref(),
        config.as_os_str(),
        "--base-url".as_ref(),
        base.as_ref(),
        "--allow-blocked".as_ref(),
        "--concurrency".as_ref(),
        "4".as_ref(),
        "--verify".as_ref(),
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("verify: converged"), "{err}");
    ok(
        helper(&[
            "list".as_ref(),
            base.as_ref(),
            TOKEN.as_ref(),
            t("after.json").as_os_str(),
        ]),
        "list after",
    );
    let report = ok(
        helper(&[
            "expect".as_ref(),
            t("before.json").as_os_str(),
            plan.as_os_str(),
            t("after.json").as_os_str(),
        ]),
        "the state scim2-server lists differs from what the plan should have produced",
    );
    assert!(report.contains("0 difference(s)"), "{report}");
    // The checker sees differences when there are some: the state before the replay is not
    // what the plan produces.
    let o = helper(&[
        "expect".as_ref(),
        t("before.json").as_os_str(),
        plan.as_os_str(),
        t("before.json").as_os_str(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
