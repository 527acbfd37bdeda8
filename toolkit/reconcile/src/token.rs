//! The IIJ ID access token's expiry, for TOKEN_EXPIRING. The token is a JWT (its `eyJ…`
//! form in IIJ's examples); only the payload's `exp` is read, never the signature, and the
//! token itself is never kept or printed.

use chrono::{DateTime, Utc};

/// `exp` of a JWT, or `None` when the token is not a JWT or has no numeric `exp`.
pub fn jwt_expiry(token: &str) -> Option<DateTime<Utc>> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = v.get("exp")?.as_f64()?;
    DateTime::from_timestamp(exp as i64, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exp_of_a_jwt_and_rejects_others() {
        // {"alg":"none"} . {"sub":"x","exp":1800000000} .
        let t = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjoxODAwMDAwMDAwfQ.";
        assert_eq!(jwt_expiry(t).map(|d| d.timestamp()), Some(1_800_000_000));
        assert_eq!(jwt_expiry("opaque-token"), None);
        assert_eq!(jwt_expiry("a.b.c"), None);
    }
}
