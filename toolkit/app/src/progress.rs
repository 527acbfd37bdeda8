//! How a workflow says what it is doing. The command line draws spinners and bars from it;
//! a library caller may ignore it (`&()`).
//!
//! The timing lines at info level (`read AD snapshots: 1.23 s, RSS 456 MiB`) are written here,
//! not through [`Progress`]: `scripts/bench-reconcile` reads them from any caller's log.

use std::time::Instant;

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
