//! Pending deletion from the sources there are, read for the engine (docs/pending-deletion.md;
//! the rule itself is `dirsnap_reconcile::pending`): earlier IID snapshots (`--history`, a
//! snapshot or a folder of them, and `--previous-iid`) and the console's pending-deletion list
//! (`--pending-list`). The users they show pending are appended to the live users the loader
//! owns (the live rows are never copied), with their memberships, and the evidence goes to
//! the engine beside them.

use super::snapshot::{self, Read};
use super::{IidRows, Recorded};
use crate::error::AppError;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use dirsnap_config::DsConfig;
use dirsnap_model::SnapshotKind;
use dirsnap_reconcile::MemberEdge;
use dirsnap_reconcile::pending::{
    ConsoleList, ConsoleRow, DismissedPending, PendingEvidence, Presumption,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What the pending-deletion sources added, and where they came from.
#[derive(Debug, Default)]
pub struct Pending {
    /// One per row appended to the live users (those rows are the last `evidence.len()`).
    pub evidence: Vec<PendingEvidence>,
    pub dismissed: Vec<DismissedPending>,
    /// The memberships appended with them (also in the live edges), for seeding a mock.
    pub edges: Vec<MemberEdge>,
    /// The history snapshots read (`--history`), as the plan records them.
    pub history: Vec<Recorded>,
    /// The console's list, as the plan records it.
    pub list: Option<Recorded>,
}

/// Why a pending-deletion list cannot be read. Every message names the file, and where the
/// fault is, its line and column (1-based; the header is line 1).
#[derive(Debug, thiserror::Error)]
pub enum PendingListError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {source}")]
    Csv {
        path: PathBuf,
        line: u64,
        column: usize,
        #[source]
        source: csv::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: u64,
        column: usize,
        message: String,
    },
}

/// The columns of the list, in the order they are documented.
pub const COLUMNS: [&str; 4] = ["userName", "externalId", "id", "deleted_at"];

/// The `sha256:` digest of a file's bytes, as the plan records a list.
pub(crate) fn file_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// JST's offset: IIJ ID Console shows times in JST (assumption PD5).
const JST_SECONDS: i32 = 9 * 3600;

/// `deleted_at`: RFC 3339, or a date and time as the console shows them (`2026-11-20
/// 10:00[:00]`, `2026/11/20 10:00`, or a date alone), read as JST when no offset is given.
fn parse_deleted_at(s: &str) -> Result<DateTime<Utc>, String> {
    let Some(jst) = FixedOffset::east_opt(JST_SECONDS) else {
        return Err("JST is not a valid offset".into());
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return jst
                .from_local_datetime(&t)
                .single()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| format!("{s:?} is not a valid time"));
        }
    }
    for format in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, format)
            && let Some(t) = d.and_hms_opt(0, 0, 0)
            && let Some(t) = jst.from_local_datetime(&t).single()
        {
            return Ok(t.with_timezone(&Utc));
        }
    }
    Err(format!(
        "{s:?} is not a time: expected RFC 3339 (2026-11-20T10:00:00+09:00), `2026-11-20 10:00[:00]`, `2026/11/20 10:00[:00]` or a date (JST when no offset is given), or an empty cell"
    ))
}

