//! The journal: `PLAN/journal.jsonl`, one JSON record per line, appended and fsync'd before
//! the replayer moves on (records written together share one fsync: group commit), so a crash at any instant leaves at most one torn last line.
//! Replaying it tells which actions are done (never to be sent again), which failed or were
//! skipped (tried again on the next run) and which were attempted with no known outcome (a
//! create among those is looked up before it is re-sent).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The journal's file name inside the plan directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A run began (records the plan digest so a journal never applies to another plan).
    Begin,
    /// A request for `seq` is about to be sent.
    Attempt,
    /// The server applied the action.
    Applied,
    /// The action's effect was already there (found by lookup, or a 404 on a delete).
    AlreadyDone,
    /// The server refused it (4xx other than 401/403) or retries ran out.
    Failed,
    /// Not sent because an action it depends on did not succeed.
    Skipped,
    /// The run stopped early (401/403, delete limit) and can be resumed.
    Stopped,
    /// The run ended.
    End,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub at: chrono::DateTime<chrono::Utc>,
    pub event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// SCIM id of the object acted on or created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The server's SCIM error body, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_error: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

impl Record {
    pub fn new(event: Event) -> Record {
        Record {
            at: chrono::Utc::now(),
            event,
            seq: None,
            op: None,
            id: None,
            status: None,
            message: None,
            scim_error: None,
            plan: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: not a journal record ({message}); the journal is damaged, so nothing was sent"
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{path}: this journal belongs to plan {found}, not to this plan ({expected}); move it away only if you are sure"
    )]
    OtherPlan {
        path: PathBuf,
        found: String,
        expected: String,
    },
}

/// What the journal says about one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionState {
    /// Applied or already done; `id` is the object's SCIM id when known.
    Done { id: Option<String> },
    /// Attempted with no recorded outcome.
    Uncertain,
    /// Failed or skipped last time: to be tried again.
    Retry,
}

/// The journal's contents, folded per action.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub actions: BTreeMap<u32, ActionState>,
    pub runs: usize,
}

impl History {
    pub fn done_id(&self, seq: u32) -> Option<Option<&str>> {
        match self.actions.get(&seq) {
            Some(ActionState::Done { id }) => Some(id.as_deref()),
            _ => None,
        }
    }
}

/// Reads a journal. A last line without its newline is a write torn by a crash and is
/// ignored (the next append truncates it); any other bad line is corruption.
pub fn read(path: &Path, plan_digest: &str) -> Result<(History, u64), JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut h = History::default();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((h, 0)),
        Err(e) => return Err(io(e)),
    };
    let mut reader = BufReader::new(file);
    let mut good: u64 = 0;
    let mut line = String::new();
    let mut n = 0usize;
    loop {
        line.clear();
        let read = reader.read_line(&mut line).map_err(io)?;
        if read == 0 {
            break;
        }
        n += 1;
        if !line.ends_with('\n') {
            break;
        }
        let rec: Record =
            serde_json::from_str(line.trim_end()).map_err(|e| JournalError::Corrupt {
                path: path.to_path_buf(),
                line: n,
                message: e.to_string(),
            })?;
        good += read as u64;
        apply(&mut h, &rec);
        if rec.event == Event::Begin
            && let Some(p) = &rec.plan
            && p != plan_digest
        {
            return Err(JournalError::OtherPlan {
                path: path.to_path_buf(),
                found: p.clone(),
                expected: plan_digest.to_string(),
            });
        }
    }
    Ok((h, good))
}

fn apply(h: &mut History, rec: &Record) {
    let Some(seq) = rec.seq else {
        if rec.event == Event::Begin {
            h.runs += 1;
        }
        return;
    };
    let entry = h.actions.entry(seq).or_insert(ActionState::Retry);
    // Once done, an action stays done whatever a later line says.
    if matches!(entry, ActionState::Done { .. }) {
        return;
    }
    *entry = match rec.event {
        Event::Attempt => ActionState::Uncertain,
        Event::Applied | Event::AlreadyDone => ActionState::Done { id: rec.id.clone() },
        Event::Failed | Event::Skipped => ActionState::Retry,
        _ => return,
    };
}

