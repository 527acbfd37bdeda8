//! Logging, progress and terminal conventions: progress bars only on a terminal and never
//! with --quiet; `RUST_LOG` selects log levels; `NO_COLOR` disables colour. Warnings (every
//! network retry among them) are lines on stderr whether or not it is a terminal; on a
//! terminal the bars step aside for them instead of being torn.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::time::Duration;

/// Every bar and spinner of the process, so that a log line can be printed between them.
pub fn multi() -> &'static MultiProgress {
    static MULTI: OnceLock<MultiProgress> = OnceLock::new();
    MULTI.get_or_init(MultiProgress::new)
}

/// stderr for log lines: the bars on screen are hidden while a line is written, then drawn
/// again below it.
struct AboveTheBars;

impl Write for AboveTheBars {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        multi().suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

pub fn init_logging(quiet: bool) {
    let default = if quiet { "error" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let color = std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| AboveTheBars)
        .with_ansi(color)
        .with_target(false)
        .try_init();
}

/// A spinner for a step of unknown length, shown only on a terminal.
pub fn spinner(quiet: bool, message: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = multi().add(ProgressBar::new_spinner());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        pb.set_style(style);
    }
    pb.set_message(message.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// A workflow's steps as one spinner on a terminal (its message follows the step), and its
/// replays as a bar of actions.
pub struct Steps {
    quiet: bool,
    current: std::sync::Mutex<Option<ProgressBar>>,
}

impl Steps {
    pub fn new(quiet: bool) -> Steps {
        Steps {
            quiet,
            current: std::sync::Mutex::new(None),
        }
    }
}

impl dirsnap_app::Progress for Steps {
    fn step(&self, what: &str) {
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        match current.as_ref() {
            Some(pb) => pb.set_message(what.to_string()),
            None => *current = Some(spinner(self.quiet, what)),
        }
    }

    fn step_done(&self) {
        if let Ok(mut current) = self.current.lock()
            && let Some(pb) = current.take()
        {
            pb.finish_and_clear();
        }
    }

    fn actions(&self, what: &str) -> Box<dyn dirsnap_replay::Progress + '_> {
        Box::new(ActionsBar::new(self.quiet, what))
    }
}

/// Progress of one phase with a known total: a bar on a terminal, a plain log line every few
/// seconds (and at the end) otherwise, nothing with --quiet. Until the total is known (the
/// server has not answered yet, or is being retried) the bar is a spinner saying so: an empty
/// `0/0` bar is drawn full, which looks finished.
pub struct Phase {
    label: String,
    bar: Option<ProgressBar>,
    quiet: bool,
    sized: std::sync::atomic::AtomicBool,
    last_line: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Phase {
    pub fn new(quiet: bool, label: &str) -> Phase {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let pb = multi().add(ProgressBar::new_spinner());
            if let Ok(style) = ProgressStyle::with_template("{prefix:>8} {spinner} {msg}") {
                pb.set_style(style);
            }
            pb.set_prefix(label.to_string());
            pb.set_message("waiting for the first answer…");
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        });
        Phase {
            label: label.to_string(),
            bar,
            quiet,
            sized: false.into(),
            last_line: std::sync::Mutex::new(None),
        }
    }

