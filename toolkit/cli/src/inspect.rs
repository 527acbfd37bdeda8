//! `dirsnap inspect SNAP|PLAN`.

use crate::error::CliError;
use crate::output::{human_bytes, spinner};
use dirsnap_diff::Keyed;
use dirsnap_model::Manifest;
use dirsnap_plan::{Finding, PLAN_SCHEMA_VERSION, PlanDirError, Summary, verify_files};
use dirsnap_snapshot::{AnySnapshot, ReadOptions, Snapshot, Table, columns_of, read_manifest_json};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

pub fn run(path: &Path, as_json: bool, sample: usize, quiet: bool) -> Result<(), CliError> {
    let manifest = read_manifest_json(path)?;
    if manifest.get("kind").and_then(Value::as_str) == Some("plan") {
        return inspect_plan(path, &manifest, as_json);
    }
    let snapshot = Snapshot::open(path)?;
    let pb = spinner(quiet, &format!("reading {}", path.display()));
    // Reading decodes every file, which also verifies every checksum.
    let data = snapshot.read_any(&ReadOptions::without_raw())?;
    pb.finish_and_clear();
    let samples = samples(&data, sample);
    let m = snapshot.manifest();
    if as_json {
        let mut out = serde_json::to_value(m)?;
        if let Value::Object(obj) = &mut out {
            obj.remove("config");
            obj.insert("path".into(), json!(path.display().to_string()));
            obj.insert("verified".into(), json!(true));
            obj.insert("schema".into(), schema_json(m));
            obj.insert("sample".into(), samples);
        }
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        print_text(path, m, &samples);
    }
    Ok(())
}

fn schema_json(m: &Manifest) -> Value {
    let mut obj = serde_json::Map::new();
    for table in Table::ALL {
        let cols: Vec<Value> = columns_of(m.kind, table)
            .iter()
            .map(|c| json!({"name": c.name, "type": c.doc_type}))
            .collect();
        obj.insert(table.file_name().into(), Value::Array(cols));
    }
    Value::Object(obj)
}

fn rows_json<T: Keyed>(rows: &[T], n: usize) -> Value {
    Value::Array(
        rows.iter()
            .take(n)
            .map(|r| {
                json!({
                    "key": r.key(),
                    "label": r.label(),
                    "attributes": r.attributes(),
                })
            })
            .collect(),
    )
}

fn memberships_json(ms: &[dirsnap_model::Membership], n: usize) -> Value {
    Value::Array(
        ms.iter()
            .take(n)
            .map(|m| {
                json!({
                    "group_key": m.group_key,
                    "member_key": m.member_key,
                    "member_kind": m.member_kind.as_str(),
                    "member_ref": m.member_ref,
                    "in_scope": m.in_scope,
                })
            })
            .collect(),
    )
}

fn samples(data: &AnySnapshot, n: usize) -> Value {
    let (users, groups, memberships) = match data {
        AnySnapshot::Ad(t) => (
            rows_json(&t.users, n),
            rows_json(&t.groups, n),
            memberships_json(&t.memberships, n),
        ),
        AnySnapshot::Iid(t) => (
            rows_json(&t.users, n),
            rows_json(&t.groups, n),
            memberships_json(&t.memberships, n),
        ),
        AnySnapshot::M365(t) => (
            rows_json(&t.users, n),
            rows_json(&t.groups, n),
            memberships_json(&t.memberships, n),
        ),
    };
    json!({"users": users, "groups": groups, "memberships": memberships})
}

fn print_text(path: &Path, m: &Manifest, samples: &Value) {
    println!("snapshot    {}", path.display());
    println!(
        "kind        {} (schema_version {})",
        m.kind, m.schema_version
    );
    println!("source      {}", m.source.describe());
    println!(
        "taken at    {}",
        m.taken_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    println!("tool        {} {}", m.tool.name, m.tool.version);
    if let Some(d) = &m.config_digest {
        println!("config      {d}");
    }
    if m.filters.user.is_some() || m.filters.group.is_some() {
        println!(
            "filters     user: {}   group: {}",
            m.filters.user.as_deref().unwrap_or("(none)"),
            m.filters.group.as_deref().unwrap_or("(none)")
        );
    }
    println!(
        "counts      users {}, groups {}, memberships {}",
        m.counts.users, m.counts.groups, m.counts.memberships
    );
    println!("files       (checksums verified)");
    for (name, f) in &m.files {
        let short = f.sha256.get(..12).unwrap_or(&f.sha256);
        println!(
            "  {name:<20} {:>9} rows  {:>10}  sha256 {short}…",
            f.rows,
            human_bytes(f.bytes)
        );
    }
    for note in &m.notes {
        println!("note        {note}");
    }
    println!("schema");
    for table in Table::ALL {
        let cols: Vec<String> = columns_of(m.kind, table)
            .iter()
            .map(|c| format!("{} {}", c.name, c.doc_type))
            .collect();
        println!("  {}: {}", table.file_name(), cols.join(", "));
    }
    for (table, key) in [("users", "users"), ("groups", "groups")] {
        let rows = samples[key].as_array().cloned().unwrap_or_default();
        if rows.is_empty() {
            continue;
        }
        println!("sample {table}");
        for r in rows {
            println!(
                "  {}  {}",
                r["key"].as_str().unwrap_or_default(),
                r["label"].as_str().unwrap_or_default()
            );
            if let Some(attrs) = r["attributes"].as_object() {
                let shown: Vec<String> = attrs
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "objectSid"
                                | "whenCreated"
                                | "uSNChanged"
                                | "meta.created"
                                | "meta.version"
                        )
                    })
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect();
                println!("      {}", shown.join("  "));
            }
        }
    }
    let ms = samples["memberships"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !ms.is_empty() {
        println!("sample memberships");
        for r in ms {
            println!(
                "  {} ∋ {} ({}{})",
                r["group_key"].as_str().unwrap_or_default(),
                r["member_key"]
                    .as_str()
                    .or(r["member_ref"].as_str())
                    .unwrap_or_default(),
                r["member_kind"].as_str().unwrap_or_default(),
                if r["in_scope"].as_bool() == Some(false) {
                    ", outside scope"
                } else {
                    ""
                }
            );
        }
    }
}

