//! What can be learned about an access token without sending it: IIJ ID tokens look like JWTs
//! (iij-facts.md §1), whose `exp` claim says when they stop working.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use dirsnap_config::Secret;

/// The `exp` claim of a JWT, if the token is one. The signature is not checked: this only
/// warns before a run, the server decides.
pub fn jwt_expiry(token: &Secret) -> Option<DateTime<Utc>> {
    let payload = token.expose().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?.as_i64()?;
    DateTime::from_timestamp(exp, 0)
}

/// The verdict of the token pre-check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// Not a JWT: nothing can be said before a request.
    Opaque,
    Valid {
        expires: DateTime<Utc>,
    },
    /// Expires within the warning window.
    ExpiresSoon {
        expires: DateTime<Utc>,
    },
    Expired {
        expired: DateTime<Utc>,
    },
}

/// Classifies a token against `now` with a warning window of `warn_days`.
pub fn check_token(token: &Secret, now: DateTime<Utc>, warn_days: i64) -> TokenCheck {
    match jwt_expiry(token) {
        None => TokenCheck::Opaque,
        Some(exp) if exp <= now => TokenCheck::Expired { expired: exp },
        Some(exp) if exp <= now + Duration::days(warn_days) => {
            TokenCheck::ExpiresSoon { expires: exp }
        }
        Some(exp) => TokenCheck::Valid { expires: exp },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> Secret {
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        Secret::new(format!("{}.{}.sig", enc(r#"{"alg":"RS256"}"#), enc(claims)))
    }

    #[test]
    fn reads_exp_and_classifies() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let t = jwt(r#"{"exp":1800000000,"scope":"escim_read_users"}"#);
        assert_eq!(jwt_expiry(&t), Some(now));
        assert!(matches!(
            check_token(&t, now, 14),
            TokenCheck::Expired { .. }
        ));
        let soon = jwt(&format!(r#"{{"exp":{}}}"#, 1_800_000_000 + 86_400 * 3));
        assert!(matches!(
            check_token(&soon, now, 14),
            TokenCheck::ExpiresSoon { .. }
        ));
        let later = jwt(&format!(r#"{{"exp":{}}}"#, 1_800_000_000 + 86_400 * 30));
        assert!(matches!(
            check_token(&later, now, 14),
            TokenCheck::Valid { .. }
        ));
        assert_eq!(
            check_token(&Secret::new("opaque-token"), now, 14),
            TokenCheck::Opaque
        );
        assert_eq!(jwt_expiry(&Secret::new("a.%%%.c")), None);
    }
}
