//! Bounded retries for Microsoft Graph, which throttles with 429 (and sometimes 503) and says
//! how long to wait in `Retry-After`. The policy (what is retried, the wait, jitter, the
//! budget) is the one the SCIM client uses, from dirsnap-scim; only Graph's defaults are here.

pub use dirsnap_scim::{GiveUp, RetryPolicy, ServerErrors, retry_after};
use reqwest::StatusCode;
use std::time::Duration;

/// Graph's defaults: 6 attempts, backoff from 0.5 s capped at 30 s, 5 minutes per request
/// (a longer `Retry-After` fails the request at once rather than hang the export), and only
/// the transient server errors retried.
pub fn graph_default() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(30),
        budget: Duration::from_secs(300),
        server_errors: ServerErrors::Transient,
    }
}

/// Statuses worth another attempt under [`graph_default`]: throttling and transient server
/// failures (every Graph request dirsnap sends is safe to repeat).
pub fn is_retryable_status(status: StatusCode) -> bool {
    graph_default().retries_status(status, true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn graph_retries_throttling_and_transient_server_errors_only() {
        for c in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(c).unwrap()), "{c}");
        }
        for c in [200, 400, 401, 403, 404, 501, 505] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(c).unwrap()),
                "{c}"
            );
        }
    }
}