/// A plan's verdict as `inspect` shows it: read from `plan.json` when this dirsnap reads its
/// schema version, else from the manifest's `blocked` alone.
struct PlanVerdict {
    blocked: bool,
    /// Blocking findings by code, when `plan.json` was read.
    blocking: Option<BTreeMap<String, u64>>,
    summary: Option<Summary>,
}

/// The parts of `plan.json` the verdict needs. The actions (nearly all of a big plan) are
/// skipped by the parser, never held in memory.
#[derive(serde::Deserialize)]
struct Verdicts {
    summary: Summary,
    findings: Vec<Finding>,
}

fn read_verdicts(dir: &Path) -> Result<Verdicts, CliError> {
    let path = dir.join("plan.json");
    let file = std::fs::File::open(&path).map_err(|source| PlanDirError::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_reader(std::io::BufReader::with_capacity(1 << 20, file)).map_err(|e| {
        PlanDirError::NotAPlan {
            path,
            message: format!("plan.json does not parse: {e}"),
        }
        .into()
    })
}

impl PlanVerdict {
    fn of(plan: &Verdicts) -> PlanVerdict {
        let mut blocking = BTreeMap::new();
        for f in plan.findings.iter().filter(|f| f.blocks()) {
            *blocking.entry(f.code.clone()).or_insert(0) += 1;
        }
        PlanVerdict {
            blocked: plan.summary.blocked,
            blocking: Some(blocking),
            summary: Some(plan.summary.clone()),
        }
    }

    fn line(&self) -> String {
        let Some(blocking) = &self.blocking else {
            return if self.blocked {
                "BLOCKED (manifest.json); this dirsnap cannot read the findings of this schema version".into()
            } else {
                "not blocked (manifest.json)".into()
            };
        };
        let n: u64 = blocking.values().sum();
        if !self.blocked {
            return "not blocked: no error finding stops `dirsnap replay` from applying it".into();
        }
        let codes: Vec<String> = blocking.iter().map(|(c, k)| format!("{c} ×{k}")).collect();
        format!(
            "BLOCKED by {n} error finding(s): {}; `dirsnap replay` refuses it without --allow-blocked",
            codes.join(", ")
        )
    }

    fn json(&self) -> Value {
        json!({
            "blocked": self.blocked,
            "blocking_findings": self.blocking.as_ref().map(|b| b.values().sum::<u64>()),
            "blocking_by_code": self.blocking,
        })
    }
}

/// Plans are written by `dirsnap reconcile`. Every file their manifest lists is verified
/// (streamed, so a plan of millions of actions is never loaded whole); the manifest is shown
/// as it is, so inspect also describes a plan of a schema version this dirsnap does not
/// execute.
fn inspect_plan(path: &Path, manifest: &Value, as_json: bool) -> Result<(), CliError> {
    let supported = manifest.get("schema_version").and_then(Value::as_u64)
        == Some(u64::from(PLAN_SCHEMA_VERSION));
    let files = verify_files(path, manifest)?;
    let verdict = if supported {
        PlanVerdict::of(&read_verdicts(path)?)
    } else {
        PlanVerdict {
            blocked: manifest.get("blocked").and_then(Value::as_bool) == Some(true),
            blocking: None,
            summary: None,
        }
    };
    if as_json {
        let mut out = manifest.clone();
        if let Value::Object(obj) = &mut out {
            obj.insert("path".into(), json!(path.display().to_string()));
            obj.insert("verified".into(), json!(true));
            obj.insert("verdict".into(), verdict.json());
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("plan        {}", path.display());
    println!(
        "kind        plan (schema_version {})",
        manifest
            .get("schema_version")
            .map_or("?".into(), Value::to_string)
    );
    for key in ["created_at", "mode", "instance", "as_of"] {
        if let Some(v) = manifest.get(key).and_then(Value::as_str) {
            println!("{key:<11} {v}");
        }
    }
    match &verdict.summary {
        Some(s) => {
            let tail = |t: String| if t.is_empty() { t } else { format!(" ({t})") };
            println!(
                "counts      actions {}{}, findings {}{}, skipped {}",
                s.actions,
                tail(dirsnap_report::render::op_counts(s)),
                s.findings,
                tail(dirsnap_report::render::severity_counts(s)),
                s.skipped
            );
        }
        None => {
            if let Some(Value::Object(counts)) = manifest.get("counts") {
                let parts: Vec<String> = counts
                    .iter()
                    .filter(|(_, v)| v.is_number())
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect();
                println!("counts      {}", parts.join(", "));
            }
        }
    }
    println!("verdict     {}", verdict.line());
    println!("files       (every checksum in manifest.json verified)");
    for f in &files {
        let short = f.sha256.get(..12).unwrap_or(&f.sha256);
        println!(
            "  {:<20} {:>10}  sha256 {short}…",
            f.name,
            human_bytes(f.bytes)
        );
    }
    if let Some(Value::Array(inputs)) = manifest.get("inputs") {
        println!("inputs");
        for i in inputs {
            println!(
                "  {} {}  {}",
                i.get("kind").and_then(Value::as_str).unwrap_or("?"),
                i.get("path").and_then(Value::as_str).unwrap_or("?"),
                i.get("digest").and_then(Value::as_str).unwrap_or("")
            );
        }
    }
    Ok(())
}
