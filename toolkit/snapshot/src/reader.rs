//! Snapshot reading: the manifest is checked first (schema_version, kind, file list), then
//! each data file is read once into memory, its sha256 compared with the manifest, and only
//! then decoded. A modified file is refused before a single row is trusted.

use crate::columns::ColumnError;
use crate::error::SnapshotError;
use crate::kinds::{Ad, Iid, KindSpec, M365};
use crate::records::{Record, Table, Tabular};
use arrow_array::RecordBatch;
use bytes::Bytes;
use dirsnap_model::{Manifest, Membership, SCHEMA_VERSION, SnapshotKind};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const BATCH_ROWS: usize = 16 * 1024;

/// What to decode.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Leave the `raw` column undecoded (empty strings): the engine rarely needs it and it is
    /// most of a snapshot's bytes. Its pages are then neither decompressed nor decoded (the
    /// file's checksum still covers them).
    pub skip_raw: bool,
    /// Further columns to leave undecoded (default values in the rows), e.g. AD attributes
    /// the config maps nowhere. Like `raw`, their pages are neither read nor decoded.
    pub skip_columns: Vec<&'static str>,
}

impl ReadOptions {
    /// Everything but `raw` (most of a snapshot's bytes).
    pub fn without_raw() -> ReadOptions {
        ReadOptions {
            skip_raw: true,
            skip_columns: Vec::new(),
        }
    }
}

/// An opened, manifest-checked snapshot directory.
#[derive(Debug, Clone)]
pub struct Snapshot {
    dir: PathBuf,
    manifest: Manifest,
}

/// All rows of a snapshot of kind `K`.
#[derive(Debug)]
pub struct Tables<K: KindSpec> {
    pub manifest: Manifest,
    pub users: Vec<K::User>,
    pub groups: Vec<K::Group>,
    pub memberships: Vec<Membership>,
}

/// A snapshot of any kind, for commands that accept all of them.
#[derive(Debug)]
pub enum AnySnapshot {
    Ad(Tables<Ad>),
    Iid(Tables<Iid>),
    M365(Tables<M365>),
}

impl AnySnapshot {
    pub fn manifest(&self) -> &Manifest {
        match self {
            AnySnapshot::Ad(t) => &t.manifest,
            AnySnapshot::Iid(t) => &t.manifest,
            AnySnapshot::M365(t) => &t.manifest,
        }
    }
}

