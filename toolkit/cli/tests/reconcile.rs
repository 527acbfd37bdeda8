#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dirsnap reconcile` and `dirsnap plan show` as a user runs them: the plan directory, exit
//! codes, determinism, an independent Parquet reader, and secrets kept out. Expected values
//! come from fixtures/demo/source.yml's story.

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

fn reconcile(out: &Path, extra: &[&str]) -> std::process::Output {
    dirsnap()
        .arg("--quiet")
        .arg("reconcile")
        .arg("--config")
        .arg(demo("config.yml"))
        .arg("--ad")
        .arg(demo("ad"))
        .arg("--iid")
        .arg(demo("iid"))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn plan_json(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap()
}

fn ops(plan: &Value, op: &str) -> Vec<String> {
    let mut v: Vec<String> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["op"] == op)
        .map(|a| {
            a["userName"]
                .as_str()
                .or(a["displayName"].as_str())
                .unwrap()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

fn codes(plan: &Value) -> Vec<String> {
    let mut v: Vec<String> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn demo_plan_directory_and_exit_3() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    let r = reconcile(&out, &[]);
    // sota.kimura was recreated: RECREATED_PENDING_DELETION is an error → exit 3, plan kept.
    assert_eq!(
        r.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(String::from_utf8_lossy(&r.stderr).contains("blocking"));
    for f in [
        "manifest.json",
        "plan.json",
        "actions.parquet",
        "findings.parquet",
        "report.md",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["kind"], "plan");
    assert_eq!(m["schema_version"], 1);
    assert_eq!(m["mode"], "recovery");
    assert_eq!(m["instance"], "example-main");
    assert!(m["created_at"].as_str().unwrap().ends_with('Z'));
    let roles: Vec<&str> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["ad", "iid", "config"]);
    for i in m["inputs"].as_array().unwrap() {
        assert!(i["digest"].as_str().unwrap().starts_with("sha256:"));
    }
    let p = plan_json(&out);
    assert_eq!(
        ops(&p, "create_user"),
        ["koharu.abe@example.co.jp", "tsumugi.ogawa@example.co.jp"]
    );
    assert_eq!(ops(&p, "disable_user"), ["kenji.tanaka@example.co.jp"]);
    assert_eq!(
        ops(&p, "pending_delete_user"),
        ["sota.kimura@example.co.jp", "yui.yamaguchi@example.co.jp"]
    );
    assert_eq!(ops(&p, "create_group"), ["VPN利用者"]);
    assert!(codes(&p).contains(&"NO_NOTIFICATION_EMAIL".to_string()));
    assert!(codes(&p).contains(&"RECREATED_PENDING_DELETION".to_string()));
    assert_eq!(
        m["counts"]["actions"].as_u64().unwrap(),
        p["actions"].as_array().unwrap().len() as u64
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("koharu.abe@example.co.jp") && html.contains("RECREATED_PENDING_DELETION")
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with("# dirsnap plan"));
    // A plan is immutable: the same --out is refused (exit 2).
    let again = reconcile(&out, &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn same_inputs_give_byte_identical_plan_json() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    reconcile(&a, &[]);
    reconcile(&b, &[]);
    let (x, y) = (
        std::fs::read(a.join("plan.json")).unwrap(),
        std::fs::read(b.join("plan.json")).unwrap(),
    );
    assert!(!x.is_empty());
    assert_eq!(x, y);
    assert_eq!(
        std::fs::read(a.join("report.html")).unwrap(),
        std::fs::read(b.join("report.html")).unwrap()
    );
}

#[test]
fn normal_mode_reports_console_drift() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    let r = reconcile(
        &out,
        &[
            "--mode",
            "normal",
            "--previous-iid",
            demo("iid-previous").to_str().unwrap(),
            "--previous-ad",
            demo("ad-previous").to_str().unwrap(),
        ],
    );
    assert_eq!(r.status.code(), Some(3));
    let p = plan_json(&out);
    assert_eq!(p["mode"], "normal");
    let drift: Vec<&str> = p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "CONSOLE_DRIFT")
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        drift,
        [
            "user hina.yamazaki@example.co.jp",
            "user yuki.takahashi@example.co.jp"
        ]
    );
    assert!(codes(&p).contains(&"DN_CHANGED".to_string()));
    assert!(ops(&p, "update_user").is_empty());
}

#[test]
fn plan_show_renders_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    reconcile(&out, &[]);
    for (format, needle) in [
        ("text", "Users to create (2)"),
        ("markdown", "## Findings"),
        ("html", "<!DOCTYPE html>"),
        ("json", "\"schema_version\": 1"),
    ] {
        let o = dirsnap()
            .args(["plan", "show"])
            .arg(&out)
            .args(["--format", format])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains(needle), "{format} lacks {needle:?}");
    }
    let json = dirsnap()
        .args(["plan", "show"])
        .arg(&out)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json.stdout, std::fs::read(out.join("plan.json")).unwrap());
    // Unknown format, a snapshot instead of a plan, a tampered plan: exit 2.
    dirsnap()
        .args(["plan", "show"])
        .arg(&out)
        .args(["--format", "pdf"])
        .assert()
        .code(2);
    dirsnap()
        .args(["plan", "show"])
        .arg(demo("ad"))
        .assert()
        .code(2);
    let mut p = std::fs::read_to_string(out.join("plan.json")).unwrap();
    p = p.replacen("koharu", "KOHARU", 1);
    std::fs::write(out.join("plan.json"), p).unwrap();
    let o = dirsnap().args(["plan", "show"]).arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("checksum mismatch"));
}

