//! Atomic snapshot writing: everything goes to a hidden temporary directory beside the
//! target, each file is fsync'd, the manifest is written last, and one rename publishes the
//! whole snapshot. A crash at any point leaves no directory at the target.

use crate::error::SnapshotError;
use crate::kinds::KindSpec;
use crate::records::{Record, Table};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use chrono::{DateTime, Utc};
use dirsnap_durable::StagedDir;
use dirsnap_model::{
    Counts, FileEntry, Filters, Manifest, Membership, SCHEMA_VERSION, Source, ToolInfo,
};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// Rows per Parquet row group: bounded memory while writing, and large enough for fast scans.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// What the exporter knows about the snapshot besides its rows.
#[derive(Debug, Clone, Default)]
pub struct SnapshotMeta {
    pub source: Source,
    pub taken_at: Option<DateTime<Utc>>,
    pub config_digest: Option<String>,
    pub filters: Filters,
    pub config: Option<serde_json::Value>,
    pub notes: Vec<String>,
}

struct HashingWriter {
    inner: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One Parquet file being written. Rows are buffered into row groups of about
/// [`ROW_GROUP_ROWS`]; each row group's columns are encoded on all cores at once (the
/// `raw` column alone is as much work as all the others), then appended in order.
struct TableWriter {
    path: PathBuf,
    table: Table,
    schema: SchemaRef,
    file: SerializedFileWriter<HashingWriter>,
    factory: ArrowRowGroupWriterFactory,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    row_groups: usize,
    rows: u64,
}

fn properties() -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        // Most columns are unique per row (keys, names, DNs, raw JSON): a dictionary attempt
        // there is wasted work. Only columns with few distinct values get one.
        .set_dictionary_enabled(false)
        // Page-level min/max over long strings costs time and buys nothing for our readers.
        .set_statistics_enabled(EnabledStatistics::Chunk);
    for col in [
        "domain",
        "department",
        "title",
        "member_kind",
        "group_key",
        "preferred_language",
        "timezone",
    ] {
        b = b.set_column_dictionary_enabled(ColumnPath::from(col), true);
    }
    b.build()
}