/// Reads `manifest.json` as untyped JSON (for commands that accept snapshots and plans).
pub fn read_manifest_json(dir: &Path) -> Result<serde_json::Value, SnapshotError> {
    let path = dir.join("manifest.json");
    if !dir.is_dir() {
        return Err(SnapshotError::MissingManifest {
            path: dir.to_path_buf(),
        });
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SnapshotError::MissingManifest {
                path: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(SnapshotError::io(&path, e)),
    };
    serde_json::from_str(&text).map_err(|e| SnapshotError::BadManifest {
        path: path.clone(),
        message: e.to_string(),
    })
}

impl Snapshot {
    /// Opens a snapshot directory and validates its manifest (not yet the data files).
    pub fn open(dir: impl AsRef<Path>) -> Result<Snapshot, SnapshotError> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join("manifest.json");
        let value = read_manifest_json(&dir)?;
        let bad = |message: String| SnapshotError::BadManifest {
            path: path.clone(),
            message,
        };
        let version = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| bad("schema_version is missing or not a number".into()))?;
        if version != u64::from(SCHEMA_VERSION) {
            return Err(SnapshotError::SchemaVersion {
                path,
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        match value.get("kind").and_then(serde_json::Value::as_str) {
            Some("ad" | "iid" | "m365") => {}
            Some("plan") => {
                return Err(bad(
                    "this is a plan, not a snapshot (use `dirsnap inspect` or `dirsnap plan show`)"
                        .into(),
                ));
            }
            Some(other) => return Err(bad(format!("kind {other:?} is not one of ad, iid, m365"))),
            None => return Err(bad("kind is missing".into())),
        }
        let manifest: Manifest = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        for table in Table::ALL {
            let name = table.file_name();
            if !manifest.files.contains_key(name) {
                return Err(bad(format!("files has no entry for {name}")));
            }
            let file = dir.join(name);
            if !file.is_file() {
                return Err(SnapshotError::MissingFile { path: file });
            }
        }
        Ok(Snapshot { dir, manifest })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn kind(&self) -> SnapshotKind {
        self.manifest.kind
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn expected_sha256(&self, table: Table) -> String {
        self.manifest
            .files
            .get(table.file_name())
            .map(|f| f.sha256.to_ascii_lowercase())
            .unwrap_or_default()
    }

    fn read_bytes(&self, table: Table) -> Result<Bytes, SnapshotError> {
        let path = self.dir.join(table.file_name());
        std::fs::read(&path)
            .map(Bytes::from)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => SnapshotError::MissingFile { path: path.clone() },
                _ => SnapshotError::io(&path, e),
            })
    }

    fn check_sha256(&self, table: Table, actual: String) -> Result<(), SnapshotError> {
        let expected = self.expected_sha256(table);
        if actual == expected {
            Ok(())
        } else {
            Err(SnapshotError::Checksum {
                path: self.dir.join(table.file_name()),
                expected,
                actual,
            })
        }
    }

    /// Checks every data file's checksum without decoding.
    pub fn verify(&self) -> Result<(), SnapshotError> {
        for table in Table::ALL {
            let bytes = self.read_bytes(table)?;
            self.check_sha256(table, hex::encode(Sha256::digest(&bytes)))?;
        }
        Ok(())
    }

    /// Reads one table's rows. Only the column chunks the row type decodes are read (in
    /// place, positionally, on all cores); meanwhile the whole file is streamed through
    /// sha256, and no row is returned unless the digest matches manifest.json.
    pub fn read_table<R: Record>(
        &self,
        table: Table,
        options: &ReadOptions,
    ) -> Result<Vec<R>, SnapshotError> {
        let prepared = self.prepare::<R>(table, options)?;
        let total: usize = prepared.plans.iter().map(|(_, n)| n).sum();
        // The rows start as defaults, written on all cores: at a million users that is
        // half a GB of fresh memory, too much for one thread to touch before decoding starts.
        let mut rows: Vec<R> = Vec::new();
        (0..total)
            .into_par_iter()
            .map(|_| R::default())
            .collect_into_vec(&mut rows);
        let mut slices = Vec::new();
        let mut rest: &mut [R] = &mut rows;
        for (_, n) in &prepared.plans {
            let (head, tail) = rest.split_at_mut((*n).min(rest.len()));
            slices.push(std::sync::Mutex::new(head));
            rest = tail;
        }
        let skip = prepared.skip.clone();
        self.run(&prepared, |i, reader| {
            let mut slot = slices
                .get(i)
                .ok_or_else(|| "no slice for a decoding task".to_string())?
                .lock()
                .map_err(|_| "a decoding task failed".to_string())?;
            let slice: &mut [R] = &mut slot;
            let mut at = 0usize;
            for batch in reader {
                let batch = batch.map_err(|e| e.to_string())?;
                let n = batch.num_rows();
                let target = slice
                    .get_mut(at..at + n)
                    .ok_or_else(|| "more rows than the file's metadata says".to_string())?;
                R::fill_from_batch(&batch, target, &skip).map_err(|e| e.to_string())?;
                at += n;
            }
            if at == slice.len() {
                Ok(())
            } else {
                Err(format!("decoded {at} rows, expected {}", slice.len()))
            }
        })?;
        drop(slices);
        Ok(rows)
    }

    /// Reads the users table as the engine holds it ([`Tabular`]): each row group is decoded
    /// on the pool as one batch of rows (up to a table chunk's rows) and copied into a part
    /// whose buffers are sized exactly from it; the parts are joined in file order (their
    /// chunks moved, not copied). No row keeps a heap block per cell; checksum as
    /// [`Snapshot::read_table`].
    pub fn read_user_table<R: Tabular>(
        &self,
        options: &ReadOptions,
    ) -> Result<R::Columns, SnapshotError> {
        let mut prepared = self.prepare::<R>(Table::Users, options)?;
        // A row group is decoded as one batch (up to a table chunk's rows), so each of the
        // part's buffers is allocated once at its exact size.
        let largest_group = prepared.plans.iter().map(|(_, rows)| *rows).max();
        prepared.batch_rows = largest_group
            .unwrap_or(BATCH_ROWS)
            .clamp(1, dirsnap_model::table::CHUNK_ROWS);
        let total: usize = prepared.plans.iter().map(|(_, rows)| rows).sum();
        let skip = prepared.skip.clone();
        let parts = self.run(&prepared, |_, reader| {
            let mut part = R::Columns::default();
            let mut batch_rows: Vec<R> = Vec::new();
            for batch in reader {
                let batch = batch.map_err(|e| e.to_string())?;
                batch_rows.resize_with(batch.num_rows(), R::default);
                R::fill_from_batch(&batch, &mut batch_rows, &skip).map_err(|e| e.to_string())?;
                R::reserve_for(&mut part, &batch_rows);
                for row in &batch_rows {
                    R::push(&mut part, row).map_err(|e| e.to_string())?;
                }
            }
            Ok(part)
        })?;
        let mut table = R::Columns::default();
        R::reserve_rows(&mut table, total);
        for part in parts {
            R::append(&mut table, part).map_err(|e| SnapshotError::BadData {
                path: prepared.path.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(table)
    }

    /// Decodes one table's record batches into one accumulator per row group (returned in row
    /// order), for readers that want another shape than one `R` per row. `R` names the
    /// columns to decode and checks the file's schema; checksum as [`Snapshot::read_table`].
    pub fn fold_table<R: Record, A: Send>(
        &self,
        table: Table,
        options: &ReadOptions,
        init: impl Fn(usize) -> A + Sync,
        fold: impl Fn(&mut A, &RecordBatch) -> Result<(), ColumnError> + Sync,
    ) -> Result<Vec<A>, SnapshotError> {
        let prepared = self.prepare::<R>(table, options)?;
        self.run(&prepared, |i, reader| {
            let rows = prepared.plans.get(i).map_or(0, |(_, n)| *n);
            let mut acc = init(rows);
            for batch in reader {
                let batch = batch.map_err(|e| e.to_string())?;
                fold(&mut acc, &batch).map_err(|e| e.to_string())?;
            }
            Ok(acc)
        })
    }

    /// Opens a table's file and plans its decoding: metadata, projection, row groups per
    /// task.
    fn prepare<R: Record>(
        &self,
        table: Table,
        options: &ReadOptions,
    ) -> Result<Prepared, SnapshotError> {
        let path = self.dir.join(table.file_name());
        let bad = |message: String| SnapshotError::BadData {
            path: path.clone(),
            message,
        };
        let file = std::fs::File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SnapshotError::MissingFile { path: path.clone() },
            _ => SnapshotError::io(&path, e),
        })?;
        let len = file
            .metadata()
            .map_err(|e| SnapshotError::io(&path, e))?
            .len();
        let source = Positional {
            file: Arc::new(file),
            len,
        };
        let expected_rows = self
            .manifest
            .files
            .get(table.file_name())
            .map(|f| f.rows)
            .unwrap_or(0);
        let mut skip: Vec<&'static str> = options.skip_columns.clone();
        if options.skip_raw {
            skip.push("raw");
        }
        // A damaged file fails here or in decoding; either way the checksum is computed
        // first so the message says what is wrong.
        let plan = (|| -> Result<_, String> {
            let metadata = ArrowReaderMetadata::load(&source, ArrowReaderOptions::default())
                .map_err(|e| e.to_string())?;
            let groups: Vec<usize> = metadata
                .metadata()
                .row_groups()
                .iter()
                .map(|g| usize::try_from(g.num_rows()).unwrap_or(0))
                .collect();
            let total: usize = groups.iter().sum();
            // Never size an allocation from file metadata the manifest does not vouch for.
            if total as u64 != expected_rows {
                return Err(format!(
                    "has {total} rows, manifest.json records {expected_rows}"
                ));
            }
            let projection = projection::<R>(&metadata, &skip)?;
            Ok((metadata, projection, row_group_plans(&groups)))
        })();
        match plan {
            Ok((metadata, projection, plans)) => Ok(Prepared {
                table,
                path,
                source,
                metadata: Some(metadata),
                projection: Some(projection),
                plans,
                skip,
                batch_rows: BATCH_ROWS,
            }),
            Err(message) => {
                self.check_sha256(table, hash_file(&source, &path)?)?;
                Err(bad(message))
            }
        }
    }

    /// Hashes the whole file on one thread while `decode_part` decodes each part's row
    /// groups on the pool; results in row order, only when the digest matches.
    fn run<T: Send>(
        &self,
        p: &Prepared,
        decode_part: impl Fn(usize, ParquetRecordBatchReader) -> Result<T, String> + Sync,
    ) -> Result<Vec<T>, SnapshotError> {
        let (Some(metadata), Some(projection)) = (&p.metadata, &p.projection) else {
            return Err(SnapshotError::BadData {
                path: p.path.clone(),
                message: "not prepared".into(),
            });
        };
        let decode_part = &decode_part;
        let (digest, results) = std::thread::scope(|scope| {
            // The checksum streams on a thread of its own (it waits on reads, which a pool
            // thread should not), the row groups are decoded on the pool meanwhile.
            let hasher = scope.spawn(|| hash_file(&p.source, &p.path));
            let results: Vec<Result<T, String>> = p
                .plans
                .par_iter()
                .enumerate()
                .map(|(i, (row_groups, _))| {
                    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                        p.source.clone(),
                        metadata.clone(),
                    )
                    .with_projection(projection.clone())
                    .with_row_groups(row_groups.clone())
                    .with_batch_size(p.batch_rows)
                    .build()
                    .map_err(|e| e.to_string())?;
                    decode_part(i, reader)
                })
                .collect();
            (
                hasher
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                results,
            )
        });
        // A checksum failure explains any decoding failure, so it is reported first.
        self.check_sha256(p.table, digest?)?;
        results
            .into_iter()
            .map(|r| {
                r.map_err(|message| SnapshotError::BadData {
                    path: p.path.clone(),
                    message,
                })
            })
            .collect()
    }

    /// Reads every table of a snapshot of kind `K`.
    pub fn read<K: KindSpec>(&self, options: &ReadOptions) -> Result<Tables<K>, SnapshotError> {
        if self.kind() != K::KIND {
            return Err(SnapshotError::KindMismatch {
                path: self.dir.clone(),
                found: format!(
                    "{} snapshot (kind {})",
                    self.kind().with_article(),
                    self.kind()
                ),
                expected: format!("{} snapshot (kind {})", K::KIND.with_article(), K::KIND),
            });
        }
        // The three files are independent: decode them side by side.
        let (users, groups, memberships) = std::thread::scope(|s| {
            let users = s.spawn(|| self.read_table::<K::User>(Table::Users, options));
            let groups = s.spawn(|| self.read_table::<K::Group>(Table::Groups, options));
            let memberships = self.read_table::<Membership>(Table::Memberships, options);
            (join(users), join(groups), memberships)
        });
        Ok(Tables {
            manifest: self.manifest.clone(),
            users: users?,
            groups: groups?,
            memberships: memberships?,
        })
    }

    /// Reads the snapshot whatever its kind.
    pub fn read_any(&self, options: &ReadOptions) -> Result<AnySnapshot, SnapshotError> {
        Ok(match self.kind() {
            SnapshotKind::Ad => AnySnapshot::Ad(self.read::<Ad>(options)?),
            SnapshotKind::Iid => AnySnapshot::Iid(self.read::<Iid>(options)?),
            SnapshotKind::M365 => AnySnapshot::M365(self.read::<M365>(options)?),
        })
    }
}

fn join<T>(
    handle: std::thread::ScopedJoinHandle<'_, Result<T, SnapshotError>>,
) -> Result<T, SnapshotError> {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// A table file being read: where it is and how.
struct Prepared {
    table: Table,
    path: PathBuf,
    source: Positional,
    metadata: Option<ArrowReaderMetadata>,
    projection: Option<ProjectionMask>,
    /// Row groups per decoding task, with their row counts.
    plans: Vec<(Vec<usize>, usize)>,
    skip: Vec<&'static str>,
    /// Rows per decoded batch.
    batch_rows: usize,
}

/// One decoding task per row group, in file order. The tasks run on all cores (rayon's pool,
/// shared with the other tables and snapshots being read at the same time), and each fills
/// its own part of the output, so the rows come back in file order whatever the scheduling.
fn row_group_plans(groups: &[usize]) -> Vec<(Vec<usize>, usize)> {
    groups
        .iter()
        .enumerate()
        .map(|(index, rows)| (vec![index], *rows))
        .collect()
}

/// The file's sha256 (lowercase hex), streamed through one small buffer. It reads the
/// decoders' own handle, so the bytes hashed are those of the file being decoded even if
/// its path is replaced meanwhile.
fn hash_file(source: &Positional, path: &Path) -> Result<String, SnapshotError> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    while pos < source.len {
        let n = match dirsnap_durable::read_at(&source.file, &mut buf, pos) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SnapshotError::io(path, e)),
        };
        hasher.update(buf.get(..n).unwrap_or_default());
        pos += n as u64;
    }
    Ok(hex::encode(hasher.finalize()))
}

