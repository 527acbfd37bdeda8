//! How a workflow says what it is doing. The command line draws spinners and bars from it;
//! a library caller may ignore it (`&()`).
//!
//! The timing lines at info level (`read AD snapshots: 1.23 s, RSS 456 MiB`) are written here,
//! not through [`Progress`]: `scripts/bench-reconcile` reads them from any caller's log.

use dirsnap_plan::Op;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Progress of a workflow: steps of unknown length, and a replay's actions.
pub trait Progress: Sync {
    /// A step begins (it replaces the one before, if that one was not ended).
    fn step(&self, _what: &str) {}
    /// The current step ended.
    fn step_done(&self) {}
    /// A replay of a plan's actions begins; its progress goes to what this returns, which
    /// is dropped when the replay ends.
    fn actions(&self, _what: &str) -> Box<dyn dirsnap_replay::Progress + '_> {
        Box::new(())
    }
}

impl Progress for () {}

/// Resident memory in MiB (Linux), for the timing lines.
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096 / (1 << 20))
}

/// Logs how long phases took since it started, and the memory in use after each.
pub(crate) struct PhaseClock(Instant);

impl PhaseClock {
    pub(crate) fn start() -> PhaseClock {
        PhaseClock(Instant::now())
    }

    pub(crate) fn log(&self, name: &str) {
        tracing::info!(
            "{name}: {:.2} s, RSS {} MiB",
            self.0.elapsed().as_secs_f64(),
            rss_mib()
        );
    }
}

/// Passes a replay's progress on and times it per op: for each op, how many actions ended
/// and when the first and the last of them ended, logged as timing lines when dropped
/// (`replay create_user: 20000 actions, ended 0.01–9.80 s after the start, 2043 actions/s`).
/// Ops of one stage run side by side, so a rate is the op's count over the span its actions
/// ended in, not a cost of the op alone.
pub(crate) struct OpClock<'a> {
    inner: Box<dyn dirsnap_replay::Progress + 'a>,
    started: Instant,
    spans: Mutex<BTreeMap<Op, OpSpan>>,
}

#[derive(Debug, Clone, Copy)]
struct OpSpan {
    count: u64,
    first: Duration,
    last: Duration,
}

impl<'a> OpClock<'a> {
    pub(crate) fn new(inner: Box<dyn dirsnap_replay::Progress + 'a>) -> OpClock<'a> {
        OpClock {
            inner,
            started: Instant::now(),
            spans: Mutex::new(BTreeMap::new()),
        }
    }
}

impl dirsnap_replay::Progress for OpClock<'_> {
    fn start(&self, total: u64) {
        self.inner.start(total);
    }

    fn done(&self, op: Op, outcome: &dirsnap_replay::Outcome) {
        let at = self.started.elapsed();
        // A poisoned lock only loses timing lines, never the replay.
        if let Ok(mut spans) = self.spans.lock() {
            spans
                .entry(op)
                .and_modify(|s| {
                    s.count += 1;
                    s.last = at;
                })
                .or_insert(OpSpan {
                    count: 1,
                    first: at,
                    last: at,
                });
        }
        self.inner.done(op, outcome);
    }
}

impl Drop for OpClock<'_> {
    fn drop(&mut self) {
        let Ok(spans) = self.spans.lock() else { return };
        for (op, s) in spans.iter() {
            let span = (s.last - s.first).as_secs_f64();
            let rate = if span > 0.0 {
                format!("{:.0} actions/s", s.count as f64 / span)
            } else {
                "rate n/a".to_owned()
            };
            tracing::info!(
                "replay {}: {} actions, ended {:.2}-{:.2} s after the start, {rate}",
                op.as_str(),
                s.count,
                s.first.as_secs_f64(),
                s.last.as_secs_f64()
            );
        }
    }
}
