//! The plan directory: written to a hidden temporary directory beside the target, every file
//! fsync'd, `manifest.json` last, then renamed in one step — a crash never leaves half a plan.

use arrow_array::builder::{BooleanBuilder, ListBuilder, StringBuilder, UInt32Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use chrono::{DateTime, SecondsFormat, Utc};
use dirsnap_reconcile::{Action, ActionJson, Finding, PLAN_SCHEMA_VERSION, Plan};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The files of a plan directory besides `manifest.json`.
pub const PLAN_FILES: &[&str] = &[
    "plan.json",
    "actions.parquet",
    "findings.parquet",
    "report.md",
    "report.html",
];

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: already exists; plans are immutable, so choose a new output directory")]
    Exists { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: could not encode: {message}")]
    Encode { path: PathBuf, message: String },
    #[error("{path}: not a plan directory: {message}")]
    NotAPlan { path: PathBuf, message: String },
    #[error(
        "{path}: checksum mismatch: manifest.json records sha256 {expected}, the file has {actual}; the plan was modified after it was written, so it is refused"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

impl ReportError {
    /// True when the user's input is at fault (exit 2), false for I/O failures (exit 1).
    pub fn is_invalid_input(&self) -> bool {
        !matches!(self, ReportError::Io { .. } | ReportError::Encode { .. })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One input as the plan's manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRef {
    /// `ad`, `iid`, `m365` or `config`.
    pub kind: String,
    /// `ad`, `previous_ad`, `iid`, `previous_iid`, `m365` or `config`.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub path: String,
    pub digest: String,
}

/// A plan read back from its directory.
#[derive(Debug, Clone)]
pub struct PlanDir {
    pub plan: Plan,
    pub manifest: Value,
}

/// A file written through a buffer while its sha256 and size are computed. The hash is fed
/// whole buffers, not the serializers' many small writes (per-call overhead dominated).
struct Hashed {
    file: File,
    buf: Vec<u8>,
    hasher: Sha256,
    bytes: u64,
}

const HASHED_BUFFER: usize = 1 << 20;

impl Hashed {
    fn create(path: &Path) -> Result<Hashed, ReportError> {
        Ok(Hashed {
            file: File::create(path).map_err(io(path))?,
            buf: Vec::with_capacity(HASHED_BUFFER),
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    fn drain(&mut self) -> std::io::Result<()> {
        self.hasher.update(&self.buf);
        self.file.write_all(&self.buf)?;
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self, path: &Path) -> Result<(String, u64), ReportError> {
        self.drain().map_err(io(path))?;
        self.file.sync_all().map_err(io(path))?;
        Ok((hex::encode(self.hasher.finalize()), self.bytes))
    }
}

impl Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + buf.len() > HASHED_BUFFER {
            self.drain()?;
        }
        if buf.len() >= HASHED_BUFFER {
            self.hasher.update(buf);
            self.file.write_all(buf)?;
            self.bytes += buf.len() as u64;
        } else {
            self.buf.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.drain()?;
        self.file.flush()
    }
}

/// `fmt::Write` over an `io::Write`, keeping the first I/O error.
struct FmtIo<'a, W: Write> {
    inner: &'a mut W,
    error: Option<std::io::Error>,
}

impl<W: Write> std::fmt::Write for FmtIo<'_, W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.inner.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            std::fmt::Error
        })
    }
}

fn write_rendered(
    path: &Path,
    plan: &Plan,
    format: crate::render::Format,
) -> Result<(String, u64), ReportError> {
    let mut f = Hashed::create(path)?;
    let mut w = FmtIo {
        inner: &mut f,
        error: None,
    };
    let r =
        crate::render::render_limited(plan, format, crate::render::REPORT_ACTIONS_PER_KIND, &mut w);
    if let Some(e) = w.error {
        return Err(io(path)(e));
    }
    r.map_err(|_| ReportError::Encode {
        path: path.to_path_buf(),
        message: "rendering failed".into(),
    })?;
    f.finish(path)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(String, u64), ReportError> {
    let mut f = File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    Ok((hex::encode(Sha256::digest(bytes)), bytes.len() as u64))
}

fn sync_dir(dir: &Path) -> Result<(), ReportError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Rows per row group of the plan's Parquet files; also how many rows are turned into Arrow
/// columns at a time, so only one row group's columns are ever in memory.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// A Parquet file being written batch by batch, hashed as it goes.
struct ParquetOut<'p> {
    path: &'p Path,
    writer: ArrowWriter<Hashed>,
}