    pub fn update(&self, done: u64, total: u64) {
        if let Some(b) = &self.bar {
            use std::sync::atomic::Ordering::Relaxed;
            if !self.sized.swap(true, Relaxed) {
                b.disable_steady_tick();
                b.set_message("");
                if let Ok(style) = ProgressStyle::with_template(
                    "{prefix:>8} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})",
                ) {
                    b.set_style(style.progress_chars("=> "));
                }
            }
            b.set_length(total);
            b.set_position(done);
            return;
        }
        if self.quiet {
            return;
        }
        let Ok(mut last) = self.last_line.lock() else {
            return;
        };
        let due = last.is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if due || done >= total {
            eprintln!("{}: {done}/{total}", self.label);
            *last = Some(std::time::Instant::now());
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The progress of a replay: actions finished of the plan's total.
pub struct ActionsBar {
    phase: Phase,
    total: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
}

impl ActionsBar {
    pub fn new(quiet: bool, label: &str) -> ActionsBar {
        ActionsBar {
            phase: Phase::new(quiet, label),
            total: 0.into(),
            done: 0.into(),
        }
    }

    pub fn finish(&self) {
        self.phase.finish();
    }
}

impl Drop for ActionsBar {
    fn drop(&mut self) {
        self.finish();
    }
}

impl dirsnap_replay::Progress for ActionsBar {
    fn start(&self, total: u64) {
        self.total
            .store(total, std::sync::atomic::Ordering::Relaxed);
        self.phase.update(0, total);
    }
    fn done(&self, _op: dirsnap_plan::Op, _outcome: &dirsnap_replay::Outcome) {
        use std::sync::atomic::Ordering::Relaxed;
        let d = self.done.fetch_add(1, Relaxed) + 1;
        self.phase.update(d, self.total.load(Relaxed));
    }
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// The part of every export's `--json` that describes the snapshot written: what it is, where,
/// when, from where, its counts and files (with their sha256), and how long the export took.
pub fn snapshot_json(
    out: &std::path::Path,
    m: &dirsnap_model::Manifest,
    duration: Duration,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::json;
    let mut obj = serde_json::Map::new();
    obj.insert("kind".into(), json!(m.kind));
    obj.insert("out".into(), json!(out.display().to_string()));
    obj.insert(
        "taken_at".into(),
        json!(
            m.taken_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    );
    obj.insert(
        "source".into(),
        serde_json::to_value(&m.source).unwrap_or_default(),
    );
    obj.insert(
        "counts".into(),
        json!({"users": m.counts.users, "groups": m.counts.groups,
               "memberships": m.counts.memberships}),
    );
    obj.insert(
        "files".into(),
        serde_json::to_value(&m.files).unwrap_or_default(),
    );
    obj.insert("notes".into(), json!(m.notes));
    obj.insert("duration_seconds".into(), json!(duration.as_secs_f64()));
    obj
}

/// Where a command's lines for people go: stdout normally, stderr when stdout carries the
/// `--json` document.
pub fn human(json: bool) -> Box<dyn std::io::Write> {
    if json {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    }
}

/// Checks, before any work, that `path` (given as `flag`) can be created: it must not exist,
/// and its parent must be — or be creatable in — a writable directory. The message names the
/// flag, the path as given and the directory at fault, never the hidden staging directory
/// the output is built in (exit 2: the argument is what needs changing).
pub fn check_out(
    flag: &str,
    path: &std::path::Path,
    what: &str,
) -> Result<(), crate::error::CliError> {
    use crate::error::CliError;
    if path.exists() {
        return Err(CliError::Input(format!(
            "{flag} {}: already exists; {what} are never overwritten, so choose a new {flag}",
            path.display()
        )));
    }
    let parent = dirsnap_durable::parent_of(path);
    // The nearest directory that exists is where something must be created.
    let mut existing = parent.as_path();
    while !existing.exists() {
        match existing.parent() {
            Some(p) if !p.as_os_str().is_empty() => existing = p,
            _ => {
                existing = std::path::Path::new(".");
                break;
            }
        }
    }
    let refuse = |why: String| {
        CliError::Input(format!(
            "{flag} {}: cannot create it: {} is not a writable directory ({why})",
            path.display(),
            parent.display()
        ))
    };
    if !existing.is_dir() {
        return Err(refuse(format!("{} is not a directory", existing.display())));
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let probe = existing.join(format!(".dirsnap-probe-{}-{nanos}", std::process::id()));
    match std::fs::create_dir(&probe) {
        Ok(()) => {
            let _ = std::fs::remove_dir(&probe);
            Ok(())
        }
        Err(e) if existing == parent.as_path() => Err(refuse(e.to_string())),
        Err(e) => Err(refuse(format!(
            "it cannot be created in {}: {e}",
            existing.display()
        ))),
    }
}
