//! Time and identifiers, both deterministic unless asked otherwise.

use crate::error::MockError;
use chrono::{DateTime, Duration, Utc};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::{Arc, Mutex};

/// Where `meta.created` / `meta.lastModified` and token expiry get the time from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The time of a write. A logical clock advances on every call.
    fn tick(&self) -> DateTime<Utc>;
    /// The current time without advancing (token expiry, dumps).
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct WallClock;

impl Clock for WallClock {
    fn tick(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a given instant and advances one step per write, so two runs of
/// the same requests produce the same timestamps.
#[derive(Debug)]
pub struct LogicalClock {
    state: Mutex<DateTime<Utc>>,
    step: Duration,
}

impl LogicalClock {
    pub fn new(start: DateTime<Utc>, step: Duration) -> Self {
        LogicalClock {
            state: Mutex::new(start),
            step,
        }
    }

    /// Moves the clock (tests of token expiry).
    pub fn set(&self, to: DateTime<Utc>) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for LogicalClock {
    fn tick(&self) -> DateTime<Utc> {
        let mut t = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *t += self.step;
        *t
    }
    fn now(&self) -> DateTime<Utc> {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How to build the clock (`--clock`).
#[derive(Debug, Clone, Default)]
pub enum ClockSpec {
    /// Logical, starting at the seed snapshot's `taken_at`, or at [`DEFAULT_EPOCH`] without
    /// a seed.
    #[default]
    Logical,
    /// Logical, starting at this instant.
    LogicalFrom(DateTime<Utc>),
    /// The machine's clock.
    Wall,
    /// A clock the caller keeps a handle to (tests move it).
    Custom(Arc<dyn Clock>),
}

/// Start of the logical clock when nothing else says: 2026-01-01T00:00:00Z.
pub const DEFAULT_EPOCH: i64 = 1_767_225_600;

impl ClockSpec {
    /// `wall`, `logical`, or an RFC 3339 start instant.
    pub fn parse(spec: &str) -> Result<ClockSpec, MockError> {
        match spec {
            "wall" => Ok(ClockSpec::Wall),
            "logical" => Ok(ClockSpec::Logical),
            other => DateTime::parse_from_rfc3339(other)
                .map(|t| ClockSpec::LogicalFrom(t.with_timezone(&Utc)))
                .map_err(|_| MockError::Clock { spec: other.into() }),
        }
    }

    pub(crate) fn build(&self, seed_time: Option<DateTime<Utc>>) -> Arc<dyn Clock> {
        let default_start = DateTime::from_timestamp(DEFAULT_EPOCH, 0).unwrap_or_default();
        match self {
            ClockSpec::Wall => Arc::new(WallClock),
            ClockSpec::Logical => Arc::new(LogicalClock::new(
                seed_time.unwrap_or(default_start),
                Duration::seconds(1),
            )),
            ClockSpec::LogicalFrom(t) => Arc::new(LogicalClock::new(*t, Duration::seconds(1))),
            ClockSpec::Custom(c) => c.clone(),
        }
    }
}

/// Resource ids: UUIDs (version 4 layout) drawn from a seed and a counter, so the n-th
/// created resource of a run always gets the same id.
#[derive(Debug, Clone)]
pub struct IdGen {
    seed: u64,
    counter: u64,
}

impl IdGen {
    pub fn new(seed: u64) -> Self {
        IdGen { seed, counter: 0 }
    }

    /// The id for counter value `n` (pure).
    pub fn id_at(seed: u64, n: u64) -> String {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(n);
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// The next id.
    pub fn next_id(&mut self) -> String {
        let id = IdGen::id_at(self.seed, self.counter);
        self.counter += 1;
        id
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_only_on_seed_and_counter() {
        let mut a = IdGen::new(7);
        let mut b = IdGen::new(7);
        let xs: Vec<String> = (0..5).map(|_| a.next_id()).collect();
        let ys: Vec<String> = (0..5).map(|_| b.next_id()).collect();
        assert_eq!(xs, ys);
        assert_ne!(IdGen::id_at(7, 0), IdGen::id_at(8, 0));
        let id = &xs[0];
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        let unique: std::collections::BTreeSet<_> = xs.iter().collect();
        assert_eq!(unique.len(), 5);
    }

    #[test]
    fn logical_clock_steps_one_second_per_write() {
        let start = DateTime::parse_from_rfc3339("2026-11-27T10:00:00+09:00")
            .unwrap()
            .with_timezone(&Utc);
        let c = LogicalClock::new(start, Duration::seconds(1));
        assert_eq!(c.now(), start);
        assert_eq!(c.tick(), start + Duration::seconds(1));
        assert_eq!(c.tick(), start + Duration::seconds(2));
        assert_eq!(c.now(), start + Duration::seconds(2));
        assert!(matches!(ClockSpec::parse("wall").unwrap(), ClockSpec::Wall));
        assert!(matches!(
            ClockSpec::parse("2026-01-01T09:00:00+09:00").unwrap(),
            ClockSpec::LogicalFrom(t) if t.to_rfc3339() == "2026-01-01T00:00:00+00:00"
        ));
        assert!(ClockSpec::parse("tomorrow").is_err());
    }
}