#[test]
fn invalid_input_is_exit_2_and_names_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--mode".into(), "sideways".into()], "--mode"),
        (vec!["--mode".into(), "normal".into()], "--previous-iid"),
        (
            vec!["--allow-threshold".into(), "everything".into()],
            "--allow-threshold",
        ),
        (vec!["--as-of".into(), "yesterday".into()], "--as-of"),
        (
            vec!["--m365".into(), demo("iid").display().to_string()],
            "--m365 expects a Microsoft 365 snapshot, but this is an IIJ ID snapshot",
        ),
    ];
    for (i, (extra, needle)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("p{i}"));
        let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
        let r = reconcile(&out, &refs);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert!(!out.exists(), "no plan is written on invalid input");
    }
    // --iid pointing at an AD snapshot.
    let r = dirsnap()
        .args(["reconcile", "--config"])
        .arg(demo("config.yml"))
        .arg("--ad")
        .arg(demo("ad"))
        .arg("--iid")
        .arg(demo("ad"))
        .arg("--out")
        .arg(tmp.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("--iid expects an IIJ ID snapshot, but this is an AD snapshot"),
        "{err}"
    );
    // A config with a bad profile value names the file and the key.
    let cfg = tmp.path().join("config.yml");
    let text = std::fs::read_to_string(demo("config.yml")).unwrap()
        + "  profile:\n    anchor_encoding: rot13\n";
    std::fs::write(&cfg, text).unwrap();
    let r = dirsnap()
        .args(["reconcile", "--config"])
        .arg(&cfg)
        .arg("--ad")
        .arg(demo("ad"))
        .arg("--iid")
        .arg(demo("iid"))
        .arg("--out")
        .arg(tmp.path().join("y"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("config.yml") && err.contains("dirsnap.profile.anchor_encoding"),
        "{err}"
    );
}

