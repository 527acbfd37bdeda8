//! Bearer tokens with IIJ ID's scopes and an expiry (adm/17403468, ds/53259346).
//!
//! A missing, unknown or expired token answers 401 with `WWW-Authenticate: Bearer
//! error="invalid_token"` (RFC 6750; IIJ documents only that sync fails, docs/iij-assumptions.md
//! A2); a token without the scope an endpoint needs answers 403 with
//! `error="insufficient_scope"`. Token values never appear in logs, errors or `Debug` output.

use crate::error::{MockError, ScimError};
use chrono::{DateTime, Utc};
use std::sync::Mutex;

/// IIJ ID's four SCIM scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    ReadUsers,
    WriteUsers,
    ReadGroups,
    WriteGroups,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::ReadUsers,
        Scope::WriteUsers,
        Scope::ReadGroups,
        Scope::WriteGroups,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ReadUsers => "escim_read_users",
            Scope::WriteUsers => "escim_write_users",
            Scope::ReadGroups => "escim_read_groups",
            Scope::WriteGroups => "escim_write_groups",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|sc| sc.as_str() == s)
    }
}

/// One accepted token.
#[derive(Clone, PartialEq)]
pub struct TokenSpec {
    token: String,
    pub scopes: Vec<Scope>,
    /// From this instant on (on the mock's clock) the token is expired.
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for TokenSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSpec")
            .field("token", &"(redacted)")
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl TokenSpec {
    /// A token with all four scopes and no expiry.
    pub fn new(token: impl Into<String>) -> TokenSpec {
        TokenSpec {
            token: token.into(),
            scopes: Scope::ALL.to_vec(),
            expires_at: None,
        }
    }

    pub fn with_scopes(mut self, scopes: &[Scope]) -> TokenSpec {
        self.scopes = scopes.to_vec();
        self
    }

    pub fn expiring_at(mut self, at: DateTime<Utc>) -> TokenSpec {
        self.expires_at = Some(at);
        self
    }

    /// `TOKEN` or `TOKEN;scopes=escim_read_users,escim_read_groups;expires=RFC3339`.
    pub fn parse(spec: &str) -> Result<TokenSpec, MockError> {
        let mut parts = spec.split(';');
        let token = parts.next().unwrap_or("").trim();
        if token.is_empty() {
            return Err(MockError::TokenSpec("the token is empty".into()));
        }
        let mut out = TokenSpec::new(token);
        for part in parts {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                MockError::TokenSpec(format!(
                    "expected scopes=… or expires=… after the token, found {:?}",
                    part.trim()
                ))
            })?;
            match key.trim() {
                "scopes" => {
                    out.scopes = value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| {
                            Scope::parse(s).ok_or_else(|| {
                                MockError::TokenSpec(format!(
                                    "unknown scope {s:?}; expected escim_read_users, escim_write_users, escim_read_groups or escim_write_groups"
                                ))
                            })
                        })
                        .collect::<Result<_, _>>()?
                }
                "expires" => {
                    out.expires_at = Some(
                        DateTime::parse_from_rfc3339(value.trim())
                            .map_err(|e| {
                                MockError::TokenSpec(format!(
                                    "expires must be an RFC 3339 date-time: {e}"
                                ))
                            })?
                            .with_timezone(&Utc),
                    )
                }
                other => {
                    return Err(MockError::TokenSpec(format!(
                        "unknown token option {other:?}; expected scopes or expires"
                    )));
                }
            }
        }
        Ok(out)
    }
}

#[derive(Debug)]
struct TokenState {
    spec: TokenSpec,
    uses: u64,
}

/// The tokens the server accepts and how often each was used.
#[derive(Debug)]
pub struct Auth {
    tokens: Mutex<Vec<TokenState>>,
    /// The `token-expiry-after=N` fault: a token expires after serving N requests.
    expire_after: Option<u64>,
}

impl Auth {
    /// Without tokens every request is accepted (as scim2-server does), so generic clients
    /// can be pointed at the mock without setup. Once a token exists — given at start or
    /// issued through `/_mock/tokens` — every request, the admin endpoints' included, needs
    /// one: an open mock that was handed a token must not stay open to everyone else.
    pub fn new(tokens: Vec<TokenSpec>, expire_after: Option<u64>) -> Auth {
        Auth {
            tokens: Mutex::new(
                tokens
                    .into_iter()
                    .map(|spec| TokenState { spec, uses: 0 })
                    .collect(),
            ),
            expire_after,
        }
    }