impl TableWriter {
    fn create<R: Record>(dir: &Path, table: Table) -> Result<Self, SnapshotError> {
        let path = dir.join(table.file_name());
        let file = File::create(&path).map_err(|e| SnapshotError::io(&path, e))?;
        let sink = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            bytes: 0,
        };
        let encode = |e: parquet::errors::ParquetError| SnapshotError::Encode {
            path: path.clone(),
            table: table.file_name(),
            message: e.to_string(),
        };
        // ArrowWriter sets up the embedded Arrow schema; we then drive its lower layers.
        let (file, factory) = ArrowWriter::try_new(sink, R::schema(), Some(properties()))
            .and_then(ArrowWriter::into_serialized_writer)
            .map_err(encode)?;
        Ok(TableWriter {
            path: path.clone(),
            table,
            schema: R::schema(),
            file,
            factory,
            pending: Vec::new(),
            pending_rows: 0,
            row_groups: 0,
            rows: 0,
        })
    }

    fn encode_error(&self, message: String) -> SnapshotError {
        SnapshotError::Encode {
            path: self.path.clone(),
            table: self.table.file_name(),
            message,
        }
    }

    fn write<R: Record>(&mut self, rows: &[R]) -> Result<(), SnapshotError> {
        for chunk in rows.chunks(ROW_GROUP_ROWS) {
            let batch = R::to_batch(chunk).map_err(|e| self.encode_error(e.to_string()))?;
            self.pending_rows += batch.num_rows();
            self.pending.push(batch);
            if self.pending_rows >= ROW_GROUP_ROWS {
                self.flush_row_group()?;
            }
        }
        self.rows += rows.len() as u64;
        Ok(())
    }

    fn flush_row_group(&mut self) -> Result<(), SnapshotError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let writers = self
            .factory
            .create_column_writers(self.row_groups)
            .map_err(|e| self.encode_error(e.to_string()))?;
        let fields = self.schema.fields().clone();
        if writers.len() != fields.len() {
            return Err(self.encode_error(format!(
                "{} column writers for {} fields",
                writers.len(),
                fields.len()
            )));
        }
        // Balance the columns over the threads by their in-memory size, largest first.
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, writers.len().max(1));
        let mut sized: Vec<(usize, usize, ArrowColumnWriter)> = writers
            .into_iter()
            .enumerate()
            .map(|(i, w)| {
                let size = self
                    .pending
                    .iter()
                    .map(|b| b.column(i).get_array_memory_size())
                    .sum();
                (i, size, w)
            })
            .collect();
        sized.sort_by_key(|s| std::cmp::Reverse(s.1));
        let mut shares: Vec<(usize, Vec<(usize, ArrowColumnWriter)>)> =
            (0..threads).map(|_| (0, Vec::new())).collect();
        for (i, size, w) in sized {
            if let Some(lightest) = shares.iter_mut().min_by_key(|s| s.0) {
                lightest.0 += size;
                lightest.1.push((i, w));
            }
        }
        let pending = &self.pending;
        let fields = &fields;
        let results: Vec<Result<Vec<(usize, ArrowColumnChunk)>, String>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = shares
                    .into_iter()
                    .map(|(_, share)| {
                        scope.spawn(move || {
                            let mut chunks = Vec::with_capacity(share.len());
                            for (i, mut writer) in share {
                                for batch in pending {
                                    for leaf in compute_leaves(&fields[i], batch.column(i))
                                        .map_err(|e| e.to_string())?
                                    {
                                        writer.write(&leaf).map_err(|e| e.to_string())?;
                                    }
                                }
                                chunks.push((i, writer.close().map_err(|e| e.to_string())?));
                            }
                            Ok(chunks)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
        let mut chunks = Vec::new();
        for r in results {
            chunks.extend(r.map_err(|e| self.encode_error(e))?);
        }
        chunks.sort_by_key(|(i, _)| *i);
        let appended = self.file.next_row_group().and_then(|mut row_group| {
            for (_, chunk) in chunks {
                chunk.append_to_row_group(&mut row_group)?;
            }
            row_group.close()
        });
        appended.map_err(|e| self.encode_error(e.to_string()))?;
        self.row_groups += 1;
        self.pending.clear();
        self.pending_rows = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<FileEntry, SnapshotError> {
        self.flush_row_group()?;
        let path = self.path.clone();
        let sink = self.file.into_inner().map_err(|e| SnapshotError::Encode {
            path: path.clone(),
            table: self.table.file_name(),
            message: e.to_string(),
        })?;
        let HashingWriter {
            inner,
            hasher,
            bytes,
        } = sink;
        let file = inner
            .into_inner()
            .map_err(|e| SnapshotError::io(&path, e.into_error()))?;
        file.sync_all().map_err(|e| SnapshotError::io(&path, e))?;
        Ok(FileEntry {
            sha256: hex::encode(hasher.finalize()),
            bytes,
            rows: self.rows,
        })
    }
}

/// Writes one snapshot of kind `K`. Rows may be written in several calls per table (streamed
/// by an exporter); nothing is visible at the target until [`SnapshotWriter::commit`].
pub struct SnapshotWriter<K: KindSpec> {
    target: PathBuf,
    tmp: PathBuf,
    users: Option<TableWriter>,
    groups: Option<TableWriter>,
    memberships: Option<TableWriter>,
    _kind: PhantomData<K>,
    // Last, so the table files are closed before an abandoned staging directory is removed
    // (Windows refuses to delete open files).
    staged: StagedDir,
}

impl<K: KindSpec> std::fmt::Debug for SnapshotWriter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotWriter")
            .field("kind", &K::KIND)
            .field("target", &self.target)
            .finish()
    }
}

impl<K: KindSpec> SnapshotWriter<K> {
    /// Starts a snapshot that will appear at `target` on commit. Fails if `target` exists.
    pub fn create(target: impl AsRef<Path>) -> Result<Self, SnapshotError> {
        let target = target.as_ref().to_path_buf();
        let staged = StagedDir::create(&target).map_err(SnapshotError::from)?;
        Ok(SnapshotWriter {
            target,
            tmp: staged.path().to_path_buf(),
            users: None,
            groups: None,
            memberships: None,
            _kind: PhantomData,
            staged,
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    pub fn write_users(&mut self, rows: &[K::User]) -> Result<(), SnapshotError> {
        write_table(&self.tmp, &mut self.users, Table::Users, rows)
    }

    pub fn write_groups(&mut self, rows: &[K::Group]) -> Result<(), SnapshotError> {
        write_table(&self.tmp, &mut self.groups, Table::Groups, rows)
    }

    pub fn write_memberships(&mut self, rows: &[Membership]) -> Result<(), SnapshotError> {
        write_table(&self.tmp, &mut self.memberships, Table::Memberships, rows)
    }

    /// Finishes every file, writes manifest.json and publishes the directory atomically.
    pub fn commit(mut self, meta: SnapshotMeta) -> Result<Manifest, SnapshotError> {
        // Tables never written still exist, empty, so readers see a uniform layout.
        write_table::<K::User>(&self.tmp, &mut self.users, Table::Users, &[])?;
        write_table::<K::Group>(&self.tmp, &mut self.groups, Table::Groups, &[])?;
        write_table::<Membership>(&self.tmp, &mut self.memberships, Table::Memberships, &[])?;

        let mut files = BTreeMap::new();
        let mut counts = Counts::default();
        for (table, writer) in [
            (Table::Users, self.users.take()),
            (Table::Groups, self.groups.take()),
            (Table::Memberships, self.memberships.take()),
        ] {
            if let Some(w) = writer {
                let entry = w.finish()?;
                match table {
                    Table::Users => counts.users = entry.rows,
                    Table::Groups => counts.groups = entry.rows,
                    Table::Memberships => counts.memberships = entry.rows,
                }
                files.insert(table.file_name().to_string(), entry);
            }
        }

        let manifest = Manifest {
            schema_version: SCHEMA_VERSION,
            kind: K::KIND,
            source: meta.source,
            taken_at: meta.taken_at.unwrap_or_else(Utc::now),
            tool: ToolInfo {
                name: "dirsnap".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            config_digest: meta.config_digest,
            filters: meta.filters,
            counts,
            files,
            config: meta.config,
            notes: meta.notes,
        };
        let manifest_path = self.tmp.join("manifest.json");
        let mut text =
            serde_json::to_string_pretty(&manifest).map_err(|e| SnapshotError::Encode {
                path: manifest_path.clone(),
                table: "manifest.json",
                message: e.to_string(),
            })?;
        text.push('\n');
        write_synced(&manifest_path, text.as_bytes())?;
        self.staged.publish().map_err(SnapshotError::from)?;
        Ok(manifest)
    }
}

fn write_table<R: Record>(
    dir: &Path,
    slot: &mut Option<TableWriter>,
    table: Table,
    rows: &[R],
) -> Result<(), SnapshotError> {
    if slot.is_none() {
        *slot = Some(TableWriter::create::<R>(dir, table)?);
    }
    match slot {
        Some(w) => w.write(rows),
        None => Ok(()),
    }
}

/// Writes a small file and fsyncs it.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    dirsnap_durable::write_synced(path, bytes).map_err(SnapshotError::from)
}
