//! The retry policy of every HTTP client in dirsnap (SCIM for IIJ ID here, Microsoft Graph in
//! dirsnap-m365): which answers are worth another attempt, how long to wait (the server's
//! `Retry-After`, else exponential backoff with jitter) and when to give up (attempts and a
//! time budget per request). The clients own the loop and their error types; the decisions
//! live here so both behave the same.

use chrono::{DateTime, Utc};
use rand::Rng as _;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff when the server gave no `Retry-After`; doubles per attempt.
    pub base_delay: Duration,
    /// Longest backoff between two attempts when the server gave no `Retry-After`.
    pub max_delay: Duration,
    /// Total time one request may spend, retries and waits included. A wait that would end
    /// past it (a long `Retry-After` too) fails the request at once rather than hang the run.
    pub budget: Duration,
    /// Which server errors besides 503 are retried.
    pub server_errors: ServerErrors,
}

/// Which 5xx answers (503 aside, always retried) count as transient. Only requests that are
/// safe to repeat are retried on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerErrors {
    /// Every 5xx: IIJ ID documents none, so any may be a passing failure.
    Any,
    /// Only the gateway-style ones, 500, 502 and 504: a 501 or 505 will not change on retry.
    Transient,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            budget: Duration::from_secs(300),
            server_errors: ServerErrors::Any,
        }
    }
}

/// Why a request is not tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// `max_attempts` were made.
    Attempts { attempts: u32 },
    /// The server asks to wait longer than the budget has left.
    RetryAfter { asked: Duration, left: Duration },
    /// The next backoff would end past the budget.
    Budget { budget: Duration },
}

impl std::fmt::Display for GiveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GiveUp::Attempts { attempts } => write!(f, "gave up after {attempts} attempts"),
            GiveUp::RetryAfter { asked, left } => write!(
                f,
                "the server asks to wait {}s (Retry-After), more than the {}s left of the retry \
                 budget; try again later",
                asked.as_secs(),
                left.as_secs()
            ),
            GiveUp::Budget { budget } => write!(
                f,
                "the next wait would pass the {}s retry budget",
                budget.as_secs()
            ),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Whether an answer with `status` is worth another attempt. 429 and 503 always: the
    /// server did not act and says so. Other server errors only when the request is safe to
    /// repeat (`repeatable`: a create answered 500 may have happened) and `server_errors`
    /// covers them.
    pub fn retries_status(&self, status: StatusCode, repeatable: bool) -> bool {
        match status.as_u16() {
            429 | 503 => true,
            500 | 502 | 504 => repeatable,
            _ if status.is_server_error() => repeatable && self.server_errors == ServerErrors::Any,
            _ => false,
        }
    }

    /// The backoff before attempt `attempt + 1` (attempts count from 1) when the server did
    /// not say: jitter between half an exponential ceiling and the ceiling, so parallel
    /// clients spread out but never retry at once.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1).min(20))
            .unwrap_or(u32::MAX);
        let ceiling = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let millis = u64::try_from(ceiling.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
    }

    /// The wait before attempt `attempt + 1`: exactly the server's `Retry-After` when given
    /// (retrying earlier only earns another 429), else [`RetryPolicy::backoff`].
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        retry_after.unwrap_or_else(|| self.backoff(attempt))
    }

    /// After failed attempt `attempt` (from 1), `elapsed` since the first one started: how
    /// long to wait before the next, or why not to try again.
    pub fn next_wait(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Result<Duration, GiveUp> {
        if attempt >= self.max_attempts {
            return Err(GiveUp::Attempts { attempts: attempt });
        }
        let wait = self.delay(attempt, retry_after);
        if elapsed.saturating_add(wait) <= self.budget {
            return Ok(wait);
        }
        Err(match retry_after {
            Some(asked) => GiveUp::RetryAfter {
                asked,
                left: self.budget.saturating_sub(elapsed),
            },
            None => GiveUp::Budget {
                budget: self.budget,
            },
        })
    }
}

/// A connection that could not be made for a reason another attempt a few seconds later will
/// not change: failing at once, naming the host and what to check, beats retrying for
/// tens of seconds in silence. (A connection reset or timed out is another matter: that is
/// retried like a 503.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// Nothing listens at the address (the host answered with a reset): a wrong URL or
    /// port, a stopped service or proxy.
    Refused,
    /// The host name does not resolve.
    Dns,
}

