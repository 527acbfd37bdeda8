#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `dirsnap` binary on the demo fixtures: output, JSON shape and exit codes. Expected
//! numbers come from fixtures/demo/source.yml, not from the program's output.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/demo")
        .join(name)
}

fn dirsnap() -> Command {
    Command::cargo_bin("dirsnap").unwrap()
}

fn json_of(args: &[&std::ffi::OsStr]) -> Value {
    let out = dirsnap().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn inspect_json_has_the_spec_fields() {
    let snap = demo("ad");
    let v = json_of(&["inspect".as_ref(), snap.as_os_str(), "--json".as_ref()]);
    assert_eq!(v["kind"], "ad");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["source"]["base_dn"], "DC=example,DC=co,DC=jp");
    assert_eq!(v["taken_at"], "2026-11-27T01:00:00Z");
    // source.yml: 30 users, one of them removed from AD since (yui.yamaguchi) → 29; 6 groups.
    assert_eq!(v["counts"]["users"], 29);
    assert_eq!(v["counts"]["groups"], 6);
    assert_eq!(v["verified"], true);
    assert!(v["schema"]["users.parquet"].as_array().unwrap().len() > 20);
    assert_eq!(v["sample"]["users"].as_array().unwrap().len(), 3);
}

#[test]
fn inspect_text_shows_kind_source_and_counts() {
    dirsnap()
        .arg("inspect")
        .arg(demo("iid"))
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "kind        iid (schema_version 1)",
        ))
        .stdout(predicates::str::contains(
            "https://scim.auth.iij.jp/scim/v2/",
        ))
        .stdout(predicates::str::contains("users 28, groups 5"));
}

#[test]
fn diff_ad_reports_changes_by_object_guid() {
    let v = json_of(&[
        "diff".as_ref(),
        demo("ad-previous").as_os_str(),
        demo("ad").as_os_str(),
        "--json".as_ref(),
    ]);
    // Added: koharu.abe and tsumugi.ogawa (new), sota.kimura (recreated: new objectGUID).
    // Removed: yui.yamaguchi, and sota.kimura's old object. Changed: sakura.kato (moved),
    // kenji.tanaka (newly disabled). A move is a change, never remove + add.
    assert_eq!(v["users"]["added"], 3);
    assert_eq!(v["users"]["removed"], 2);
    assert_eq!(v["users"]["changed"], 2);
    assert_eq!(v["groups"]["added"], 1);
    assert_eq!(v["groups"]["removed"], 0);
    let changed = v["users"]["details"]["changed"].as_array().unwrap();
    let moved = changed
        .iter()
        .find(|c| c["label"] == "sakura.kato@example.co.jp")
        .unwrap();
    let dn = moved["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["attribute"] == "distinguishedName")
        .unwrap();
    assert!(dn["old"].as_str().unwrap().contains("OU=Tokyo"));
    assert!(dn["new"].as_str().unwrap().contains("OU=Osaka"));
    // Memberships: +tsumugi (営業部), +koharu and +new sota (開発部), +4 of the new VPN group;
    // −yui (総務部), −akari and −old sota (開発部).
    assert_eq!(v["memberships"]["added"], 7);
    assert_eq!(v["memberships"]["removed"], 3);
}

#[test]
fn diff_iid_shows_console_edits() {
    let v = json_of(&[
        "diff".as_ref(),
        demo("iid-previous").as_os_str(),
        demo("iid").as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(v["users"]["changed"], 2);
    assert_eq!(v["users"]["added"], 0);
    let labels: Vec<&str> = v["users"]["details"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"yuki.takahashi@example.co.jp"));
    assert!(labels.contains(&"hina.yamazaki@example.co.jp"));
}

#[test]
fn diff_of_different_kinds_is_exit_2() {
    dirsnap()
        .arg("diff")
        .arg(demo("ad"))
        .arg(demo("iid"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("different kinds"))
        .stderr(predicates::str::contains("is an AD snapshot"))
        .stderr(predicates::str::contains("is an IIJ ID snapshot"));
}

#[test]
fn diff_of_a_snapshot_with_itself_is_empty() {
    dirsnap()
        .arg("diff")
        .arg(demo("ad"))
        .arg(demo("ad"))
        .assert()
        .success()
        .stdout(predicates::str::contains("no differences"));
}

#[test]
fn corrupt_data_file_is_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("ad");
    copy_dir(&demo("ad"), &snap);
    let file = snap.join("groups.parquet");
    let mut bytes = std::fs::read(&file).unwrap();
    let i = bytes.len() / 3;
    bytes[i] = bytes[i].wrapping_add(1);
    std::fs::write(&file, bytes).unwrap();
    dirsnap()
        .arg("inspect")
        .arg(&snap)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "groups.parquet: checksum mismatch",
        ));
}

#[test]
fn unknown_schema_version_is_exit_2_naming_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("ad");
    copy_dir(&demo("ad"), &snap);
    let m = snap.join("manifest.json");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(
        &m,
        text.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1),
    )
    .unwrap();
    dirsnap()
        .arg("diff")
        .arg(&snap)
        .arg(demo("ad"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "manifest.json: schema_version 2 is not supported",
        ));
}

#[test]
fn missing_manifest_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("ad");
    copy_dir(&demo("ad"), &snap);
    std::fs::remove_file(snap.join("manifest.json")).unwrap();
    dirsnap()
        .arg("inspect")
        .arg(&snap)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no manifest.json"));
}

