//! Fault injection, reproducible from a seed.
//!
//! Grammar (docs/mock-scim.md has the user-facing version). `--fault` may be given several
//! times; each value is a comma-separated list of items, later items override earlier ones:
//!
//! ```text
//! item     := "seed=" u64
//!           | "latency=" dur [ ".." dur ]           fixed, or uniform in [a, b]
//!           | "429=" pct [ ":retry-after=" secs ]   Too Many Requests, with Retry-After
//!           | "5xx=" pct                            500, 502, 503 or 504, drawn from the seed
//!           | code "=" pct                          one status, 500..=599
//!           | "drop=" pct                           close the connection, no response
//!           | "token-expiry-after=" n               a token expires after serving n requests
//!           | "slow-body=" [ pct ":" ] bytes "/" dur   send the body in chunks with pauses
//!           | "on=" ("all" | "reads" | "writes")    which requests faults apply to
//! dur      := number ("us" | "ms" | "s")
//! pct      := number "%"                            0 to 100, decimals allowed
//! bytes    := integer [ "B" | "KiB" ]
//! ```
//!
//! Request number `n` (counting only requests faults apply to) gets a decision computed from
//! `(seed, n)` alone ([`FaultSpec::decide`]), so the same seed gives the same sequence of
//! faults whatever the timing.

use crate::error::MockError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// Which requests faults apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FaultScope {
    #[default]
    All,
    /// GET and `POST /.search`.
    Reads,
    /// POST (create), PUT, PATCH, DELETE.
    Writes,
}

/// Chunked, paused response bodies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowBody {
    pub probability: f64,
    pub chunk_bytes: usize,
    pub pause: Duration,
}

/// The parsed `--fault` specs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultSpec {
    pub seed: u64,
    pub latency: Option<(Duration, Duration)>,
    pub p429: f64,
    pub retry_after: Option<u64>,
    /// `(status, probability)`; status 0 means "any of 500, 502, 503, 504".
    pub server_errors: Vec<(u16, f64)>,
    pub p_drop: f64,
    pub token_expiry_after: Option<u64>,
    pub slow_body: Option<SlowBody>,
    pub scope: FaultScope,
}

/// What happens to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultDecision {
    /// Wait this long before anything else.
    pub latency: Option<Duration>,
    pub action: FaultAction,
    /// Send the response body slowly.
    pub slow_body: Option<SlowBody>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// Serve the request.
    Pass,
    /// Close the connection without a response.
    Drop,
    /// Answer this status (429 with `Retry-After` when set) without touching the state.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
}

const ANY_5XX: [u16; 4] = [500, 502, 503, 504];

impl FaultSpec {
    /// Parses and merges several `--fault` values.
    pub fn parse_all<S: AsRef<str>>(specs: &[S]) -> Result<FaultSpec, MockError> {
        let mut out = FaultSpec::default();
        for spec in specs {
            out.merge(spec.as_ref())?;
        }
        Ok(out)
    }

    pub fn parse(spec: &str) -> Result<FaultSpec, MockError> {
        FaultSpec::parse_all(&[spec])
    }

    /// True when no fault is configured.
    pub fn is_empty(&self) -> bool {
        self.latency.is_none()
            && self.p429 == 0.0
            && self.server_errors.is_empty()
            && self.p_drop == 0.0
            && self.token_expiry_after.is_none()
            && self.slow_body.is_none()
    }

