//! The plan directory: `plan.json`, `actions.parquet`, `findings.parquet`, the human
//! reports a caller renders (`report.md`, `report.html`), and `manifest.json` with the sha256
//! of each file and the digests of the inputs. Written to a hidden temporary directory beside
//! the target, every file fsync'd, `manifest.json` last, then renamed in one step: a crash
//! never leaves half a plan. Read back only when every file the manifest lists (the reports a
//! reviewer approved included) has the sha256 it records and the actions form a valid
//! execution order.

use crate::action::Action;
use crate::json::{ActionJson, write_list_item};
use crate::plan::{PLAN_SCHEMA_VERSION, Plan};
use crate::tables::{actions_batch_with, findings_batch};
use arrow_array::RecordBatch;
use chrono::{DateTime, SecondsFormat, Utc};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The files every plan directory has besides `manifest.json` and the rendered reports.
pub const PLAN_DATA_FILES: &[&str] = &["plan.json", "actions.parquet", "findings.parquet"];

#[derive(Debug, thiserror::Error)]
pub enum PlanDirError {
    #[error("{path}: already exists; plans are immutable, so choose a new output directory")]
    Exists { path: PathBuf },
    #[error("{path}: cannot create it: {parent} is not a writable directory ({source})")]
    Unwritable {
        path: PathBuf,
        parent: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
        "{path}: checksum mismatch: manifest.json records sha256 {expected}, the file has {actual}; the plan was modified after it was written (and reviewed), so it is refused"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// A file the manifest lists is not there.
    #[error(
        "{path}: missing, although manifest.json lists it; the plan directory is incomplete, so it is refused"
    )]
    MissingFile { path: PathBuf },
    /// `plan.json` parses but cannot be executed as written.
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl PlanDirError {
    /// True when the user's input is at fault (exit 2), false for I/O failures (exit 1).
    pub fn is_invalid_input(&self) -> bool {
        !matches!(
            self,
            PlanDirError::Io { .. } | PlanDirError::Encode { .. } | PlanDirError::Unwritable { .. }
        )
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PlanDirError + '_ {
    move |source| PlanDirError::Io {
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

/// A human view of the plan written into the directory beside the data files (the report
/// crate supplies `report.md` and `report.html`); its sha256 is recorded like theirs.
pub struct ReportFile<'r> {
    pub name: &'static str,
    pub render: &'r (dyn Fn(&Plan, &mut dyn std::fmt::Write) -> std::fmt::Result + Sync),
}

impl std::fmt::Debug for ReportFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportFile")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A file of a plan directory whose sha256 is the one `manifest.json` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedFile {
    pub name: String,
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// A plan read back from its directory, checked.
#[derive(Debug, Clone)]
pub struct PlanDir {
    pub dir: PathBuf,
    pub plan: Plan,
    pub manifest: Value,
    /// `sha256:` of `plan.json`: binds a replay journal to this exact plan.
    pub digest: String,
    /// Every file `manifest.json` lists, each checked against its sha256.
    pub files: Vec<VerifiedFile>,
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
    fn create(path: &Path) -> Result<Hashed, PlanDirError> {
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

    fn finish(mut self, path: &Path) -> Result<(String, u64), PlanDirError> {
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
    report: &ReportFile<'_>,
) -> Result<(String, u64), PlanDirError> {
    let mut f = Hashed::create(path)?;
    let mut w = FmtIo {
        inner: &mut f,
        error: None,
    };
    let r = (report.render)(plan, &mut w);
    if let Some(e) = w.error {
        return Err(io(path)(e));
    }
    r.map_err(|_| PlanDirError::Encode {
        path: path.to_path_buf(),
        message: "rendering failed".into(),
    })?;
    f.finish(path)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(String, u64), PlanDirError> {
    dirsnap_durable::write_synced(path, bytes)?;
    Ok((hex::encode(Sha256::digest(bytes)), bytes.len() as u64))
}

impl From<dirsnap_durable::DurableError> for PlanDirError {
    fn from(e: dirsnap_durable::DurableError) -> Self {
        use dirsnap_durable::DurableError;
        match e {
            DurableError::Exists { path } => PlanDirError::Exists { path },
            DurableError::Unwritable {
                path,
                parent,
                source,
            } => PlanDirError::Unwritable {
                path,
                parent,
                source,
            },
            DurableError::Io { path, source } => PlanDirError::Io { path, source },
        }
    }
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
    fn create(path: &'p Path, first: &RecordBatch) -> Result<ParquetOut<'p>, PlanDirError> {
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

    fn write(&mut self, batch: &RecordBatch) -> Result<(), PlanDirError> {
        self.writer
            .write(batch)
            .map_err(|e| encode(self.path, e.to_string()))
    }

    fn finish(self) -> Result<(String, u64), PlanDirError> {
        let f = self
            .writer
            .into_inner()
            .map_err(|e| encode(self.path, e.to_string()))?;
        f.finish(self.path)
    }
}

fn encode(path: &Path, message: String) -> PlanDirError {
    PlanDirError::Encode {
        path: path.to_path_buf(),
        message,
    }
}

/// Writes `rows` to a Parquet file one row group at a time, hashing as it goes.
fn write_parquet<T>(
    path: &Path,
    rows: &[T],
    to_batch: impl Fn(&[T]) -> Result<RecordBatch, arrow_schema::ArrowError>,
) -> Result<(String, u64), PlanDirError> {
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
fn write_plan_json_and_actions(dir: &Path, plan: &Plan) -> Result<Vec<Written>, PlanDirError> {
    let json_path = dir.join("plan.json");
    let pq_path = dir.join("actions.parquet");
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<ActionJson>)>(1);
    std::thread::scope(|s| {
        let pq_path = &pq_path;
        let tables = s.spawn(move || -> Result<(String, u64), PlanDirError> {
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
        let json = (|| -> Result<(String, u64), PlanDirError> {
            let enc = |e: serde_json::Error| encode(&json_path, e.to_string());
            let mut f = Hashed::create(&json_path)?;
            plan.write_json_head(&mut f).map_err(enc)?;
            let mut first = true;
            for (c, chunk) in plan.actions.chunks(PIPELINE_ROWS).enumerate() {
                let serialized = serialize_actions(chunk).map_err(enc)?;
                let mut parts = Vec::with_capacity(serialized.len());
                for (p, line) in serialized {
                    write_list_item(&mut f, first, &line).map_err(enc)?;
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

/// Writes a plan directory at `out` (which must not exist): the data files, `reports`
/// rendered by the caller, and `manifest.json`. `created_at` is the only wall clock value,
/// and it goes only into manifest.json.
pub fn write_plan_dir(
    out: &Path,
    plan: &Plan,
    inputs: &[InputRef],
    reports: &[ReportFile<'_>],
    created_at: DateTime<Utc>,
) -> Result<Value, PlanDirError> {
    let staged = dirsnap_durable::StagedDir::create(out).map_err(PlanDirError::from)?;
    let manifest = write_into(staged.path(), plan, inputs, reports, created_at)?;
    staged.publish().map_err(PlanDirError::from)?;
    Ok(manifest)
}

/// A file of the plan directory: name, sha256, bytes.
type Written = (&'static str, (String, u64));

fn write_into(
    dir: &Path,
    plan: &Plan,
    inputs: &[InputRef],
    reports: &[ReportFile<'_>],
    created_at: DateTime<Utc>,
) -> Result<Value, PlanDirError> {
    // The files are independent: write them side by side.
    let written: Vec<Result<Written, PlanDirError>> = std::thread::scope(|s| {
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
        let reports = reports
            .iter()
            .map(|r| Ok((r.name, write_rendered(&dir.join(r.name), plan, r)?)))
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
    Ok(manifest)
}

/// Reads a plan directory: the manifest must say `kind: plan` with a supported
/// `schema_version`, every file it lists (`plan.json`, the Parquet tables, the reports) must
/// have the sha256 it records, and the actions must form a valid execution order (every
/// dependency an earlier action; creates carry their body).
pub fn load_plan(dir: &Path) -> Result<PlanDir, PlanDirError> {
    let manifest = read_plan_manifest(dir)?;
    let not_plan = |message: String| PlanDirError::NotAPlan {
        path: dir.to_path_buf(),
        message,
    };
    let version = manifest.get("schema_version").and_then(Value::as_u64);
    if version != Some(u64::from(PLAN_SCHEMA_VERSION)) {
        return Err(not_plan(format!(
            "plan schema_version {} is not supported; this dirsnap reads version {PLAN_SCHEMA_VERSION}",
            version.map_or("(missing)".into(), |v| v.to_string())
        )));
    }
    let listed = listed_files(dir, &manifest)?;
    let ppath = dir.join("plan.json");
    let bytes = fs::read(&ppath).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => PlanDirError::MissingFile {
            path: ppath.clone(),
        },
        _ => io(&ppath)(e),
    })?;
    let actual = hex::encode(Sha256::digest(&bytes));
    // plan.json is in memory already: hashed once, here; the other files are streamed.
    let (json_entry, others): (Vec<_>, Vec<_>) = listed
        .into_iter()
        .partition(|(name, _)| name == "plan.json");
    let mut files = Vec::with_capacity(others.len() + 1);
    for (name, expected) in json_entry {
        if actual != expected {
            return Err(PlanDirError::Checksum {
                path: ppath,
                expected,
                actual,
            });
        }
        files.push(VerifiedFile {
            name,
            bytes: bytes.len() as u64,
            sha256: actual.clone(),
        });
    }
    files.extend(verify_listed(dir, others)?);
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| PlanDirError::NotAPlan {
        path: ppath.clone(),
        message: format!("plan.json does not parse: {e}"),
    })?;
    check_order(&plan).map_err(|message| PlanDirError::Invalid {
        path: ppath.clone(),
        message,
    })?;
    Ok(PlanDir {
        dir: dir.to_path_buf(),
        plan,
        manifest,
        digest: format!("sha256:{actual}"),
        files,
    })
}

/// The `manifest.json` of a plan directory, whatever its schema version: it must exist, be
/// JSON and say `kind: plan`.
pub fn read_plan_manifest(dir: &Path) -> Result<Value, PlanDirError> {
    let not_plan = |message: String| PlanDirError::NotAPlan {
        path: dir.to_path_buf(),
        message,
    };
    let mpath = dir.join("manifest.json");
    let mtext = match fs::read_to_string(&mpath) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_plan(
                "no manifest.json (expected a plan directory written by `dirsnap reconcile --out`)"
                    .into(),
            ));
        }
        Err(e) => return Err(io(&mpath)(e)),
    };
    let manifest: Value = serde_json::from_str(&mtext)
        .map_err(|e| not_plan(format!("manifest.json is not JSON: {e}")))?;
    match manifest.get("kind").and_then(Value::as_str) {
        Some("plan") => Ok(manifest),
        Some(k) => Err(not_plan(format!(
            "manifest.json says kind {k:?}: this is a snapshot (use `dirsnap inspect`)"
        ))),
        None => Err(not_plan("manifest.json has no kind".into())),
    }
}

/// Checks every file `manifest` (a plan directory's `manifest.json`) lists against the
/// sha256 it records, and names the first that differs or is missing. Files the manifest
/// does not list (the replay journal and its lock) are not part of what was reviewed.
pub fn verify_files(dir: &Path, manifest: &Value) -> Result<Vec<VerifiedFile>, PlanDirError> {
    let mut files = verify_listed(dir, listed_files(dir, manifest)?)?;
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// The files `manifest.json` lists, with their expected sha256 (lowercase hex). Every plan
/// dirsnap writes lists at least [`PLAN_DATA_FILES`]; a manifest without one of them, or
/// with a name that is not a plain file name, was not written by dirsnap.
fn listed_files(dir: &Path, manifest: &Value) -> Result<Vec<(String, String)>, PlanDirError> {
    let not_plan = |message: String| PlanDirError::NotAPlan {
        path: dir.join("manifest.json"),
        message,
    };
    let Some(Value::Object(files)) = manifest.get("files") else {
        return Err(not_plan(
            "it lists no files (\"files\"), so nothing can be verified".into(),
        ));
    };
    let mut listed = Vec::with_capacity(files.len());
    for (name, entry) in files {
        let plain = Path::new(name)
            .file_name()
            .is_some_and(|n| n == name.as_str());
        if !plain || name == "manifest.json" {
            return Err(not_plan(format!(
                "it lists {name:?}, which is not a file of a plan directory"
            )));
        }
        let Some(sha) = entry.get("sha256").and_then(Value::as_str) else {
            return Err(not_plan(format!("{name} has no sha256")));
        };
        let sha = sha.trim_start_matches("sha256:").to_ascii_lowercase();
        listed.push((name.clone(), sha));
    }
    for required in PLAN_DATA_FILES {
        if !files.contains_key(*required) {
            return Err(not_plan(format!("{required} is not listed")));
        }
    }
    Ok(listed)
}

/// Hashes the files side by side (a plan of a million users has several files of hundreds of
/// megabytes) and compares each with its expected sha256.
fn verify_listed(
    dir: &Path,
    listed: Vec<(String, String)>,
) -> Result<Vec<VerifiedFile>, PlanDirError> {
    let results: Vec<Result<VerifiedFile, PlanDirError>> = std::thread::scope(|s| {
        let handles: Vec<_> = listed
            .into_iter()
            .map(|(name, expected)| s.spawn(move || verify_one(dir, name, expected)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.into_iter().collect()
}

fn verify_one(dir: &Path, name: String, expected: String) -> Result<VerifiedFile, PlanDirError> {
    let path = dir.join(&name);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PlanDirError::MissingFile { path });
        }
        Err(e) => return Err(io(&path)(e)),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASHED_BUFFER];
    let mut bytes = 0u64;
    loop {
        let n = match std::io::Read::read(&mut file, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(&path)(e)),
        };
        hasher.update(buf.get(..n).unwrap_or_default());
        bytes += n as u64;
    }
    let actual = hex::encode(hasher.finalize());
    if actual != expected {
        return Err(PlanDirError::Checksum {
            path,
            expected,
            actual,
        });
    }
    Ok(VerifiedFile {
        name,
        bytes,
        sha256: actual,
    })
}

/// Whether the actions can run in the order of their seqs: unique seqs, every prerequisite an
/// earlier action, every create with the body it sends.
fn check_order(plan: &Plan) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for a in &plan.actions {
        if !seen.insert(a.seq) {
            return Err(format!("action seq {} appears twice", a.seq));
        }
        for d in a.prerequisites() {
            if d >= a.seq || !seen.contains(&d) {
                return Err(format!(
                    "action {} depends on {d}, which is not an earlier action of the plan",
                    a.seq
                ));
            }
        }
        if a.op.is_create() && a.body.is_none() {
            return Err(format!("action {} ({}) has no body", a.seq, a.op));
        }
    }
    Ok(())
}

/// `sha256:` of a snapshot's `manifest.json` bytes: the digest a plan records for each input
/// (the manifest holds every data file's sha256, so it binds the whole snapshot).
pub fn manifest_digest(dir: &Path) -> Result<String, PlanDirError> {
    let path = dir.join("manifest.json");
    let bytes = fs::read(&path).map_err(io(&path))?;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))))
}