#[test]
fn inspect_refuses_a_plan_whose_manifest_lists_no_files() {
    // Nothing could be verified: inspect says so instead of describing it as checked.
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan");
    std::fs::create_dir(&plan).unwrap();
    std::fs::write(
        plan.join("manifest.json"),
        r#"{"schema_version": 1, "kind": "plan", "created_at": "2026-11-27T02:00:00Z",
            "counts": {"actions": 4, "findings": 1},
            "inputs": [{"kind": "ad", "path": "ad", "digest": "sha256:00"}]}"#,
    )
    .unwrap();
    dirsnap()
        .arg("inspect")
        .arg(&plan)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("lists no files"));
}

#[test]
fn usage_error_is_exit_2() {
    dirsnap().arg("inspect").assert().code(2);
    dirsnap().arg("no-such-command").assert().code(2);
}

/// Every command that writes names `--out` (or `--dump-on-exit`) when it cannot: the path as
/// given and the directory at fault, exit 2, and never the hidden staging directory.
#[test]
fn an_output_that_cannot_be_created_is_named_by_its_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("out");
    let sources = |cmd: &str| -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec![cmd.into(), "--config".into()];
        v.push(demo("config.yml").into());
        v.extend([
            "--ad".into(),
            demo("ad").into(),
            "--iid".into(),
            demo("iid").into(),
        ]);
        v
    };
    let csv =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/m365/csv/export-users.csv");
    let mut cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (sources("reconcile"), "--out"),
        (sources("audit"), "--out"),
        (sources("simulate"), "--out"),
        (
            vec![
                "export".into(),
                "m365".into(),
                "--from-csv".into(),
                csv.into(),
            ],
            "--out",
        ),
        (
            vec![
                "export".into(),
                "iid".into(),
                "--config".into(),
                demo("config.yml").into(),
                "--base-url".into(),
                "http://127.0.0.1:9/".into(),
            ],
            "--out",
        ),
    ];
    for (args, _) in &mut cases {
        args.push("--out".into());
        args.push(bad.clone().into());
    }
    cases.push((
        vec![
            "mock-scim".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--dump-on-exit".into(),
            bad.clone().into(),
        ],
        "--dump-on-exit",
    ));
    for (args, flag) in cases {
        let out = dirsnap()
            .args(&args)
            .env("DIRSNAP_IID_TOKEN", "t")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let want = format!(
            "error: {flag} {}: cannot create it: {} is not a writable directory",
            bad.display(),
            file.display()
        );
        assert!(err.contains(&want), "{args:?}: {err}");
        assert!(!err.contains(".tmp-"), "{err}");
    }
    // An existing output is named by its flag too.
    let out = dirsnap()
        .args(sources("reconcile"))
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("--out {}: already exists", dir.path().display())),
        "{err}"
    );
}

/// A directory this user cannot write to (skipped as root, who can write anywhere).
#[cfg(unix)]
#[test]
fn an_unwritable_parent_is_exit_2_naming_out() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    if std::fs::create_dir(locked.join("probe")).is_ok() {
        return;
    }
    let target = locked.join("sub/plan");
    let out = dirsnap()
        .args(["reconcile", "--config"])
        .arg(demo("config.yml"))
        .arg("--ad")
        .arg(demo("ad"))
        .arg("--iid")
        .arg(demo("iid"))
        .arg("--out")
        .arg(&target)
        .output()
        .unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("--out {}: cannot create it:", target.display())),
        "{err}"
    );
}

/// The subcommands listed under "Commands:" in a help text.
fn commands_in(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A wrapped description continues further in.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// Every command's help (-h and --help), found by walking "Commands:" from the top, ends
/// with examples and the exit codes.
#[test]
fn every_help_ends_with_examples_and_exit_codes() {
    let help = |path: &[String], flag: &str| -> String {
        let out = dirsnap().args(path).arg(flag).output().unwrap();
        assert!(out.status.success(), "{path:?} {flag}");
        String::from_utf8(out.stdout).unwrap()
    };
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        for flag in ["-h", "--help"] {
            let text = help(&path, flag);
            let examples = text
                .find("\nExamples:\n")
                .unwrap_or_else(|| panic!("{path:?} {flag}: no examples\n{text}"));
            let codes = text
                .find("\nExit codes:\n")
                .unwrap_or_else(|| panic!("{path:?} {flag}: no exit codes\n{text}"));
            assert!(examples < codes, "{path:?}");
            let shown = text[examples..codes]
                .lines()
                .filter(|l| l.trim_start().starts_with("dirsnap ") || l.contains(" dirsnap "))
                .count();
            assert!(
                (2..=3).contains(&shown),
                "{path:?} {flag}: {shown} examples\n{text}"
            );
            // The exit codes are the end (the top level adds where to read on).
            let tail = &text[codes + 1..];
            assert!(tail.contains("  0  "), "{path:?}: {tail}");
            if !path.is_empty() {
                assert!(
                    tail.lines()
                        .skip(1)
                        .all(|l| l.starts_with("  ") || l.is_empty()),
                    "{path:?} {flag}: something after the exit codes\n{tail}"
                );
            }
        }
        for c in commands_in(&help(&path, "--help")) {
            let mut sub = path.clone();
            sub.push(c);
            todo.push(sub);
        }
        seen += 1;
    }
    // dirsnap, its 10 commands, export's 3 and plan's 1.
    assert_eq!(seen, 1 + 10 + 3 + 1);
}