    fn merge(&mut self, spec: &str) -> Result<(), MockError> {
        let err = |message: String| MockError::FaultSpec {
            spec: spec.to_owned(),
            message,
        };
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| err(format!("{item:?} is not KEY=VALUE")))?;
            let value = value.trim();
            match key.trim() {
                "seed" => {
                    self.seed = value.parse().map_err(|_| {
                        err(format!("seed must be an unsigned integer, found {value:?}"))
                    })?
                }
                "latency" => {
                    let (a, b) = match value.split_once("..") {
                        Some((a, b)) => (
                            parse_duration(a).map_err(&err)?,
                            parse_duration(b).map_err(&err)?,
                        ),
                        None => {
                            let d = parse_duration(value).map_err(&err)?;
                            (d, d)
                        }
                    };
                    if b < a {
                        return Err(err(format!(
                            "latency range {value:?} ends before it starts"
                        )));
                    }
                    self.latency = Some((a, b));
                }
                "429" => {
                    let (p, rest) = value.split_once(':').unwrap_or((value, ""));
                    self.p429 = parse_pct(p).map_err(&err)?;
                    self.retry_after = None;
                    if !rest.is_empty() {
                        let secs = rest.strip_prefix("retry-after=").ok_or_else(|| {
                            err(format!(
                                "expected retry-after=SECONDS after 429's percentage, found {rest:?}"
                            ))
                        })?;
                        self.retry_after = Some(secs.parse().map_err(|_| {
                            err(format!("retry-after must be whole seconds, found {secs:?}"))
                        })?);
                    }
                }
                "5xx" => {
                    let p = parse_pct(value).map_err(&err)?;
                    self.server_errors.retain(|(c, _)| *c != 0);
                    self.server_errors.push((0, p));
                }
                "drop" => self.p_drop = parse_pct(value).map_err(&err)?,
                "token-expiry-after" => {
                    self.token_expiry_after = Some(value.parse().map_err(|_| {
                        err(format!(
                            "token-expiry-after must be a number of requests, found {value:?}"
                        ))
                    })?)
                }
                "slow-body" => {
                    let (p, rest) = match value.split_once(':') {
                        Some((p, rest)) => (parse_pct(p).map_err(&err)?, rest),
                        None => (1.0, value),
                    };
                    let (bytes, pause) = rest.split_once('/').ok_or_else(|| {
                        err(format!(
                            "slow-body wants BYTES/DURATION such as 256B/10ms, found {rest:?}"
                        ))
                    })?;
                    let chunk_bytes = parse_bytes(bytes).map_err(&err)?;
                    self.slow_body = Some(SlowBody {
                        probability: p,
                        chunk_bytes,
                        pause: parse_duration(pause).map_err(&err)?,
                    });
                }
                "on" => {
                    self.scope = match value {
                        "all" => FaultScope::All,
                        "reads" => FaultScope::Reads,
                        "writes" => FaultScope::Writes,
                        other => {
                            return Err(err(format!(
                                "on must be all, reads or writes, found {other:?}"
                            )));
                        }
                    }
                }
                code if code.len() == 3 && code.starts_with('5') => {
                    let status: u16 = code
                        .parse()
                        .map_err(|_| err(format!("unknown fault {code:?}")))?;
                    let p = parse_pct(value).map_err(&err)?;
                    self.server_errors.retain(|(c, _)| *c != status);
                    self.server_errors.push((status, p));
                }
                other => {
                    return Err(err(format!(
                        "unknown fault {other:?}; expected seed, latency, 429, 5xx, 5NN, drop, token-expiry-after, slow-body or on"
                    )));
                }
            }
        }
        let total =
            self.p_drop + self.p429 + self.server_errors.iter().map(|(_, p)| p).sum::<f64>();
        if total > 1.0 + 1e-9 {
            return Err(err(format!(
                "drop, 429 and 5xx percentages add up to {:.1}%, more than 100%",
                total * 100.0
            )));
        }
        Ok(())
    }

    /// Whether a request with this method and path is subject to faults.
    pub fn applies_to(&self, method: &str, path: &str) -> bool {
        let read = method.eq_ignore_ascii_case("GET")
            || method.eq_ignore_ascii_case("HEAD")
            || (method.eq_ignore_ascii_case("POST") && path.ends_with("/.search"));
        match self.scope {
            FaultScope::All => true,
            FaultScope::Reads => read,
            FaultScope::Writes => !read,
        }
    }

    /// The decision for the `n`-th request subject to faults (0-based). Pure.
    pub fn decide(&self, n: u64) -> FaultDecision {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(n);
        // Draw every random number in a fixed order whether or not it is used, so adding a
        // fault kind does not shift the others.
        let roll: f64 = rng.random();
        let which: u32 = rng.random();
        let lat: f64 = rng.random();
        let slow: f64 = rng.random();
        let latency = self.latency.map(|(a, b)| a + (b - a).mul_f64(lat));
        let mut edge = self.p_drop;
        let action = if roll < edge {
            FaultAction::Drop
        } else {
            edge += self.p429;
            if roll < edge {
                FaultAction::Status {
                    status: 429,
                    retry_after: self.retry_after,
                }
            } else {
                let mut chosen = FaultAction::Pass;
                for (code, p) in &self.server_errors {
                    edge += p;
                    if roll < edge {
                        let status = if *code == 0 {
                            ANY_5XX[(which as usize) % ANY_5XX.len()]
                        } else {
                            *code
                        };
                        chosen = FaultAction::Status {
                            status,
                            retry_after: None,
                        };
                        break;
                    }
                }
                chosen
            }
        };
        let slow_body = self.slow_body.filter(|s| slow < s.probability);
        FaultDecision {
            latency: latency.filter(|d| !d.is_zero()),
            action,
            slow_body,
        }
    }
}