/// Reads the console's pending-deletion list (docs/pending-deletion.md): UTF-8 CSV (a
/// byte-order mark is ignored), a header naming the columns `userName,externalId,id,
/// deleted_at` in any order, one user per row; `externalId`, `id` and `deleted_at` may be
/// empty. Returns the rows and the file's digest.
pub fn read_pending_list(path: &Path) -> Result<(Vec<ConsoleRow>, String), PendingListError> {
    let bytes = std::fs::read(path).map_err(|source| PendingListError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let digest = file_digest(&bytes);
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    Ok((parse_pending_list(path, text)?, digest))
}

fn invalid(path: &Path, line: u64, column: usize, message: String) -> PendingListError {
    PendingListError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

fn parse_pending_list(path: &Path, text: &[u8]) -> Result<Vec<ConsoleRow>, PendingListError> {
    // The line a record starts on, counted from its byte offset: with CRLF line ends (a file
    // saved on Windows) the reader puts a record at the previous line's `\n` and counts it
    // on that line.
    let line_at = |pos: Option<&csv::Position>| -> u64 {
        let mut byte = pos.map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        while matches!(text.get(byte), Some(b'\r' | b'\n')) {
            byte += 1;
        }
        let before = text.get(..byte.min(text.len())).unwrap_or_default();
        1 + before.iter().filter(|&&b| b == b'\n').count() as u64
    };
    let csv_error = |source: csv::Error, columns: usize| {
        let (line, column) = match source.kind() {
            csv::ErrorKind::UnequalLengths { pos, len, .. } => {
                (line_at(pos.as_ref()), (*len as usize).min(columns) + 1)
            }
            csv::ErrorKind::Utf8 { pos, err } => (line_at(pos.as_ref()), err.field() + 1),
            _ => (line_at(source.position()), 1),
        };
        PendingListError::Csv {
            path: path.to_path_buf(),
            line,
            column,
            source,
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text);
    let header = reader.headers().map_err(|e| csv_error(e, 0))?.clone();
    if header.is_empty() || header.iter().all(str::is_empty) {
        return Err(invalid(
            path,
            1,
            1,
            format!(
                "the file is empty: its first line must be the header {}",
                COLUMNS.join(",")
            ),
        ));
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        if !COLUMNS.contains(&name) {
            let hint = COLUMNS
                .iter()
                .find(|c| c.eq_ignore_ascii_case(name))
                .map(|c| format!(" (did you mean {c}?)"))
                .unwrap_or_default();
            return Err(invalid(
                path,
                1,
                i + 1,
                format!(
                    "unknown column {name:?}{hint}: the header must name the columns {}",
                    COLUMNS.join(",")
                ),
            ));
        }
        if index.insert(name.to_string(), i).is_some() {
            return Err(invalid(
                path,
                1,
                i + 1,
                format!("the column {name} is named twice"),
            ));
        }
    }
    for c in COLUMNS {
        if !index.contains_key(c) {
            return Err(invalid(
                path,
                1,
                header.len() + 1,
                format!(
                    "the header has no column {c}: it must name {} (values may be empty except userName)",
                    COLUMNS.join(",")
                ),
            ));
        }
    }
    let col = |c: &str| index.get(c).copied().unwrap_or(0);
    let mut rows: Vec<ConsoleRow> = Vec::new();
    let mut seen_names: HashMap<String, u64> = HashMap::new();
    let mut seen_ids: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(e, header.len()))?;
        let line = line_at(record.position());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let cell = |c: &str| record.get(col(c)).map(str::trim).unwrap_or_default();
        let user_name = cell("userName");
        if user_name.is_empty() {
            return Err(invalid(
                path,
                line,
                col("userName") + 1,
                "userName is empty: every row names the login ID of a user pending deletion".into(),
            ));
        }
        if let Some(first) = seen_names.insert(user_name.to_lowercase(), line) {
            return Err(invalid(
                path,
                line,
                col("userName") + 1,
                format!("{user_name} is listed twice (first on line {first})"),
            ));
        }
        let id = cell("id");
        if !id.is_empty()
            && let Some(first) = seen_ids.insert(id.to_string(), line)
        {
            return Err(invalid(
                path,
                line,
                col("id") + 1,
                format!("the id {id} is listed twice (first on line {first})"),
            ));
        }
        let deleted_at = match cell("deleted_at") {
            "" => None,
            s => Some(
                parse_deleted_at(s)
                    .map_err(|message| invalid(path, line, col("deleted_at") + 1, message))?,
            ),
        };
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        rows.push(ConsoleRow {
            line: usize::try_from(line).unwrap_or(usize::MAX),
            user_name: user_name.to_string(),
            external_id: non_empty(cell("externalId")),
            id: non_empty(id),
            deleted_at,
        });
    }
    Ok(rows)
}

/// The snapshots `--history` names: a snapshot directory is one; a folder holding snapshot
/// directories is each IID snapshot in it taken before the live one (`live_taken_at`) —
/// sorted by name; other kinds and later snapshots (the live one itself, when the folder is
/// where every export goes) are left out, said in the log — and must hold at least one.
pub(crate) fn history_snapshots(
    given: &[PathBuf],
    live_taken_at: Option<DateTime<Utc>>,
) -> Result<Vec<PathBuf>, AppError> {
    let mut out = Vec::new();
    for p in given {
        if p.join("manifest.json").exists() || !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let entries = std::fs::read_dir(p).map_err(|source| AppError::Io {
            path: p.clone(),
            source,
        })?;
        let mut found: Vec<PathBuf> = Vec::new();
        for e in entries {
            let e = e.map_err(|source| AppError::Io {
                path: p.clone(),
                source,
            })?;
            let sub = e.path();
            if !sub.join("manifest.json").exists() {
                continue;
            }
            match dirsnap_snapshot::Snapshot::open(&sub) {
                Ok(s)
                    if s.kind() == SnapshotKind::Iid
                        && live_taken_at.is_some_and(|t| s.manifest().taken_at >= t) =>
                {
                    tracing::info!(
                        "--history {}: {} was not taken before --iid; left out",
                        p.display(),
                        sub.display()
                    );
                }
                Ok(s) if s.kind() == SnapshotKind::Iid => found.push(sub),
                Ok(s) => tracing::info!(
                    "--history {}: {} is a {} snapshot, not an IID one; left out",
                    p.display(),
                    sub.display(),
                    s.kind()
                ),
                Err(e) => return Err(e.into()),
            }
        }
        if found.is_empty() {
            return Err(AppError::HistoryFolderEmpty { path: p.clone() });
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Derives the presumed-pending users from the sources and appends them (rows and
/// memberships) to `live`. `previous_iid` (already read) counts as history; `history` are
/// snapshot directories (expanded already), read one at a time with `raw` when `raw`;
/// `listing_shows_pending`: the tenant lists pending users ([`listing_shows_pending`]).
pub(crate) fn presume(
    live: &mut Read<IidRows>,
    previous_iid: Option<&Read<IidRows>>,
    history: &[(PathBuf, String)],
    list: Option<(&Path, Vec<ConsoleRow>, String)>,
    listing_shows_pending: bool,
    raw: bool,
) -> Result<Pending, AppError> {
    let mut pending = Pending::default();
    if previous_iid.is_none() && history.is_empty() && list.is_none() {
        return Ok(pending);
    }
    let presumed = {
        let live: &Read<IidRows> = live;
        let mut p = Presumption::new(live.rows.view());
        p.listing_shows_pending(listing_shows_pending);
        if let Some(prev) = previous_iid {
            p.add_history(&prev.path.display().to_string(), prev.rows.view());
        }
        for (path, label) in history {
            let read =
                snapshot::read_iid(path, &snapshot::open(path, SnapshotKind::Iid, label)?, raw)?;
            super::consistency::same_tenant(&read, live, label)?;
            p.add_history(&path.display().to_string(), read.rows.view());
            pending.history.push(Recorded {
                path: path.clone(),
                digest: read.digest,
            });
        }
        let file = list.as_ref().map(|(path, _, _)| path.display().to_string());
        let console = match (&list, &file) {
            (Some((_, rows, _)), Some(file)) => Some(ConsoleList { file, rows }),
            _ => None,
        };
        p.finish(console)
    };
    if let Some((path, _, digest)) = list {
        pending.list = Some(Recorded {
            path: path.to_path_buf(),
            digest,
        });
    }
    for user in &presumed.users {
        live.rows.users.push(user)?;
    }
    for e in &presumed.edges {
        live.rows
            .edges
            .push(e.group.clone(), e.member.clone(), e.kind);
    }
    pending.edges = presumed.edges;
    pending.evidence = presumed.evidence;
    pending.dismissed = presumed.dismissed;
    Ok(pending)
}

/// Whether the tenant lists users pending deletion (profile `pending_deletion_listed`, the
/// primary instance's config: the tenant is one). A value that does not parse is the
/// engine's to refuse, with its key; here it counts as unset.
pub(crate) fn listing_shows_pending(config: &DsConfig) -> bool {
    dirsnap_config::profile::ProfileSettings::parse(&config.dirsnap.profile)
        .ok()
        .and_then(|s| s.pending_deletion_listed)
        .unwrap_or(false)
}

/// A history snapshot's taken time must not be after the live one's: a "history" newer than
/// the live listing would presume pending every user created since.
pub(crate) fn check_history_order(
    history: &[PathBuf],
    live_taken_at: Option<DateTime<Utc>>,
    live: &Path,
) -> Result<(), AppError> {
    let Some(live_at) = live_taken_at else {
        return Ok(());
    };
    for p in history {
        let snap = snapshot::open(p, SnapshotKind::Iid, "--history")?;
        let at = snap.manifest().taken_at;
        if at > live_at {
            return Err(AppError::InputsDisagree {
                message: format!(
                    "--history {} was taken at {}, after --iid {} ({}): history must be older than the live listing — are the two swapped?",
                    p.display(),
                    at.to_rfc3339(),
                    live.display(),
                    live_at.to_rfc3339()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn parse(text: &str) -> Result<Vec<ConsoleRow>, PendingListError> {
        parse_pending_list(Path::new("list.csv"), text.as_bytes())
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn lines_are_counted_with_crlf_line_ends_and_blank_lines() {
        let rows = parse("userName,externalId,id,deleted_at\r\na@x,,,\r\n\r\nb@x,,,\r\n").unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 4]);
        assert!(
            error("userName,externalId,id,deleted_at\r\na@x,,,\r\n,x,,\r\n")
                .starts_with("list.csv:3:1:")
        );
    }

    #[test]
    fn rows_are_read_by_header_name_with_empty_cells_allowed() {
        let rows = parse(
            "id,userName,deleted_at,externalId\n\
             u-1,taro@example.co.jp,2026-11-20 10:00,taro@example.co.jp\n\
             ,hanako@example.co.jp,,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].id.as_deref(), Some("u-1"));
        assert_eq!(
            rows[0].deleted_at,
            Some(
                DateTime::parse_from_rfc3339("2026-11-20T01:00:00Z")
                    .unwrap()
                    .to_utc()
            )
        );
        assert_eq!(rows[1].user_name, "hanako@example.co.jp");
        assert_eq!(rows[1].id, None);
        assert_eq!(rows[1].external_id, None);
        assert_eq!(rows[1].deleted_at, None);
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        assert!(
            error("userName,externalId,id\n")
                .starts_with("list.csv:1:4: the header has no column deleted_at"),
            "{}",
            error("userName,externalId,id\n")
        );
        assert!(
            error("username,externalId,id,deleted_at\n")
                .starts_with("list.csv:1:1: unknown column \"username\" (did you mean userName?)")
        );
        assert!(
            error("userName,externalId,id,deleted_at\na@x,,,\n,b,,\n")
                .starts_with("list.csv:3:1: userName is empty")
        );
        assert!(
            error("userName,externalId,id,deleted_at\na@x,,,yesterday\n")
                .starts_with("list.csv:2:4: \"yesterday\" is not a time")
        );
        assert!(
            error("userName,externalId,id,deleted_at\na@x,,\n").starts_with("list.csv:2:4:"),
            "{}",
            error("userName,externalId,id,deleted_at\na@x,,\n")
        );
        assert!(
            error("userName,externalId,id,deleted_at\na@x,,,\nA@X,,,\n")
                .starts_with("list.csv:3:1: A@X is listed twice (first on line 2)")
        );
        assert!(error("").starts_with("list.csv:1:1: the file is empty"));
    }
}
