//! Memberships decoded straight into compact [`Edges`] (group key once per run, 18 bytes per
//! member) instead of the model's four-string `Membership` rows: at 5,000,000 memberships
//! that is the difference between ~90 MiB and ~1.5 GiB per snapshot.

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, SchemaRef};
use dirsnap_model::MemberKind;
use dirsnap_reconcile::{Edges, Key, MemberEdge};
use dirsnap_snapshot::{
    ColumnDoc, ColumnError, ReadOptions, Record, Snapshot, SnapshotError, Table,
};

/// One `memberships.parquet` row as an edge. Reading only; never written.
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct EdgeRow(pub MemberEdge);

fn strings<'a>(
    batch: &'a RecordBatch,
    name: &'static str,
) -> Result<&'a arrow_array::StringArray, ColumnError> {
    let col = batch.column_by_name(name).ok_or(ColumnError::Missing {
        column: name,
        expected: DataType::Utf8.to_string(),
    })?;
    if col.data_type() != &DataType::Utf8 {
        return Err(ColumnError::WrongType {
            column: name,
            found: col.data_type().to_string(),
            expected: DataType::Utf8.to_string(),
        });
    }
    Ok(col.as_string::<i32>())
}

impl Record for EdgeRow {
    fn schema() -> SchemaRef {
        <dirsnap_model::Membership as Record>::schema()
    }

    fn columns() -> &'static [ColumnDoc] {
        <dirsnap_model::Membership as Record>::columns()
    }

    /// `member_ref`, `member_display` and `in_scope` (most of the file's bytes) are never
    /// decoded.
    fn reads_column(name: &str) -> bool {
        matches!(name, "group_key" | "member_key" | "member_kind")
    }

    fn to_batch(_rows: &[Self]) -> Result<RecordBatch, ArrowError> {
        Err(ArrowError::NotYetImplemented(
            "membership edges are read-only; write dirsnap_model::Membership rows".into(),
        ))
    }

    fn fill_from_batch(
        batch: &RecordBatch,
        rows: &mut [Self],
        _skip: &[&str],
    ) -> Result<(), ColumnError> {
        let mut i = 0;
        for_each_edge(batch, |e| {
            if let Some(slot) = rows.get_mut(i) {
                *slot = EdgeRow(e);
            }
            i += 1;
        })
    }
}

/// Calls `f` with each row of a memberships batch as an edge.
fn for_each_edge(batch: &RecordBatch, mut f: impl FnMut(MemberEdge)) -> Result<(), ColumnError> {
    let group = strings(batch, "group_key")?;
    let member = strings(batch, "member_key")?;
    let kind = strings(batch, "member_kind")?;
    // Group keys come in runs (one group's members together): parse each run's key once.
    let mut last: Option<(&str, Key)> = None;
    for i in 0..batch.num_rows() {
        if group.is_null(i) {
            return Err(ColumnError::UnexpectedNull {
                column: "group_key",
                row: i,
            });
        }
        let k = if kind.is_null(i) {
            "unknown"
        } else {
            kind.value(i)
        };
        let kind = MemberKind::parse(k).ok_or_else(|| ColumnError::BadValue {
            column: "member_kind",
            row: i,
            message: format!("{k:?} is not one of user, group, unknown"),
        })?;
        let g = group.value(i);
        let group_key = match &last {
            Some((text, key)) if *text == g => key.clone(),
            _ => {
                let key = Key::parse(g);
                last = Some((g, key.clone()));
                key
            }
        };
        f(MemberEdge {
            group: group_key,
            member: (!member.is_null(i)).then(|| Key::parse(member.value(i))),
            kind,
        });
    }
    Ok(())
}

/// Reads a snapshot's memberships as edges (checksum verified like every read).
pub fn read_edges(snap: &Snapshot) -> Result<Edges, SnapshotError> {
    let parts = snap.fold_table::<EdgeRow, Edges>(
        Table::Memberships,
        &ReadOptions::default(),
        Edges::with_capacity,
        |edges, batch| for_each_edge(batch, |e| edges.push(e.group, e.member, e.kind)),
    )?;
    // One part per row group: size the whole list once instead of growing it part by part.
    let mut out = Edges::with_capacity(parts.iter().map(Edges::len).sum());
    for p in parts {
        out.append(p);
    }
    Ok(out)
}