impl<'p> ParquetOut<'p> {
    fn create(path: &'p Path, first: &RecordBatch) -> Result<ParquetOut<'p>, ReportError> {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let f = Hashed::create(path)?;
        let writer = ArrowWriter::try_new(f, first.schema(), Some(props))
            .map_err(|e| encode(path, e.to_string()))?;
        let mut out = ParquetOut { path, writer };
        out.write(first)?;
        Ok(out)
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), ReportError> {
        self.writer
            .write(batch)
            .map_err(|e| encode(self.path, e.to_string()))
    }

    fn finish(self) -> Result<(String, u64), ReportError> {
        let f = self
            .writer
            .into_inner()
            .map_err(|e| encode(self.path, e.to_string()))?;
        f.finish(self.path)
    }
}

fn encode(path: &Path, message: String) -> ReportError {
    ReportError::Encode {
        path: path.to_path_buf(),
        message,
    }
}

/// Writes `rows` to a Parquet file one row group at a time, hashing as it goes.
fn write_parquet<T>(
    path: &Path,
    rows: &[T],
    to_batch: impl Fn(&[T]) -> Result<RecordBatch, arrow_schema::ArrowError>,
) -> Result<(String, u64), ReportError> {
    let (head, rest) = rows.split_at(rows.len().min(ROW_GROUP_ROWS));
    // The first (possibly empty) batch gives the schema.
    let first = to_batch(head).map_err(|e| encode(path, e.to_string()))?;
    let mut w = ParquetOut::create(path, &first)?;
    drop(first);
    for chunk in rest.chunks(ROW_GROUP_ROWS) {
        let batch = to_batch(chunk).map_err(|e| encode(path, e.to_string()))?;
        w.write(&batch)?;
    }
    w.finish()
}

/// Actions serialized per pipeline step: `plan.json` lines and the parts `actions.parquet`
/// reuses.
const PIPELINE_ROWS: usize = 16 * 1024;

/// The JSON parts and `plan.json` line of each action, on two threads.
fn serialize_actions(actions: &[Action]) -> Result<Vec<(ActionJson, Vec<u8>)>, serde_json::Error> {
    let one = |a: &Action| -> Result<(ActionJson, Vec<u8>), serde_json::Error> {
        let parts = ActionJson::of(a)?;
        let mut line = Vec::with_capacity(1024);
        parts.write_action(a, &mut line)?;
        Ok((parts, line))
    };
    let (a, b) = actions.split_at(actions.len() / 2);
    std::thread::scope(|s| {
        let second = s.spawn(|| b.iter().map(one).collect::<Result<Vec<_>, _>>());
        let mut out = a.iter().map(one).collect::<Result<Vec<_>, _>>()?;
        out.extend(
            second
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))?,
        );
        Ok(out)
    })
}