impl Unreachable {
    /// Why a request to `url` failed, and what to check, for people. `setting` names where
    /// the address comes from (`--base-url or iid.scim.url`, `--graph-url`); `proxy` is the
    /// proxy the connection went to, when one is configured.
    pub fn explain(self, url: &url::Url, setting: &str, proxy: Option<&str>) -> String {
        let host = url.host_str().unwrap_or_default();
        match (self, proxy) {
            (Unreachable::Refused, None) => format!(
                "connection refused by {host}:{}: nothing listens there. Check the URL ({setting}) and that the service is running; not retried",
                url.port_or_known_default().unwrap_or_default()
            ),
            (Unreachable::Refused, Some(p)) => format!(
                "connection refused by the proxy {p}: nothing listens there. Check iid.scim.http.proxy (address and port) and that the proxy is running; not retried"
            ),
            (Unreachable::Dns, None) => format!(
                "the host name {host} does not resolve. Check the URL ({setting}) and this machine's DNS settings; not retried"
            ),
            (Unreachable::Dns, Some(p)) => format!(
                "the proxy's host name in {p} does not resolve. Check iid.scim.http.proxy and this machine's DNS settings; not retried"
            ),
        }
    }
}

/// Whether a request failed because the connection could not be made at all, for a reason
/// retrying soon will not change ([`Unreachable`]).
pub fn unreachable(e: &reqwest::Error) -> Option<Unreachable> {
    if !e.is_connect() {
        return None;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return Some(Unreachable::Refused);
        }
        // hyper-util's connector wraps every resolver failure as "dns error".
        if s.to_string() == "dns error" {
            return Some(Unreachable::Dns);
        }
        source = s.source();
    }
    None
}

/// One line for people about a retry: what failed, the wait, and which attempt comes next
/// of how many.
pub fn retry_line(what: &str, reason: &str, wait: Duration, next: u32, max: u32) -> String {
    format!(
        "{what}: {reason}; retrying in {:.1} s (attempt {next} of {max})",
        wait.as_secs_f64()
    )
}

/// Parses `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). Fractional seconds,
/// outside the grammar but sent by some servers, are taken too.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let when = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

/// The `Retry-After` of a response's headers, if present and readable.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, now)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_date() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 00:00:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        // A date in the past means "now".
        assert_eq!(
            parse_retry_after("Fri, 27 Nov 2026 00:00:10 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("NaN", now), None);
        // Too long to represent is still "too long", never "no answer".
        assert_eq!(parse_retry_after("1e300", now), Some(Duration::MAX));

        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for attempt in 1..40 {
            let d = p.delay(attempt, None).as_millis() as u64;
            let ceiling = (100u64 << (attempt - 1).min(20)).min(1000);
            assert!(d <= ceiling && d >= ceiling / 2, "{attempt}: {d}");
        }
        // The server's word is kept, above max_delay too.
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(60))),
            Duration::from_secs(60)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_millis(5))),
            Duration::from_millis(5)
        );
    }

    #[test]
    fn gives_up_on_attempts_and_on_the_budget() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(100),
            budget: Duration::from_secs(10),
            server_errors: ServerErrors::Any,
        };
        let s = Duration::from_secs;
        assert_eq!(p.next_wait(1, s(0), Some(s(2))), Ok(s(2)));
        assert_eq!(p.next_wait(2, s(8), Some(s(2))), Ok(s(2)));
        assert_eq!(
            p.next_wait(3, s(0), Some(s(1))),
            Err(GiveUp::Attempts { attempts: 3 })
        );
        assert_eq!(
            p.next_wait(1, s(4), Some(s(7))),
            Err(GiveUp::RetryAfter {
                asked: s(7),
                left: s(6)
            })
        );
        assert_eq!(
            p.next_wait(2, s(10), None),
            Err(GiveUp::Budget { budget: s(10) })
        );
        let text = GiveUp::RetryAfter {
            asked: s(400),
            left: s(300),
        }
        .to_string();
        assert!(text.contains("400s") && text.contains("300s"), "{text}");
        assert_eq!(
            GiveUp::Attempts { attempts: 6 }.to_string(),
            "gave up after 6 attempts"
        );
    }

    #[test]
    fn which_statuses_are_retried() {
        let any = RetryPolicy::default();
        let transient = RetryPolicy {
            server_errors: ServerErrors::Transient,
            ..RetryPolicy::default()
        };
        let st = |c: u16| StatusCode::from_u16(c).unwrap();
        for p in [&any, &transient] {
            for repeatable in [true, false] {
                assert!(p.retries_status(st(429), repeatable));
                assert!(p.retries_status(st(503), repeatable));
                for c in [200, 204, 400, 401, 403, 404, 409, 412] {
                    assert!(!p.retries_status(st(c), repeatable), "{c}");
                }
            }
            for c in [500, 502, 504] {
                assert!(p.retries_status(st(c), true), "{c}");
                assert!(!p.retries_status(st(c), false), "{c}");
            }
        }
        for c in [501, 505, 507, 599] {
            assert!(any.retries_status(st(c), true), "{c}");
            assert!(!any.retries_status(st(c), false), "{c}");
            assert!(!transient.retries_status(st(c), true), "{c}");
        }
    }
}
