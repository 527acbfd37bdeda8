#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `dirsnap replay` end to end: the real binary against `dirsnap mock-scim` processes seeded
//! from the demo IID snapshot; the outcome is judged by reconciling the dumped state again.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dirsnap")
}

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/demo")
        .join(p)
}

struct Mock {
    child: Option<Child>,
    url: String,
    dump: PathBuf,
}

impl Mock {
    fn start(seed: &Path, tokens: &[&str], faults: &[&str], dump: &Path) -> Mock {
        let mut cmd = Command::new(bin());
        cmd.args(["mock-scim", "--listen", "127.0.0.1:0", "-q", "--seed"])
            .arg(seed)
            .arg("--dump-on-exit")
            .arg(dump)
            .env_remove("DIRSNAP_MOCK_TOKEN");
        for t in tokens {
            cmd.args(["--token", t]);
        }
        for f in faults {
            cmd.args(["--fault", f]);
        }
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("http://"), "mock printed {line:?}");
        Mock {
            child: Some(child),
            url: line.trim().to_string(),
            dump: dump.to_path_buf(),
        }
    }

    /// SIGTERM: the mock writes its state as an IID snapshot and exits.
    fn stop(mut self) -> PathBuf {
        let mut child = self.child.take().unwrap();
        let st = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        assert!(child.wait().unwrap().success());
        self.dump.clone()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Reconciles the demo AD against `iid`; returns the plan dir and its action count.
fn reconcile(iid: &Path, out: &Path) -> usize {
    let o = Command::new(bin())
        .arg("reconcile")
        .arg("--config")
        .arg(fixture("config.yml"))
        .arg("--ad")
        .arg(fixture("ad"))
        .arg("--iid")
        .arg(iid)
        .arg("--out")
        .arg(out)
        .arg("-q")
        .output()
        .unwrap();
    // The demo has blocking findings about objects left alone (exit 3); the plan is written.
    support::written_plan(&o, out)["actions"]
        .as_array()
        .unwrap()
        .len()
}

fn replay(plan: &Path, url: &str, token: &str, extra: &[&str]) -> Output {
    Command::new(bin())
        .arg("replay")
        .arg(plan)
        .arg("--config")
        .arg(fixture("config.yml"))
        .args(["--base-url", url, "--allow-blocked"])
        .args(extra)
        .env("DIRSNAP_IID_TOKEN", token)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn journal_events(plan: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(plan.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Seqs with an `applied` or `already_done` record, each counted once per record.
fn done_counts(plan: &Path) -> std::collections::BTreeMap<u64, usize> {
    let mut m = std::collections::BTreeMap::new();
    for r in journal_events(plan) {
        if r["event"] == "applied" || r["event"] == "already_done" {
            *m.entry(r["seq"].as_u64().unwrap()).or_insert(0) += 1;
        }
    }
    m
}

fn counts_of_post(plan: &Path) -> usize {
    journal_events(plan)
        .iter()
        .filter(|r| r["event"] == "applied" && r["op"].as_str().unwrap().starts_with("create_"))
        .count()
}

#[test]
fn demo_plan_converges_and_a_second_run_sends_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    let n = reconcile(&fixture("iid"), &plan);
    assert!(n > 0);
    let mock = Mock::start(&fixture("iid"), &["T1"], &[], &tmp.path().join("after"));
    let o = replay(&plan, &mock.url, "T1", &["--concurrency", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("total"),
        "summary expected: {}",
        stderr(&o)
    );
    let done = done_counts(&plan);
    assert_eq!(done.len(), n, "every action is applied once");
    assert!(done.values().all(|c| *c == 1));
    // Again, with --json: the journal says everything is done, so nothing is sent; the
    // outcome is one JSON document on stdout, the summary for people stays on stderr.
    let o = replay(&plan, &mock.url, "T1", &["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(done_counts(&plan), done);
    assert!(stderr(&o).contains("total"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "done");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["counts"]["previously_done"], n);
    assert_eq!(v["counts"]["applied"], 0);
    assert_eq!(v["stop"], serde_json::Value::Null);
    assert_eq!(v["resume_command"], serde_json::Value::Null);
    assert!(v["journal"].as_str().unwrap().ends_with("journal.jsonl"));
    assert!(v["duration_seconds"].as_f64().unwrap() >= 0.0);
    let after = mock.stop();
    assert_eq!(reconcile(&after, &tmp.path().join("plan2")), 0, "converged");
}

#[test]
fn dry_run_prints_requests_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    reconcile(&fixture("iid"), &plan);
    let mock = Mock::start(&fixture("iid"), &["T1"], &[], &tmp.path().join("after"));
    let o = replay(&plan, &mock.url, "T1", &["--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("POST Users"), "{out}");
    assert!(out.contains("DELETE Users/"), "{out}");
    // The member addition of the new group names the group the create will make.
    assert!(out.contains("PATCH Groups/<id created by action"), "{out}");
    assert!(!plan.join("journal.jsonl").exists());
    // --json: the same requests, in the document.
    let o = replay(&plan, &mock.url, "T1", &["--dry-run", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "dry_run");
    let requests = v["requests"].as_array().unwrap();
    assert!(
        requests
            .iter()
            .any(|r| r["method"] == "POST" && r["path"] == "Users")
    );
    // Without --allow-blocked the demo plan is refused: its blockers are error findings,
    // which --allow-threshold cannot lift, so it is not suggested.
    let o = Command::new(bin())
        .arg("replay")
        .arg(&plan)
        .arg("--config")
        .arg(fixture("config.yml"))
        .args(["--base-url", &mock.url, "--dry-run"])
        .env("DIRSNAP_IID_TOKEN", "T1")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("resolve the 2 error finding(s)"), "{err}");
    assert!(!err.contains("--allow-threshold"), "{err}");
    let after = mock.stop();
    assert!(
        reconcile(&after, &tmp.path().join("plan2")) > 0,
        "nothing was applied"
    );
}

// Long enough that no temporary path (`/tmp/ci.YWT1`) or id can contain it by chance.
const EXPIRING_TOKEN: &str = "expiring-token-4f1c9a";
const FRESH_TOKEN: &str = "fresh-token-b27e05";

#[test]
fn token_expiry_stops_with_exit_4_and_a_new_token_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    let n = reconcile(&fixture("iid"), &plan);
    let mock = Mock::start(
        &fixture("iid"),
        &[EXPIRING_TOKEN, FRESH_TOKEN],
        &["token-expiry-after=16"],
        &tmp.path().join("after"),
    );
    let o = replay(&plan, &mock.url, EXPIRING_TOKEN, &["--concurrency", "1"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("expired"), "{err}");
    assert!(err.contains("dirsnap replay"), "resume command: {err}");
    // The advice about the token is given once, then how to resume.
    assert_eq!(
        err.to_lowercase().matches("issue a new token").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("once the token is replaced, resume with:"),
        "{err}"
    );
    assert!(err.contains("--allow-blocked"), "the same flags: {err}");
    assert!(
        !err.contains(EXPIRING_TOKEN),
        "the token never appears: {err}"
    );
    let partial = done_counts(&plan).len();
    assert!(partial > 0 && partial < n, "stopped halfway: {partial}/{n}");
    let o = replay(&plan, &mock.url, FRESH_TOKEN, &["--concurrency", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let done = done_counts(&plan);
    assert_eq!(done.len(), n);
    assert!(
        done.values().all(|c| *c == 1),
        "never applied twice: {done:?}"
    );
    let after = mock.stop();
    assert_eq!(reconcile(&after, &tmp.path().join("plan2")), 0);
}

#[test]
fn a_stale_plan_is_refused_and_force_stale_applies_it() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    reconcile(&fixture("iid"), &plan);
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan.join("plan.json")).unwrap()).unwrap();
    let victim = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["op"] == "update_user")
        .unwrap();
    let id = victim["target"].as_str().unwrap();
    let name = victim["userName"].as_str().unwrap();
    let mock = Mock::start(&fixture("iid"), &["T1"], &[], &tmp.path().join("after"));
    // Someone edits the user in the console after planning.
    let edit = Command::new("curl")
        .args(["-sf", "-X", "PATCH", "-H", "Authorization: Bearer T1"])
        .args(["-H", "Content-Type: application/scim+json", "--data"])
        .arg(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"edited in the console"}]}"#)
        .arg(format!("{}Users/{id}", mock.url))
        .output()
        .unwrap();
    assert!(edit.status.success(), "{}", stderr(&edit));
    let o = replay(&plan, &mock.url, "T1", &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("stale") && err.contains(name) && err.contains(id),
        "{err}"
    );
    assert!(
        journal_events(&plan)
            .iter()
            .all(|r| r["event"] != "attempt"),
        "nothing was sent"
    );
    let o = replay(&plan, &mock.url, "T1", &["--force-stale"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force-stale"), "{}", stderr(&o));
    let after = mock.stop();
    // Everything was applied; only the console edit of the managed title is left to revert.
    let plan2 = tmp.path().join("plan2");
    assert_eq!(reconcile(&after, &plan2), 1);
    let p2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan2.join("plan.json")).unwrap()).unwrap();
    assert_eq!(p2["actions"][0]["op"], "update_user");
    assert_eq!(p2["actions"][0]["target"], id);
}

#[test]
fn deletions_beyond_allow_deletes_stop_before_the_first_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    reconcile(&fixture("iid"), &plan);
    let mock = Mock::start(&fixture("iid"), &["T1"], &[], &tmp.path().join("after"));
    let o = replay(&plan, &mock.url, "T1", &["--allow-deletes", "1", "--json"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("more than --allow-deletes 1"), "{err}");
    // The resume command allows the two deletions the plan still has, not the limit that
    // stopped it.
    let resume = err
        .lines()
        .skip_while(|l| !l.contains("resume allowing them with:"))
        .nth(1)
        .unwrap_or_else(|| panic!("no resume command: {err}"));
    assert!(resume.trim_end().ends_with("--allow-deletes 2"), "{resume}");
    assert!(!resume.contains("--allow-deletes 1"), "{resume}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "stopped");
    assert_eq!(v["exit_code"], 4);
    assert_eq!(v["stop"]["cause"], "delete_limit");
    assert_eq!(v["stop"]["deletions"], 2);
    assert_eq!(v["resume_command"].as_str().unwrap(), resume.trim());
    assert!(
        journal_events(&plan)
            .iter()
            .all(|r| r["op"] != "pending_delete_user" && r["op"] != "delete_group"),
        "no delete was sent"
    );
    let o = replay(&plan, &mock.url, "T1", &["--allow-deletes", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = mock.stop();
    assert_eq!(reconcile(&after, &tmp.path().join("plan2")), 0);
}

#[test]
fn a_fault_storm_reaches_the_same_state_as_a_clean_run() {
    let tmp = tempfile::tempdir().unwrap();
    let plan_a = tmp.path().join("plan-a");
    let plan_b = tmp.path().join("plan-b");
    let n = reconcile(&fixture("iid"), &plan_a);
    reconcile(&fixture("iid"), &plan_b);
    let clean = Mock::start(&fixture("iid"), &["T1"], &[], &tmp.path().join("clean"));
    let o = replay(&plan_a, &clean.url, "T1", &["--concurrency", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let clean = clean.stop();
    let storm = Mock::start(
        &fixture("iid"),
        &["T1"],
        &["seed=7,429=25%:retry-after=0,5xx=15%,drop=10%"],
        &tmp.path().join("storm"),
    );
    // A dropped POST may fail this run; the same command resumes until all is applied.
    let mut runs = 0;
    loop {
        runs += 1;
        let o = replay(&plan_b, &storm.url, "T1", &["--concurrency", "1"]);
        if o.status.success() {
            break;
        }
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(runs < 10, "no convergence: {}", stderr(&o));
    }
    let done = done_counts(&plan_b);
    assert_eq!(done.len(), n);
    assert!(done.values().all(|c| *c == 1), "{done:?}");
    assert_eq!(counts_of_post(&plan_b), counts_of_post(&plan_a));
    let storm = storm.stop();
    let d = Command::new(bin())
        .arg("diff")
        .arg(&clean)
        .arg(&storm)
        .arg("--json")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap();
    for k in ["users", "groups"] {
        for c in ["added", "removed", "changed"] {
            assert_eq!(v[k][c], 0, "{k}.{c}: {v}");
        }
    }
    for c in ["added", "removed"] {
        assert_eq!(v["memberships"][c], 0, "memberships.{c}: {v}");
    }
    assert_eq!(reconcile(&storm, &tmp.path().join("plan-c")), 0);
}

fn python() -> String {
    std::env::var("DIRSNAP_TEST_PYTHON").unwrap_or_else(|_| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../.venv/bin/python")
            .display()
            .to_string()
    })
}

/// The tenant's state keyed by names, not ids (created ids depend on the order concurrent
/// creates reach the server), read with pyarrow, without meta.* (the server's clock).
fn state_by_name(snap: &Path) -> String {
    const SCRIPT: &str = r#"
import sys, json, pyarrow.parquet as pq
d = sys.argv[1]
users = pq.read_table(d + "/users.parquet").to_pylist()
groups = pq.read_table(d + "/groups.parquet").to_pylist()
mems = pq.read_table(d + "/memberships.parquet").to_pylist()
uname = {u["id"]: u["user_name"] for u in users}
gname = {g["id"]: g["display_name"] for g in groups}
keep = ["user_name", "external_id", "downstream_id", "active", "display_name", "family_name",
        "given_name", "emails", "title", "department", "pending_deletion"]
out = {
  "users": sorted(json.dumps({k: u[k] for k in keep}, sort_keys=True, default=str) for u in users),
  "groups": sorted(json.dumps([g["display_name"], g["external_id"]]) for g in groups),
  "members": sorted(json.dumps([gname.get(m["group_key"]), uname.get(m["member_key"], m["member_key"])]) for m in mems),
}
print(json.dumps(out, indent=1, ensure_ascii=False))
"#;
    let o = Command::new(python())
        .args(["-c", SCRIPT])
        .arg(snap)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn assert_same_state(a: &Path, b: &Path) {
    let (x, y) = (state_by_name(a), state_by_name(b));
    assert!(x.contains("user_name"), "{x}");
    assert_eq!(x, y);
}

/// kill -9 at 20 seeded instants, resume each time: same final state as an uninterrupted
/// run, every action applied exactly once, no create sent twice.
#[cfg(unix)]
#[test]
fn kill_9_at_20_points_then_resume_reaches_the_uninterrupted_state() {
    let tmp = tempfile::tempdir().unwrap();
    let latency = ["latency=15ms..15ms"];
    let clean_plan = tmp.path().join("clean-plan");
    let n = reconcile(&fixture("iid"), &clean_plan);
    let clean = Mock::start(
        &fixture("iid"),
        &["T1"],
        &latency,
        &tmp.path().join("clean"),
    );
    let started = std::time::Instant::now();
    let o = replay(&clean_plan, &clean.url, "T1", &["--concurrency", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Kills are spread over the first 80% of an uninterrupted run's duration: the runs below
    // can be faster than this one on a loaded machine, and a kill after the end tests nothing.
    let full_ms = (started.elapsed().as_millis() as u64 * 4 / 5).max(50);
    let clean = clean.stop();

    let mut rng: u64 = 0x5eed_2026;
    let mut interrupted = 0;
    for point in 0..20u64 {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Spread over the run, from process start-up to (nearly) the last request.
        let delay = (point * full_ms / 20) + (rng >> 33) % (full_ms / 20 + 1);
        let dir = tmp.path().join(format!("p{point}"));
        let plan = dir.join("plan");
        reconcile(&fixture("iid"), &plan);
        let mock = Mock::start(&fixture("iid"), &["T1"], &latency, &dir.join("after"));
        let mut child = Command::new(bin())
            .arg("replay")
            .arg(&plan)
            .arg("--config")
            .arg(fixture("config.yml"))
            .args([
                "--base-url",
                &mock.url,
                "--allow-blocked",
                "--concurrency",
                "2",
                "-q",
            ])
            .env("DIRSNAP_IID_TOKEN", "T1")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if !status.success() {
            interrupted += 1;
        }
        let o = replay(&plan, &mock.url, "T1", &["--concurrency", "2"]);
        assert!(
            o.status.success(),
            "point {point} ({delay} ms): {}",
            stderr(&o)
        );
        let done = done_counts(&plan);
        assert_eq!(done.len(), n, "point {point}: lost actions");
        assert!(done.values().all(|c| *c == 1), "point {point}: {done:?}");
        // An attempt is journaled before its request leaves, so a kill may leave one that
        // never reached the server; what must never happen is a re-sent create refused as a
        // duplicate (409), or a second object (the state comparison below would show it).
        assert!(
            journal_events(&plan)
                .iter()
                .all(|r| !(r["event"] == "failed" && r["status"] == 409)),
            "point {point}: a create was sent twice"
        );
        let after = mock.stop();
        assert_same_state(&clean, &after);
    }
    assert!(
        interrupted >= 15,
        "most kills must land mid-run: {interrupted}"
    );
}

/// The exact crash window: the create reached the server, the process died before the
/// outcome was journaled. The next run looks the object up instead of creating it again.
#[test]
fn a_create_whose_outcome_was_lost_is_looked_up_not_resent() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    let n = reconcile(&fixture("iid"), &plan);
    let mock = Mock::start(&fixture("iid"), &["T1"], &[], &tmp.path().join("after"));
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan.join("plan.json")).unwrap()).unwrap();
    let create = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["op"] == "create_user")
        .unwrap();
    let create_seq = create["seq"].as_u64().unwrap();
    // The replayer journaled its attempt and sent the POST; the server created the user;
    // the process died before the outcome reached the journal (mid-write: a torn line).
    let post = Command::new("curl")
        .args(["-sf", "-X", "POST", "-H", "Authorization: Bearer T1"])
        .args(["-H", "Content-Type: application/scim+json", "--data"])
        .arg(create["body"].to_string())
        .arg(format!("{}Users", mock.url))
        .output()
        .unwrap();
    assert!(post.status.success(), "{}", stderr(&post));
    std::fs::write(
        plan.join("journal.jsonl"),
        format!(
            "{{\"at\":\"2026-11-28T00:00:00Z\",\"event\":\"attempt\",\"seq\":{create_seq},\"op\":\"create_user\"}}\n{{\"at\":\"2026"
        ),
    )
    .unwrap();
    let o = replay(&plan, &mock.url, "T1", &["--concurrency", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let events = journal_events(&plan);
    let outcome = events
        .iter()
        .rev()
        .find(|r| r["seq"].as_u64() == Some(create_seq) && r["event"] != "attempt")
        .unwrap();
    assert_eq!(outcome["event"], "already_done", "{outcome}");
    assert!(outcome["id"].is_string());
    let resent = events
        .iter()
        .filter(|r| r["seq"].as_u64() == Some(create_seq) && r["event"] == "attempt")
        .count();
    assert_eq!(resent, 1, "the create was not sent again");
    assert_eq!(done_counts(&plan).len(), n);
    let after = mock.stop();
    assert_eq!(reconcile(&after, &tmp.path().join("plan2")), 0);
}

#[test]
fn max_rps_paces_the_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    let n = reconcile(&fixture("iid"), &plan);
    let mock = Mock::start(&fixture("iid"), &["T1"], &[], &tmp.path().join("after"));
    let started = std::time::Instant::now();
    let o = replay(
        &plan,
        &mock.url,
        "T1",
        &["--concurrency", "8", "--max-rps", "10"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // n actions started at most 10 per second: at least (n - 1) / 10 s.
    let min = std::time::Duration::from_millis((n as u64 - 1) * 100);
    assert!(
        started.elapsed() >= min,
        "{:?} < {min:?}",
        started.elapsed()
    );
    assert_eq!(done_counts(&plan).len(), n);
}

/// `--verify` after a clean replay: the touched objects read back, reconciled again against
/// the plan's own inputs, leave nothing pending (exit 0).
#[test]
fn verify_reports_convergence_after_a_clean_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    let n = reconcile(&fixture("iid"), &plan);
    let mock = Mock::start(&fixture("iid"), &["T1"], &[], &tmp.path().join("after"));
    let o = replay(&plan, &mock.url, "T1", &["--verify"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("verify: converged"), "{err}");
    // The plan creates 2 users and 1 group and touches 5 other users and 3 other groups.
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan.join("plan.json")).unwrap()).unwrap();
    let mut users = std::collections::BTreeSet::new();
    let mut groups = std::collections::BTreeSet::new();
    for a in p["actions"].as_array().unwrap() {
        let set = if a["resource"] == "user" {
            &mut users
        } else {
            &mut groups
        };
        match a["target"].as_str() {
            Some(t) => set.insert(t.to_string()),
            None if a["op"].as_str().unwrap().starts_with("create_") => {
                set.insert(format!("created by {}", a["seq"]))
            }
            None => false,
        };
    }
    assert!(
        err.contains(&format!(
            "re-read {} user(s) and {} group(s)",
            users.len(),
            groups.len()
        )),
        "{err}"
    );
    assert_eq!(done_counts(&plan).len(), n);
}

/// An object edited in the console after the replay: `--verify` (a run with nothing left to
/// send) names the pending action, says why, and exits 1.
#[test]
fn verify_reports_an_object_edited_after_the_replay_as_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    reconcile(&fixture("iid"), &plan);
    let mock = Mock::start(&fixture("iid"), &["T1"], &[], &tmp.path().join("after"));
    let o = replay(&plan, &mock.url, "T1", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan.join("plan.json")).unwrap()).unwrap();
    let upd = p["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["op"] == "update_user")
        .unwrap();
    let id = upd["target"].as_str().unwrap();
    let name = upd["userName"].as_str().unwrap();
    // The demo maps AD's (empty) title onto IIJ ID's title: an edit there is a difference.
    let edit = Command::new("curl")
        .args(["-sf", "-X", "PATCH", "-H", "Authorization: Bearer T1"])
        .args(["-H", "Content-Type: application/scim+json", "--data"])
        .arg(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"edited after replay"}]}"#)
        .arg(format!("{}Users/{id}", mock.url))
        .output()
        .unwrap();
    assert!(edit.status.success(), "{}", stderr(&edit));
    let before = journal_events(&plan).len();
    let o = replay(&plan, &mock.url, "T1", &["--verify"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("NOT converged: 1 action(s)"), "{err}");
    assert!(
        err.contains(&format!("pending: update_user user {name} ({id})")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "action {} (update_user) was applied, but the object read back still differs",
            upd["seq"]
        )),
        "{err}"
    );
    assert!(err.contains("edited after replay"), "{err}");
    // Nothing was sent again: the second run only wrote its begin/end records.
    let after: Vec<_> = journal_events(&plan).into_iter().skip(before).collect();
    assert!(
        after
            .iter()
            .all(|r| r["event"] == "begin" || r["event"] == "end"),
        "{after:?}"
    );
}

/// The inputs `--verify` reconciles against are checked before anything is applied: a
/// snapshot that changed since planning → exit 2 naming it, nothing sent.
#[test]
fn verify_refuses_before_applying_when_an_input_snapshot_changed_or_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    // Plan from copies of the inputs, so they can be changed afterwards.
    let copy = |name: &str| {
        let to = tmp.path().join(name);
        let st = Command::new("cp")
            .arg("-r")
            .arg(fixture(name))
            .arg(&to)
            .status()
            .unwrap();
        assert!(st.success());
        to
    };
    let ad = copy("ad");
    let iid = copy("iid");
    let plan = tmp.path().join("plan");
    let o = Command::new(bin())
        .arg("reconcile")
        .arg("--config")
        .arg(fixture("config.yml"))
        .arg("--ad")
        .arg(&ad)
        .arg("--iid")
        .arg(&iid)
        .arg("--out")
        .arg(&plan)
        .arg("-q")
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", stderr(&o));
    let mock = Mock::start(&fixture("iid"), &["T1"], &[], &tmp.path().join("after"));

    // The AD snapshot's manifest is rewritten (one more byte): its digest changes.
    let m = ad.join("manifest.json");
    let mut text = std::fs::read_to_string(&m).unwrap();
    text.push('\n');
    std::fs::write(&m, text).unwrap();
    let o = replay(&plan, &mock.url, "T1", &["--verify"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&ad.display().to_string()), "{err}");
    assert!(err.contains("changed since the plan was built"), "{err}");
    assert!(!plan.join("journal.jsonl").exists(), "nothing was sent");

    // The AD snapshot restored, the IID snapshot gone.
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(&m, text.strip_suffix('\n').unwrap()).unwrap();
    std::fs::remove_dir_all(&iid).unwrap();
    let o = Command::new(bin())
        .arg("replay")
        .arg(&plan)
        .arg("--config")
        .arg(fixture("config.yml"))
        .args(["--base-url", &mock.url, "--allow-blocked", "--verify"])
        .env("DIRSNAP_IID_TOKEN", "T1")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&iid.display().to_string()) && err.contains("is gone"),
        "{err}"
    );
    assert!(!plan.join("journal.jsonl").exists(), "nothing was sent");
    // Without --verify the inputs are not needed: the plan itself is what is replayed.
    let o = replay(&plan, &mock.url, "T1", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Ctrl-C (SIGINT) during a replay: no further action starts, the one in flight finishes and
/// is journaled, the replay exits 4 saying it was interrupted and how to resume; the same
/// command then applies the rest, each action exactly once.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_after_the_request_in_flight_and_the_same_command_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    let n = reconcile(&fixture("iid"), &plan);
    let mock = Mock::start(
        &fixture("iid"),
        &["T1"],
        &["latency=150ms..150ms"],
        &tmp.path().join("after"),
    );
    let child = Command::new(bin())
        .arg("replay")
        .arg(&plan)
        .arg("--config")
        .arg(fixture("config.yml"))
        .args([
            "--base-url",
            &mock.url,
            "--allow-blocked",
            "--concurrency",
            "1",
            "-q",
        ])
        .env("DIRSNAP_IID_TOKEN", "T1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first action is applied (the journal says so).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while done_counts(&plan).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no action applied");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(err.contains("dirsnap replay"), "no resume command: {err}");
    let applied = done_counts(&plan).len();
    assert!(applied >= 1 && applied < n, "{applied} of {n} applied");
    let o = replay(&plan, &mock.url, "T1", &["--concurrency", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let done = done_counts(&plan);
    assert_eq!(done.len(), n);
    assert!(done.values().all(|c| *c == 1), "{done:?}");
}