/// `plan.json` and `actions.parquet` together: each action is serialized once (on two
/// threads), its line goes to `plan.json` and its parts to the Parquet writer on another
/// thread, a slice of actions at a time.
fn write_plan_json_and_actions(dir: &Path, plan: &Plan) -> Result<Vec<Written>, ReportError> {
    let json_path = dir.join("plan.json");
    let pq_path = dir.join("actions.parquet");
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<ActionJson>)>(1);
    std::thread::scope(|s| {
        let pq_path = &pq_path;
        let tables = s.spawn(move || -> Result<(String, u64), ReportError> {
            let empty = actions_batch_with(&[], &[]).map_err(|e| encode(pq_path, e.to_string()))?;
            let mut w = ParquetOut::create(pq_path, &empty)?;
            for (start, parts) in rx {
                let chunk = plan
                    .actions
                    .get(start..start + parts.len())
                    .ok_or_else(|| encode(pq_path, "action range out of bounds".into()))?;
                let batch = actions_batch_with(chunk, &parts)
                    .map_err(|e| encode(pq_path, e.to_string()))?;
                w.write(&batch)?;
            }
            w.finish()
        });
        let json = (|| -> Result<(String, u64), ReportError> {
            let enc = |e: serde_json::Error| encode(&json_path, e.to_string());
            let mut f = Hashed::create(&json_path)?;
            plan.write_json_head(&mut f).map_err(enc)?;
            let mut first = true;
            for (c, chunk) in plan.actions.chunks(PIPELINE_ROWS).enumerate() {
                let serialized = serialize_actions(chunk).map_err(enc)?;
                let mut parts = Vec::with_capacity(serialized.len());
                for (p, line) in serialized {
                    dirsnap_reconcile::plan::write_list_item(&mut f, first, &line).map_err(enc)?;
                    first = false;
                    parts.push(p);
                }
                if tx.send((c * PIPELINE_ROWS, parts)).is_err() {
                    // The Parquet writer failed; its error is the one reported.
                    break;
                }
            }
            drop(tx);
            plan.write_json_tail(&mut f).map_err(enc)?;
            f.finish(&json_path)
        })();
        let tables = tables
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        Ok(vec![("actions.parquet", tables), ("plan.json", json?)])
    })
}

fn u32_list(rows: impl Iterator<Item = Vec<u32>>) -> ArrayRef {
    let mut b = ListBuilder::new(UInt32Builder::new());
    for r in rows {
        for v in r {
            b.values().append_value(v);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

fn strings<'a>(rows: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for r in rows {
        b.append_option(r);
    }
    Arc::new(b.finish())
}

fn owned_strings(rows: impl Iterator<Item = Option<String>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for r in rows {
        b.append_option(r);
    }
    Arc::new(b.finish())
}

/// The columns of `actions.parquet` (docs/plan-format.md). Nested values (keys, changes,
/// operations, body, members) are JSON text.
pub fn actions_batch(actions: &[Action]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let parts = actions
        .iter()
        .map(ActionJson::of)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| arrow_schema::ArrowError::ExternalError(Box::new(e)))?;
    actions_batch_with(actions, &parts)
}

/// [`actions_batch`] from the JSON parts `plan.json`'s writer already serialized.
fn actions_batch_with(
    actions: &[Action],
    parts: &[ActionJson],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let list_u32 = DataType::List(Arc::new(Field::new("item", DataType::UInt32, true)));
    let schema = Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt32, false),
        Field::new("op", DataType::Utf8, false),
        Field::new("resource", DataType::Utf8, false),
        Field::new("instance", DataType::Utf8, false),
        Field::new("target", DataType::Utf8, true),
        Field::new("target_action", DataType::UInt32, true),
        Field::new("user_name", DataType::Utf8, true),
        Field::new("display_name", DataType::Utf8, true),
        Field::new("external_id", DataType::Utf8, true),
        Field::new("keys", DataType::Utf8, false),
        Field::new("matched_by", DataType::Utf8, true),
        Field::new("rule", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("changes", DataType::Utf8, false),
        Field::new("method", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("operations", DataType::Utf8, false),
        Field::new("body", DataType::Utf8, true),
        Field::new("members", DataType::Utf8, false),
        Field::new("depends_on", list_u32, false),
        Field::new("state_digest", DataType::Utf8, true),
    ]));
    let mut seq = UInt32Builder::new();
    let mut target_action = UInt32Builder::new();
    for a in actions {
        seq.append_value(a.seq);
        target_action.append_option(a.target_action);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(seq.finish()),
        strings(actions.iter().map(|a| Some(a.op.as_str()))),
        strings(actions.iter().map(|a| Some(a.resource.as_str()))),
        strings(actions.iter().map(|a| Some(a.instance.as_str()))),
        strings(actions.iter().map(|a| a.target.as_deref())),
        Arc::new(target_action.finish()),
        strings(actions.iter().map(|a| a.user_name.as_deref())),
        strings(actions.iter().map(|a| a.display_name.as_deref())),
        strings(actions.iter().map(|a| a.external_id.as_deref())),
        strings(parts.iter().map(|p| Some(p.keys.as_str()))),
        strings(actions.iter().map(|a| a.matched_by.as_deref())),
        strings(actions.iter().map(|a| Some(a.rule.as_str()))),
        strings(actions.iter().map(|a| Some(a.reason.as_str()))),
        strings(parts.iter().map(|p| Some(p.changes.as_str()))),
        strings(actions.iter().map(|a| Some(a.request.method.as_str()))),
        strings(actions.iter().map(|a| Some(a.request.path.as_str()))),
        strings(parts.iter().map(|p| Some(p.operations.as_str()))),
        strings(parts.iter().map(|p| p.body.as_deref())),
        strings(parts.iter().map(|p| Some(p.members.as_str()))),
        u32_list(actions.iter().map(|a| a.depends_on.clone())),
        strings(actions.iter().map(|a| a.state_digest.as_deref())),
    ];
    RecordBatch::try_new(schema, cols)
}