    pub fn is_open(&self) -> bool {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Adds (or renews) a token at run time: the admin endpoint's "issue a new token".
    pub fn add(&self, spec: TokenSpec) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|t| t.spec.token != spec.token);
        tokens.push(TokenState { spec, uses: 0 });
    }

    /// Whether the header carries one of the tokens (expired or not, any scope): the admin
    /// endpoints' check.
    pub fn knows(&self, authorization: Option<&str>) -> bool {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.is_empty() {
            return true;
        }
        let Some(presented) = bearer(authorization) else {
            return false;
        };
        tokens
            .iter()
            .any(|t| constant_time_eq(t.spec.token.as_bytes(), presented.as_bytes()))
    }

    /// Checks the `Authorization` header for a request needing `needed`.
    pub fn check(
        &self,
        authorization: Option<&str>,
        needed: &[Scope],
        now: DateTime<Utc>,
    ) -> Result<(), ScimError> {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.is_empty() {
            return Ok(());
        }
        let Some(presented) = bearer(authorization) else {
            return Err(unauthorized("the request has no bearer access token"));
        };
        let Some(state) = tokens
            .iter_mut()
            .find(|t| constant_time_eq(t.spec.token.as_bytes(), presented.as_bytes()))
        else {
            return Err(unauthorized(
                "the access token is invalid or has been revoked",
            ));
        };
        if state.spec.expires_at.is_some_and(|at| now >= at) {
            return Err(unauthorized("the access token has expired"));
        }
        if self.expire_after.is_some_and(|n| state.uses >= n) {
            return Err(unauthorized("the access token has expired"));
        }
        state.uses += 1;
        if let Some(missing) = needed.iter().find(|s| !state.spec.scopes.contains(s)) {
            return Err(ScimError::new(
                403,
                None,
                format!("the access token lacks the scope {}", missing.as_str()),
            )
            .with_header(
                "www-authenticate",
                format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                    missing.as_str()
                ),
            ));
        }
        Ok(())
    }
}

fn bearer(authorization: Option<&str>) -> Option<&str> {
    authorization
        .and_then(|h| {
            let (scheme, rest) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
}

fn unauthorized(detail: &str) -> ScimError {
    ScimError::new(401, None, detail).with_header(
        "www-authenticate",
        format!("Bearer error=\"invalid_token\", error_description=\"{detail}\""),
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn parse_token_specs() {
        let t = TokenSpec::parse("abc;scopes=escim_read_users;expires=2026-02-01T00:00:00+09:00")
            .unwrap();
        assert_eq!(t.scopes, vec![Scope::ReadUsers]);
        assert_eq!(
            t.expires_at.unwrap().to_rfc3339(),
            "2026-01-31T15:00:00+00:00"
        );
        assert!(TokenSpec::parse("abc;scopes=root").is_err());
        assert!(TokenSpec::parse(";scopes=escim_read_users").is_err());
        assert!(!format!("{t:?}").contains("abc"));
    }

    #[test]
    fn check_401_403_and_expiry() {
        let auth = Auth::new(
            vec![
                TokenSpec::new("full"),
                TokenSpec::new("ro").with_scopes(&[Scope::ReadUsers]),
                TokenSpec::new("old").expiring_at(t0()),
            ],
            Some(2),
        );
        assert_eq!(auth.check(None, &[], t0()).unwrap_err().status, 401);
        assert_eq!(
            auth.check(Some("Bearer nope"), &[], t0())
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            auth.check(Some("Bearer old"), &[], t0())
                .unwrap_err()
                .status,
            401
        );
        let e = auth
            .check(Some("Bearer ro"), &[Scope::WriteUsers], t0())
            .unwrap_err();
        assert_eq!(e.status, 403);
        assert!(e.headers[0].1.contains("escim_write_users"));
        assert!(
            auth.check(Some("bearer full"), &[Scope::WriteGroups], t0())
                .is_ok()
        );
        assert!(auth.check(Some("Bearer full"), &[], t0()).is_ok());
        // token-expiry-after=2: the third request with the same token is refused.
        let e = auth.check(Some("Bearer full"), &[], t0()).unwrap_err();
        assert_eq!(e.status, 401);
        assert!(e.headers[0].1.starts_with("Bearer error=\"invalid_token\""));
        assert!(auth.knows(Some("Bearer full")));
        auth.add(TokenSpec::new("full"));
        assert!(auth.check(Some("Bearer full"), &[], t0()).is_ok());
        let open = Auth::new(Vec::new(), None);
        assert!(open.check(None, &[Scope::WriteUsers], t0()).is_ok());
        assert!(open.knows(None));
        // A token issued to an open mock closes it: from then on every request, the admin
        // endpoints' included, needs a token.
        open.add(TokenSpec::new("issued"));
        assert!(!open.is_open());
        assert!(!open.knows(None));
        assert!(!open.knows(Some("Bearer guess")));
        assert!(open.knows(Some("Bearer issued")));
        assert_eq!(
            open.check(None, &[Scope::ReadUsers], t0())
                .unwrap_err()
                .status,
            401
        );
    }
}