#[test]
fn expired_token_is_reported_and_never_printed() {
    let tmp = tempfile::tempdir().unwrap();
    // {"alg":"none"}.{"sub":"dirsync","exp":1795000000} — 2026-11-18, before the demo's as_of.
    let token =
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkaXJzeW5jIiwiZXhwIjoxNzk1MDAwMDAwfQ.c2VjcmV0LXNpZ25hdHVyZQ";
    let secret = tmp.path().join("secret.yml");
    std::fs::write(
        &secret,
        format!("iid:\n  scim:\n    access_token: {token}\n"),
    )
    .unwrap();
    let out = tmp.path().join("plan");
    let r = reconcile(&out, &["--secret", secret.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(3));
    let p = plan_json(&out);
    let f = p["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "TOKEN_EXPIRING")
        .expect("TOKEN_EXPIRING");
    assert_eq!(f["severity"], "error");
    for name in ["plan.json", "report.md", "report.html", "manifest.json"] {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        assert!(
            !text.contains(token) && !text.contains("c2VjcmV0"),
            "{name} leaks the token"
        );
    }
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(!all.contains(token));
}

#[test]
fn parquet_files_read_back_with_pyarrow() {
    let python = std::env::var("DIRSNAP_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"));
    if !python.exists() {
        eprintln!("skipping: no Python venv with pyarrow (scripts/test creates it)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    reconcile(&out, &[]);
    let p = plan_json(&out);
    let script = r#"
import json, sys, pyarrow.parquet as pq
d = sys.argv[1]
a = pq.read_table(f"{d}/actions.parquet")
f = pq.read_table(f"{d}/findings.parquet")
print(json.dumps({"actions": a.num_rows, "findings": f.num_rows,
  "ops": a.column("op").to_pylist(), "seq": a.column("seq").to_pylist(),
  "deps": a.column("depends_on").to_pylist(), "codes": f.column("code").to_pylist(),
  "schema": [x.name for x in a.schema]}))
"#;
    let o = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let actions = p["actions"].as_array().unwrap();
    assert_eq!(v["actions"].as_u64().unwrap(), actions.len() as u64);
    assert_eq!(
        v["findings"].as_u64().unwrap(),
        p["findings"].as_array().unwrap().len() as u64
    );
    let ops: Vec<&str> = actions.iter().map(|a| a["op"].as_str().unwrap()).collect();
    let py_ops: Vec<&str> = v["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(ops, py_ops);
    let deps: Vec<Value> = actions.iter().map(|a| a["depends_on"].clone()).collect();
    assert_eq!(Value::Array(deps), v["deps"]);
    for col in [
        "seq",
        "op",
        "resource",
        "target",
        "keys",
        "operations",
        "depends_on",
        "state_digest",
    ] {
        assert!(
            v["schema"].as_array().unwrap().iter().any(|c| c == col),
            "{col}"
        );
    }
}

#[test]
fn second_instance_uses_the_config_recorded_in_its_snapshot() {
    // A copy of the demo AD snapshot presented as another instance (its manifest records its
    // own config and instance name): every user and group now exists twice, so every user is
    // a DUPLICATE_KEY and every group a GROUP_NAME_COLLISION, and none of them is touched.
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("ad-osaka");
    std::fs::create_dir_all(&other).unwrap();
    for e in std::fs::read_dir(demo("ad")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), other.join(e.file_name())).unwrap();
    }
    let mpath = other.join("manifest.json");
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&mpath).unwrap()).unwrap();
    m["source"]["instance"] = "example-osaka".into();
    m["config"]["dirsnap"]["instance"] = "example-osaka".into();
    std::fs::write(&mpath, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let out = tmp.path().join("plan");
    let r = reconcile(&out, &["--ad", other.to_str().unwrap()]);
    assert_eq!(
        r.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let p = plan_json(&out);
    let names: Vec<&str> = p["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["example-main", "example-osaka"]);
    assert!(
        p["instances"][1]["config_source"]
            .as_str()
            .unwrap()
            .ends_with("manifest.json")
    );
    // Only yui (deleted from AD, no AD object left to collide) is still acted on.
    assert_eq!(
        ops(&p, "pending_delete_user"),
        ["yui.yamaguchi@example.co.jp"]
    );
    assert_eq!(
        p["actions"].as_array().unwrap().len(),
        1,
        "{}",
        p["actions"]
    );
    let c = codes(&p);
    assert!(c.iter().any(|x| x == "DUPLICATE_KEY"));
    // 6 demo groups, each now twice.
    assert_eq!(c.iter().filter(|x| *x == "GROUP_NAME_COLLISION").count(), 6);
    // Without a recorded config the second snapshot is refused, naming it.
    m.as_object_mut().unwrap().remove("config");
    std::fs::write(&mpath, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let r = reconcile(
        &tmp.path().join("plan2"),
        &["--ad", other.to_str().unwrap()],
    );
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("ad-osaka") && err.contains("records no config"),
        "{err}"
    );
}

/// `inspect`, `plan show` and `replay` verify every file the plan's manifest lists — the
/// reports people approve included — and name the one that differs (exit 2); `inspect`
/// shows the verdict.
#[test]
fn inspect_plan_show_and_replay_verify_every_file_of_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("plan");
    assert_eq!(reconcile(&out, &[]).status.code(), Some(3));

    let shown = dirsnap().arg("inspect").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{text}");
    // The demo's recreated user (sota.kimura) blocks the plan; inspect counts the error
    // findings plan.json holds.
    let errors = plan_json(&out)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .count();
    assert!(errors >= 1);
    assert!(
        text.contains(&format!(
            "verdict     BLOCKED by {errors} error finding(s): "
        )),
        "{text}"
    );
    assert!(text.contains("RECREATED_PENDING_DELETION ×1"), "{text}");
    for name in [
        "plan.json",
        "actions.parquet",
        "findings.parquet",
        "report.md",
        "report.html",
    ] {
        assert!(text.contains(&format!("  {name}")), "{name}: {text}");
    }
    let shown = dirsnap()
        .args(["inspect", "--json"])
        .arg(&out)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["verdict"]["blocked"], true);
    assert_eq!(v["verdict"]["blocking_findings"], errors);
    assert_eq!(
        v["verdict"]["blocking_by_code"]["RECREATED_PENDING_DELETION"],
        1
    );

    let pristine = tmp.path().join("pristine");
    copy_tree(&out, &pristine);
    for (name, edit) in [
        (
            "report.html",
            Box::new(|b: &mut Vec<u8>| b.extend_from_slice(b"<!-- approved -->"))
                as Box<dyn Fn(&mut Vec<u8>)>,
        ),
        ("report.md", Box::new(|b: &mut Vec<u8>| b.push(b'\n'))),
        (
            "actions.parquet",
            Box::new(|b: &mut Vec<u8>| {
                let i = b.len() / 2;
                b[i] ^= 0x20;
            }),
        ),
        (
            "plan.json",
            Box::new(|b: &mut Vec<u8>| {
                let t = String::from_utf8(b.clone()).unwrap();
                *b = t.replacen("create_user", "delete_group", 1).into_bytes();
            }),
        ),
    ] {
        let dir = tmp.path().join(format!("tampered-{name}"));
        copy_tree(&pristine, &dir);
        let mut bytes = std::fs::read(dir.join(name)).unwrap();
        edit(&mut bytes);
        std::fs::write(dir.join(name), bytes).unwrap();
        let want = format!("{name}: checksum mismatch");
        for args in [
            vec!["inspect".to_string()],
            vec!["plan".into(), "show".into()],
            vec![
                "replay".into(),
                "--dry-run".into(),
                "--base-url".into(),
                "http://127.0.0.1:9/scim/v2/".into(),
                "--config".into(),
                demo("config.yml").display().to_string(),
            ],
        ] {
            let r = dirsnap()
                .args(&args)
                .arg(&dir)
                .env("DIRSNAP_IID_TOKEN", "t")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&r.stderr);
            assert_eq!(r.status.code(), Some(2), "{args:?} {name}: {stderr}");
            assert!(stderr.contains(&want), "{args:?} {name}: {stderr}");
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// The blocking hint names what lifts each kind of blocker: `--allow-threshold CATEGORY` only
/// for exceeded thresholds, never for error findings it cannot lift.
#[test]
fn the_blocking_hint_fits_the_blockers() {
    let tmp = tempfile::tempdir().unwrap();
    // The demo: error findings only (the recreated user).
    let r = reconcile(&tmp.path().join("findings"), &[]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(3), "{err}");
    assert!(err.contains("RECREATED_PENDING_DELETION ×1"), "{err}");
    assert!(err.contains("--allow-blocked"), "{err}");
    assert!(!err.contains("--allow-threshold"), "{err}");

    // The same with a pending-deletion threshold of 1 (the demo puts 2 users into pending
    // deletion): both blockers, each with its own way out.
    let cfg = tmp.path().join("config.yml");
    let text = std::fs::read_to_string(demo("config.yml"))
        .unwrap()
        .replace("pending_deletions: 50", "pending_deletions: 1");
    std::fs::write(&cfg, text).unwrap();
    let run = |out: &str, extra: &[&str]| {
        dirsnap()
            .args(["--quiet", "reconcile", "--config"])
            .arg(&cfg)
            .arg("--ad")
            .arg(demo("ad"))
            .arg("--iid")
            .arg(demo("iid"))
            .arg("--out")
            .arg(tmp.path().join(out))
            .args(extra)
            .output()
            .unwrap()
    };
    let r = run("both", &[]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(3), "{err}");
    assert!(
        err.contains("1 exceeded threshold(s) (pending_deletions)"),
        "{err}"
    );
    assert!(err.contains("--allow-threshold pending_deletions"), "{err}");
    assert!(err.contains("RECREATED_PENDING_DELETION"), "{err}");
    // Once the threshold is allowed, only the findings are left, and so is the hint.
    let r = run("allowed", &["--allow-threshold", "pending_deletions"]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(3), "{err}");
    assert!(!err.contains("--allow-threshold"), "{err}");
}