/// The columns of `findings.parquet` (docs/plan-format.md).
pub fn findings_batch(findings: &[Finding]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let list_u32 = DataType::List(Arc::new(Field::new("item", DataType::UInt32, true)));
    let schema = Arc::new(Schema::new(vec![
        Field::new("code", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("instance", DataType::Utf8, true),
        Field::new("subject", DataType::Utf8, false),
        Field::new("keys", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
        Field::new("remediation", DataType::Utf8, false),
        Field::new("confidence", DataType::Utf8, false),
        Field::new("actions", list_u32, false),
        Field::new("allowed", DataType::Boolean, false),
    ]));
    let mut allowed = BooleanBuilder::new();
    for f in findings {
        allowed.append_value(f.allowed);
    }
    let cols: Vec<ArrayRef> = vec![
        strings(findings.iter().map(|f| Some(f.code.as_str()))),
        strings(findings.iter().map(|f| Some(f.severity.as_str()))),
        strings(findings.iter().map(|f| f.instance.as_deref())),
        strings(findings.iter().map(|f| Some(f.subject.as_str()))),
        owned_strings(findings.iter().map(|f| Some(json_text(&f.keys)))),
        strings(findings.iter().map(|f| Some(f.message.as_str()))),
        strings(findings.iter().map(|f| Some(f.remediation.as_str()))),
        strings(findings.iter().map(|f| {
            Some(match f.confidence {
                dirsnap_reconcile::Confidence::High => "high",
                dirsnap_reconcile::Confidence::Low => "low",
            })
        })),
        u32_list(findings.iter().map(|f| f.actions.clone())),
        Arc::new(allowed.finish()),
    ];
    RecordBatch::try_new(schema, cols)
}

/// Writes a plan directory at `out` (which must not exist). `created_at` is the only wall
/// clock value, and it goes only into manifest.json.
pub fn write_plan_dir(
    out: &Path,
    plan: &Plan,
    inputs: &[InputRef],
    created_at: DateTime<Utc>,
) -> Result<Value, ReportError> {
    if out.exists() {
        return Err(ReportError::Exists {
            path: out.to_path_buf(),
        });
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".into());
    let tmp = parent.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        created_at.timestamp_subsec_nanos()
    ));
    fs::create_dir(&tmp).map_err(io(&tmp))?;
    let result = write_into(&tmp, plan, inputs, created_at).and_then(|manifest| {
        if out.exists() {
            return Err(ReportError::Exists {
                path: out.to_path_buf(),
            });
        }
        fs::rename(&tmp, out).map_err(io(out))?;
        sync_dir(&parent)?;
        Ok(manifest)
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

/// A file of the plan directory: name, sha256, bytes.
type Written = (&'static str, (String, u64));

fn write_into(
    dir: &Path,
    plan: &Plan,
    inputs: &[InputRef],
    created_at: DateTime<Utc>,
) -> Result<Value, ReportError> {
    // The five files are independent: write them side by side.
    let written: Vec<Result<Written, ReportError>> = std::thread::scope(|s| {
        let plan_json = s.spawn(|| write_plan_json_and_actions(dir, plan));
        let tables = s.spawn(|| {
            Ok(vec![(
                "findings.parquet",
                write_parquet(
                    &dir.join("findings.parquet"),
                    &plan.findings,
                    findings_batch,
                )?,
            )])
        });
        let reports = [
            ("report.md", crate::render::Format::Markdown),
            ("report.html", crate::render::Format::Html),
        ]
        .into_iter()
        .map(|(name, format)| Ok((name, write_rendered(&dir.join(name), plan, format)?)))
        .collect::<Vec<_>>();
        let mut all = Vec::new();
        for h in [plan_json, tables] {
            match h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)) {
                Ok(files) => all.extend(files.into_iter().map(Ok)),
                Err(e) => all.push(Err(e)),
            }
        }
        all.extend(reports);
        all
    });
    let mut files = BTreeMap::new();
    for w in written {
        let (name, (sha, len)) = w?;
        files.insert(name.to_string(), json!({"sha256": sha, "bytes": len}));
    }
    let instance = plan
        .instances
        .iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let manifest = json!({
        "kind": "plan",
        "schema_version": PLAN_SCHEMA_VERSION,
        "created_at": created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "mode": plan.mode.as_str(),
        "instance": instance,
        "as_of": plan.as_of.to_rfc3339_opts(SecondsFormat::Secs, true),
        "tool": {"name": "dirsnap", "version": env!("CARGO_PKG_VERSION")},
        "counts": {
            "actions": plan.summary.actions,
            "findings": plan.summary.findings,
            "skipped": plan.summary.skipped,
            "by_op": plan.summary.by_op,
            "by_severity": plan.summary.by_severity,
        },
        "blocked": plan.summary.blocked,
        "inputs": inputs,
        "files": files,
    });
    let mut mtext = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    mtext.push('\n');
    write_synced(&dir.join("manifest.json"), mtext.as_bytes())?;
    sync_dir(dir)?;
    Ok(manifest)
}

/// Reads a plan directory: the manifest must say `kind: plan` with a supported
/// `schema_version`, and `plan.json` must match its recorded sha256.
pub fn load_plan(dir: &Path) -> Result<PlanDir, ReportError> {
    let not_plan = |message: String| ReportError::NotAPlan {
        path: dir.to_path_buf(),
        message,
    };
    let mpath = dir.join("manifest.json");
    let mtext = match fs::read_to_string(&mpath) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_plan("no manifest.json".into()));
        }
        Err(e) => return Err(io(&mpath)(e)),
    };
    let manifest: Value = serde_json::from_str(&mtext)
        .map_err(|e| not_plan(format!("manifest.json is not JSON: {e}")))?;
    match manifest.get("kind").and_then(Value::as_str) {
        Some("plan") => {}
        Some(k) => {
            return Err(not_plan(format!(
                "manifest.json says kind {k:?}: this is a snapshot (use `dirsnap inspect`)"
            )));
        }
        None => return Err(not_plan("manifest.json has no kind".into())),
    }
    let version = manifest.get("schema_version").and_then(Value::as_u64);
    if version != Some(u64::from(PLAN_SCHEMA_VERSION)) {
        return Err(not_plan(format!(
            "plan schema_version {} is not supported; this dirsnap reads version {PLAN_SCHEMA_VERSION}",
            version.map_or("(missing)".into(), |v| v.to_string())
        )));
    }
    let ppath = dir.join("plan.json");
    let bytes = fs::read(&ppath).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => not_plan("plan.json is missing".into()),
        _ => io(&ppath)(e),
    })?;
    if let Some(expected) = manifest
        .pointer("/files/plan.json/sha256")
        .and_then(Value::as_str)
    {
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != expected {
            return Err(ReportError::Checksum {
                path: ppath,
                expected: expected.to_string(),
                actual,
            });
        }
    }
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| ReportError::NotAPlan {
        path: ppath.clone(),
        message: format!("plan.json does not parse: {e}"),
    })?;
    Ok(PlanDir { plan, manifest })
}

/// `sha256:` of a snapshot's `manifest.json` bytes: the digest a plan records for each input
/// (the manifest holds every data file's sha256, so it binds the whole snapshot).
pub fn manifest_digest(dir: &Path) -> Result<String, ReportError> {
    let path = dir.join("manifest.json");
    let bytes = fs::read(&path).map_err(io(&path))?;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))))
}
