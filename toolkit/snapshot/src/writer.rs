//! Atomic snapshot writing: everything goes to a hidden temporary directory beside the
//! target, each file is fsync'd, the manifest is written last, and one rename publishes the
//! whole snapshot. A crash at any point leaves no directory at the target.

use crate::error::SnapshotError;
use crate::kinds::KindSpec;
use crate::records::{Record, Table};
use arrow_array::{ArrayRef, RecordBatch};
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
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

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

/// The file end of a [`TableWriter`]: a thread that appends each encoded row group to the
/// file (through the sha256 of [`HashingWriter`]) while the next row group is built and
/// encoded. Row groups are appended in the order they are handed over, so the bytes do not
/// depend on the scheduling.
struct Appender {
    queue: Option<SyncSender<Vec<ArrowColumnChunk>>>,
    thread: Option<JoinHandle<Result<SerializedFileWriter<HashingWriter>, ParquetError>>>,
}

impl Appender {
    fn start(mut file: SerializedFileWriter<HashingWriter>) -> Appender {
        // One row group waiting beside the one being appended: enough to keep the encoder
        // busy, and bounded memory (a row group's encoded chunks are tens of MB at most).
        let (queue, row_groups) = sync_channel::<Vec<ArrowColumnChunk>>(1);
        let thread = std::thread::spawn(move || {
            for chunks in row_groups {
                let mut row_group = file.next_row_group()?;
                for chunk in chunks {
                    chunk.append_to_row_group(&mut row_group)?;
                }
                row_group.close()?;
            }
            Ok(file)
        });
        Appender {
            queue: Some(queue),
            thread: Some(thread),
        }
    }

    /// Queues a row group's column chunks, in column order. An error is the appending
    /// thread's, if it has stopped.
    fn append(&mut self, chunks: Vec<ArrowColumnChunk>) -> Result<(), String> {
        let sent = match &self.queue {
            Some(queue) => queue.send(chunks).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            // The thread stopped early: its error says why.
            match self.finish() {
                Err(message) => Err(message),
                Ok(_) => Err("the file was already finished".into()),
            }
        }
    }

    /// Waits until every queued row group is in the file and hands the file back.
    fn finish(&mut self) -> Result<SerializedFileWriter<HashingWriter>, String> {
        self.queue = None;
        match self.thread.take() {
            Some(thread) => match thread.join() {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(panic) => std::panic::resume_unwind(panic),
            },
            None => Err("the file was already finished".into()),
        }
    }
}

impl Drop for Appender {
    /// An abandoned writer still waits for its thread, so the file is closed before the
    /// staging directory is removed (Windows refuses to delete open files).
    fn drop(&mut self) {
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One Parquet file being written. Rows are buffered into row groups of about
/// [`ROW_GROUP_ROWS`]; each row group's columns are built and encoded on all cores (one
/// task per column), then handed to the [`Appender`] in column order.
struct TableWriter {
    path: PathBuf,
    table: Table,
    schema: SchemaRef,
    appender: Appender,
    factory: ArrowRowGroupWriterFactory,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    row_groups: usize,
    rows: u64,
}

/// Columns whose values are (nearly) all distinct: keys, identifiers, DNs, login names and
/// addresses, change numbers and times, binary GUIDs, `raw`. A dictionary there only costs
/// time until the encoder gives up on it, so these are written plain from the start.
const DISTINCT_COLUMNS: &[&str] = &[
    // ad
    "object_guid",
    "object_guid_bin",
    "object_sid",
    "dn",
    "sam_account_name",
    "user_principal_name",
    "mail",
    "consistency_guid",
    "consistency_guid_bin",
    "when_created",
    "when_changed",
    "usn_changed",
    // iid and m365
    "id",
    "user_name",
    "external_id",
    "downstream_id",
    "email",
    "emails",
    "meta_created",
    "meta_last_modified",
    "meta_version",
    "immutable_id",
    "created",
    "deleted_at",
    // memberships
    "member_key",
    "member_ref",
    // every table
    "raw",
];

/// pyarrow's encoder settings (a dictionary per column chunk, falling back to plain when it
/// passes 1 MiB; data pages of 1 MiB; Snappy), except that columns of distinct values are
/// written plain from the start and statistics are kept per column chunk, not per page, and
/// not at all for `raw`: min/max over long strings cost time and help no reader.
fn properties() -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_column_statistics_enabled(ColumnPath::from("raw"), EnabledStatistics::None);
    for col in DISTINCT_COLUMNS {
        b = b.set_column_dictionary_enabled(ColumnPath::from(*col), false);
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
            appender: Appender::start(file),
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
            if self.pending.is_empty() && chunk.len() == ROW_GROUP_ROWS {
                // A whole row group at once (the usual case when a table is written in one
                // call): each column is built by the task that encodes it and dropped as
                // soon as it is encoded, so only the columns in flight are in memory. The
                // row group is the one the batch path below would have made.
                self.encode_row_group(|index| R::build_column(chunk, index).map(|a| vec![a]))?;
                continue;
            }
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

    /// Encodes the buffered batches as one row group.
    fn flush_row_group(&mut self) -> Result<(), SnapshotError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        self.encode_row_group(|index| {
            pending
                .iter()
                .map(|batch| batch.columns().get(index).cloned())
                .collect()
        })
    }

    /// Encodes one row group, one task per column chunk, and hands it to the appender.
    /// `column(index)` gives the arrays of the column at `index` (schema order), in row order.
    fn encode_row_group(
        &mut self,
        column: impl Fn(usize) -> Option<Vec<ArrayRef>> + Sync,
    ) -> Result<(), SnapshotError> {
        let writers = self
            .factory
            .create_column_writers(self.row_groups)
            .map_err(|e| self.encode_error(e.to_string()))?;
        let fields = self.schema.fields();
        if writers.len() != fields.len() {
            return Err(self.encode_error(format!(
                "{} column writers for {} fields",
                writers.len(),
                fields.len()
            )));
        }
        // `raw`, the longest column to encode, is the last of every table: starting from the
        // end keeps it from running alone after the others are done.
        let columns: Vec<(usize, ArrowColumnWriter)> =
            writers.into_iter().enumerate().rev().collect();
        let encoded: Result<Vec<(usize, ArrowColumnChunk)>, String> = columns
            .into_par_iter()
            .map(|(index, mut writer)| {
                let field = fields
                    .get(index)
                    .ok_or_else(|| format!("no field for column {index}"))?;
                let arrays = column(index).ok_or_else(|| format!("no data for column {index}"))?;
                for array in &arrays {
                    for leaf in compute_leaves(field, array).map_err(|e| e.to_string())? {
                        writer.write(&leaf).map_err(|e| e.to_string())?;
                    }
                }
                drop(arrays);
                Ok((index, writer.close().map_err(|e| e.to_string())?))
            })
            .collect();
        let mut chunks = encoded.map_err(|message| self.encode_error(message))?;
        // The file holds them in schema order, whichever thread finished first.
        chunks.sort_by_key(|(index, _)| *index);
        let chunks = chunks.into_iter().map(|(_, chunk)| chunk).collect();
        let appended = self.appender.append(chunks);
        appended.map_err(|message| self.encode_error(message))?;
        self.row_groups += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<FileEntry, SnapshotError> {
        self.flush_row_group()?;
        let path = self.path.clone();
        let file = self
            .appender
            .finish()
            .map_err(|message| self.encode_error(message))?;
        let sink = file.into_inner().map_err(|e| SnapshotError::Encode {
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