fn parse_pct(s: &str) -> Result<f64, String> {
    let n = s
        .trim()
        .strip_suffix('%')
        .ok_or_else(|| format!("expected a percentage such as 5%, found {s:?}"))?;
    let v: f64 = n
        .parse()
        .map_err(|_| format!("expected a percentage such as 5%, found {s:?}"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!(
            "a percentage must be between 0% and 100%, found {s:?}"
        ));
    }
    Ok(v / 100.0)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("expected a duration such as 5ms, 1.5s or 200us, found {s:?}");
    let (num, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(bad());
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    if !(0.0..=3600.0).contains(&(v * unit)) {
        return Err(format!(
            "a duration must be between 0 and 1 hour, found {s:?}"
        ));
    }
    Ok(Duration::from_secs_f64(v * unit))
}

fn parse_bytes(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let bad = || format!("expected a chunk size such as 256B or 4KiB, found {s:?}");
    let (num, mult) = if let Some(n) = s.strip_suffix("KiB") {
        (n, 1024)
    } else if let Some(n) = s.strip_suffix('B') {
        (n, 1)
    } else {
        (s, 1)
    };
    let v: usize = num.parse().map_err(|_| bad())?;
    if v == 0 {
        return Err(bad());
    }
    Ok(v * mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_examples_parse() {
        let f = FaultSpec::parse_all(&[
            "latency=5ms..20ms,seed=42",
            "429=10%:retry-after=1, 5xx=5%, drop=1%",
            "token-expiry-after=100,slow-body=50%:256B/10ms,503=2%,on=writes",
        ])
        .unwrap();
        assert_eq!(f.seed, 42);
        assert_eq!(
            f.latency,
            Some((Duration::from_millis(5), Duration::from_millis(20)))
        );
        assert!((f.p429 - 0.10).abs() < 1e-12);
        assert_eq!(f.retry_after, Some(1));
        assert_eq!(f.server_errors, vec![(0, 0.05), (503, 0.02)]);
        assert!((f.p_drop - 0.01).abs() < 1e-12);
        assert_eq!(f.token_expiry_after, Some(100));
        assert_eq!(
            f.slow_body,
            Some(SlowBody {
                probability: 0.5,
                chunk_bytes: 256,
                pause: Duration::from_millis(10)
            })
        );
        assert_eq!(f.scope, FaultScope::Writes);
        assert!(FaultSpec::parse("latency=5ms").unwrap().latency.is_some());
        assert!(FaultSpec::default().is_empty());
    }

    #[test]
    fn bad_specs_say_what_was_expected() {
        for (spec, wanted) in [
            ("latency=5", "expected a duration"),
            ("429=ten", "expected a percentage"),
            ("drop=150%", "between 0% and 100%"),
            ("teapot=1%", "unknown fault \"teapot\""),
            ("drop=60%,5xx=50%", "more than 100%"),
            ("latency=20ms..5ms", "ends before it starts"),
            ("slow-body=10ms", "BYTES/DURATION"),
        ] {
            let e = FaultSpec::parse(spec).unwrap_err().to_string();
            assert!(e.contains(wanted), "{spec}: {e}");
        }
    }

    #[test]
    fn same_seed_same_sequence_and_rates_follow_percentages() {
        let f = FaultSpec::parse("seed=7,latency=1ms..9ms,429=10%,5xx=10%,drop=5%").unwrap();
        let a: Vec<FaultDecision> = (0..2000).map(|n| f.decide(n)).collect();
        let b: Vec<FaultDecision> = (0..2000).map(|n| f.decide(n)).collect();
        assert_eq!(a, b);
        let other = FaultSpec {
            seed: 8,
            ..f.clone()
        };
        let c: Vec<FaultDecision> = (0..2000).map(|n| other.decide(n)).collect();
        assert_ne!(a, c);
        let count =
            |pred: &dyn Fn(&FaultAction) -> bool| a.iter().filter(|d| pred(&d.action)).count();
        let drops = count(&|x| *x == FaultAction::Drop);
        let tmr = count(&|x| matches!(x, FaultAction::Status { status: 429, .. }));
        let s5 = count(&|x| {
            matches!(
                x,
                FaultAction::Status {
                    status: 500..=599,
                    ..
                }
            )
        });
        // Binomial(2000, p): these bounds are more than 5 standard deviations wide.
        assert!((50..=150).contains(&drops), "{drops}");
        assert!((120..=280).contains(&tmr), "{tmr}");
        assert!((120..=280).contains(&s5), "{s5}");
        for d in &a {
            let l = d.latency.unwrap();
            assert!(l >= Duration::from_millis(1) && l <= Duration::from_millis(9));
        }
    }

    #[test]
    fn scope_selects_requests() {
        let w = FaultSpec::parse("on=writes").unwrap();
        assert!(w.applies_to("PATCH", "/Users/1"));
        assert!(!w.applies_to("GET", "/Users"));
        assert!(!w.applies_to("POST", "/Users/.search"));
        let r = FaultSpec::parse("on=reads").unwrap();
        assert!(r.applies_to("POST", "/.search"));
        assert!(!r.applies_to("DELETE", "/Users/1"));
    }
}