/// An open journal, appended to with one fsync per record.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens for appending, cutting off a torn last line at `valid_len`.
    pub fn open(path: &Path, valid_len: u64) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > valid_len {
            file.set_len(valid_len).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and waits until it is on disk.
    pub fn append(&mut self, rec: &Record) -> Result<(), JournalError> {
        self.append_all(std::slice::from_ref(rec))
    }

    /// Appends records with one write and one fsync: all of them are on disk when it
    /// returns. A crash mid-way leaves a prefix of them and at most one torn line.
    pub fn append_all(&mut self, recs: &[Record]) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut buf = Vec::with_capacity(recs.len() * 160);
        for rec in recs {
            serde_json::to_writer(&mut buf, rec).map_err(|e| io(std::io::Error::other(e)))?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

type Ack = tokio::sync::oneshot::Sender<Result<(), String>>;

/// Group commit: a writer thread owns the [`Journal`]; records sent to it while it is
/// writing are written together and covered by one fsync. [`GroupJournal::write`] returns
/// only once its record is durable, so the rules "the attempt is on disk before the request
/// leaves" and "the outcome is on disk before a dependent starts" hold as with one fsync per
/// record, at a fraction of the fsyncs when many actions are in flight.
#[derive(Debug)]
pub struct GroupJournal {
    path: PathBuf,
    tx: Mutex<Option<std::sync::mpsc::Sender<(Record, Ack)>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl GroupJournal {
    pub fn new(journal: Journal) -> Result<GroupJournal, JournalError> {
        let path = journal.path.clone();
        let (tx, rx) = std::sync::mpsc::channel::<(Record, Ack)>();
        let writer = std::thread::Builder::new()
            .name("replay-journal".into())
            .spawn(move || group_writer(journal, &rx))
            .map_err(|source| JournalError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(GroupJournal {
            path,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
        })
    }

    fn gone(&self, why: &str) -> JournalError {
        JournalError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(why.to_string()),
        }
    }

    /// Appends `rec`; resolves once it is on disk.
    pub async fn write(&self, rec: Record) -> Result<(), JournalError> {
        let (ack, done) = tokio::sync::oneshot::channel();
        {
            let tx = self
                .tx
                .lock()
                .map_err(|_| self.gone("journal writer poisoned"))?;
            let tx = tx.as_ref().ok_or_else(|| self.gone("journal closed"))?;
            tx.send((rec, ack))
                .map_err(|_| self.gone("journal writer stopped"))?;
        }
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(self.gone(&message)),
            Err(_) => Err(self.gone("journal writer stopped")),
        }
    }

    /// Stops the writer thread after everything sent so far is written.
    pub fn close(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Ok(mut w) = self.writer.lock()
            && let Some(h) = w.take()
        {
            let _ = h.join();
        }
    }
}

impl Drop for GroupJournal {
    fn drop(&mut self) {
        self.close();
    }
}

fn group_writer(mut journal: Journal, rx: &std::sync::mpsc::Receiver<(Record, Ack)>) {
    // After a failed write nothing more is appended: a later record must never be durable
    // when an earlier one (an attempt, say) is not.
    let mut broken: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let (recs, acks): (Vec<Record>, Vec<Ack>) = batch.into_iter().unzip();
        let result = match &broken {
            Some(m) => Err(m.clone()),
            None => journal.append_all(&recs).map_err(|e| e.to_string()),
        };
        if let Err(m) = &result {
            broken = Some(m.clone());
        }
        for ack in acks {
            let _ = ack.send(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rec(event: Event, seq: Option<u32>, id: Option<&str>) -> Record {
        let mut r = Record::new(event);
        r.seq = seq;
        r.id = id.map(str::to_string);
        r
    }

    #[test]
    fn folds_outcomes_and_ignores_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(JOURNAL_FILE);
        let mut j = Journal::open(&p, 0).unwrap();
        let mut b = Record::new(Event::Begin);
        b.plan = Some("sha256:a".into());
        j.append(&b).unwrap();
        j.append(&rec(Event::Attempt, Some(1), None)).unwrap();
        j.append(&rec(Event::Applied, Some(1), Some("u1"))).unwrap();
        j.append(&rec(Event::Attempt, Some(2), None)).unwrap();
        j.append(&rec(Event::Attempt, Some(3), None)).unwrap();
        j.append(&rec(Event::Failed, Some(3), None)).unwrap();
        // A later failure of a done action does not undo it.
        j.append(&rec(Event::Failed, Some(1), None)).unwrap();
        drop(j);
        let full = std::fs::metadata(&p).unwrap().len();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"at\":\"20")
            .unwrap();
        let (h, len) = read(&p, "sha256:a").unwrap();
        assert_eq!(len, full);
        assert_eq!(h.runs, 1);
        assert_eq!(h.done_id(1), Some(Some("u1")));
        assert_eq!(h.actions.get(&2), Some(&ActionState::Uncertain));
        assert_eq!(h.actions.get(&3), Some(&ActionState::Retry));
        // Re-opening cuts the torn line so the next record starts on its own line.
        let mut j = Journal::open(&p, len).unwrap();
        j.append(&rec(Event::Applied, Some(2), Some("u2"))).unwrap();
        let (h, _) = read(&p, "sha256:a").unwrap();
        assert_eq!(h.done_id(2), Some(Some("u2")));
        assert!(matches!(
            read(&p, "sha256:b"),
            Err(JournalError::OtherPlan { .. })
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn group_commit_makes_every_record_durable_before_its_write_returns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(JOURNAL_FILE);
        let j = std::sync::Arc::new(GroupJournal::new(Journal::open(&p, 0).unwrap()).unwrap());
        let mut tasks = tokio::task::JoinSet::new();
        for seq in 1..=200u32 {
            let j = j.clone();
            let p = p.clone();
            tasks.spawn(async move {
                j.write(rec(Event::Attempt, Some(seq), None)).await.unwrap();
                // Once write returns, the record is in the file (whatever else is queued).
                let (h, _) = read(&p, "x").unwrap();
                assert_eq!(h.actions.get(&seq), Some(&ActionState::Uncertain));
                j.write(rec(Event::Applied, Some(seq), Some(&format!("id{seq}"))))
                    .await
                    .unwrap();
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
        j.close();
        let (h, _) = read(&p, "x").unwrap();
        assert_eq!(h.actions.len(), 200);
        for seq in 1..=200u32 {
            assert_eq!(h.done_id(seq), Some(Some(format!("id{seq}").as_str())));
        }
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 400);
        // A write after close is an error, not a silent loss.
        assert!(j.write(rec(Event::End, None, None)).await.is_err());
    }

    #[test]
    fn a_bad_line_in_the_middle_is_corruption_with_its_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(JOURNAL_FILE);
        std::fs::write(&p, "not json\n{}\n").unwrap();
        let e = read(&p, "x").unwrap_err();
        assert!(matches!(e, JournalError::Corrupt { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("journal.jsonl:1"));
    }
}