/// A data file read in place with positional reads (`pread`): threads share one handle
/// without a shared file offset, and only the column chunks a projection needs are read.
#[derive(Clone)]
struct Positional {
    file: Arc<std::fs::File>,
    len: u64,
}

impl parquet::file::reader::Length for Positional {
    fn len(&self) -> u64 {
        self.len
    }
}

/// A reader at a position of a [`Positional`] file.
struct PositionalRead {
    file: Arc<std::fs::File>,
    pos: u64,
}

impl std::io::Read for PositionalRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = dirsnap_durable::read_at(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl parquet::file::reader::ChunkReader for Positional {
    type T = std::io::BufReader<PositionalRead>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(std::io::BufReader::new(PositionalRead {
            file: self.file.clone(),
            pos: start,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        if start.saturating_add(length as u64) > self.len {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "a column chunk at {start} (+{length} bytes) is past the end of the file ({} bytes)",
                self.len
            )));
        }
        let mut buf = vec![0u8; length];
        dirsnap_durable::read_exact_at(&self.file, &mut buf, start)?;
        Ok(Bytes::from(buf))
    }
}

/// The columns to decode: those `R` reads, minus `skip`. Every column of `R`'s schema must be
/// in the file with its type (a skipped one may be absent), so a damaged or foreign file is
/// refused the same whether or not a column is decoded.
fn projection<R: Record>(
    metadata: &ArrowReaderMetadata,
    skip: &[&str],
) -> Result<ProjectionMask, String> {
    let file = metadata.schema();
    let schema = R::schema();
    for (column, field) in R::columns().iter().zip(schema.fields()) {
        let name = column.name;
        let error = match file.field_with_name(name) {
            Ok(f) if f.data_type() == field.data_type() => continue,
            Ok(f) => ColumnError::WrongType {
                column: name,
                found: f.data_type().to_string(),
                expected: field.data_type().to_string(),
            },
            Err(_) if skip.contains(&name) => continue,
            Err(_) => ColumnError::Missing {
                column: name,
                expected: field.data_type().to_string(),
            },
        };
        return Err(error.to_string());
    }
    let descr = metadata.metadata().file_metadata().schema_descr();
    let roots = descr
        .root_schema()
        .get_fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !skip.contains(&f.name()) && R::reads_column(f.name()))
        .map(|(i, _)| i);
    Ok(ProjectionMask::roots(descr, roots))
}
