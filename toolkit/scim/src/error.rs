use chrono::{DateTime, Utc};
use serde_json::Value;

/// The scopes IIJ ID access tokens carry (iij-facts.md §1); Directory Sync needs all four.
pub const WRITE_SCOPES: [&str; 4] = [
    "escim_read_users",
    "escim_write_users",
    "escim_read_groups",
    "escim_write_groups",
];

/// The scope a request needs, from its method and path.
pub fn scope_for(method: &reqwest::Method, path: &str) -> &'static str {
    let groups = path.trim_start_matches('/').starts_with("Groups");
    let read = method == reqwest::Method::GET
        || (method == reqwest::Method::POST && path.ends_with(".search"));
    match (groups, read) {
        (false, true) => "escim_read_users",
        (false, false) => "escim_write_users",
        (true, true) => "escim_read_groups",
        (true, false) => "escim_write_groups",
    }
}

/// A SCIM error response body (RFC 7644 §3.12). IIJ ID sends `status` as a string, others as
/// a number: both are accepted and kept as text.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimErrorBody {
    pub status: Option<String>,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    /// The body as received.
    pub raw: Value,
}

impl ScimErrorBody {
    pub fn parse(body: &str) -> Option<ScimErrorBody> {
        let raw: Value = serde_json::from_str(body).ok()?;
        let obj = raw.as_object()?;
        let status = match obj.get("status") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let (scim_type, detail) = (text("scimType"), text("detail"));
        if status.is_none() && detail.is_none() && scim_type.is_none() {
            return None;
        }
        Some(ScimErrorBody {
            status,
            scim_type,
            detail,
            raw,
        })
    }

    fn describe(&self) -> String {
        let mut s = self.detail.clone().unwrap_or_else(|| "no detail".into());
        if let Some(t) = &self.scim_type {
            s.push_str(&format!(" (scimType {t})"));
        }
        s
    }
}

fn body_text(body: &Option<Box<ScimErrorBody>>) -> String {
    body.as_ref()
        .map_or_else(String::new, |b| format!(": {}", b.describe()))
}

fn exp_text(exp: &Option<DateTime<Utc>>) -> String {
    exp.map_or_else(String::new, |e| {
        format!(
            " (the token's exp claim is {})",
            e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    })
}

/// Why a SCIM request failed. Messages never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    #[error(
        "{method} {url}: 401 Unauthorized: the IIJ ID access token has expired or was revoked{}{}; \
         issue a new token in IIJ ID Console (My Menu → Access Token Management) and update \
         secret.yml or DIRSNAP_IID_TOKEN",
        exp_text(.token_exp), body_text(.body)
    )]
    Unauthorized {
        method: String,
        url: String,
        token_exp: Option<DateTime<Utc>>,
        body: Option<Box<ScimErrorBody>>,
    },
    #[error(
        "{method} {url}: 403 Forbidden: the access token lacks the scope {scope}{}; issue a token \
         with the scopes escim_read_users, escim_write_users, escim_read_groups, escim_write_groups",
        body_text(.body)
    )]
    Forbidden {
        method: String,
        url: String,
        scope: &'static str,
        body: Option<Box<ScimErrorBody>>,
    },
    #[error("{method} {url}: HTTP {status}{}", body_text(.body))]
    Status {
        method: String,
        url: String,
        status: u16,
        body: Option<Box<ScimErrorBody>>,
        /// The raw body when it was not a SCIM error (truncated).
        text: String,
    },
    #[error("{method} {url}: gave up after {attempts} attempts over {elapsed_secs:.1} s: {last}")]
    RetriesExhausted {
        method: String,
        url: String,
        attempts: u32,
        elapsed_secs: f64,
        last: String,
    },
    /// The connection could not be made for a reason retrying soon would not change
    /// (refused, the name does not resolve); the message says what to check.
    #[error("{method} {url}: {message}")]
    Unreachable {
        method: String,
        url: String,
        message: String,
    },
    #[error("{method} {url}: {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
    },
    #[error("{url}: the response is not what SCIM specifies: {message}")]
    InvalidResponse { url: String, message: String },
    #[error("invalid SCIM client setting: {0}")]
    Setup(String),
}

impl ScimError {
    /// 401/403: nothing more can be done with this token; the run must stop.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            ScimError::Unauthorized { .. } | ScimError::Forbidden { .. }
        )
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ScimError::Unauthorized { .. } => Some(401),
            ScimError::Forbidden { .. } => Some(403),
            ScimError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn body(&self) -> Option<&ScimErrorBody> {
        match self {
            ScimError::Unauthorized { body, .. }
            | ScimError::Forbidden { body, .. }
            | ScimError::Status { body, .. } => body.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iij_string_status_and_numeric_status() {
        let b = ScimErrorBody::parse(
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"externalId has already been taken","scimType":"uniqueness","status":"409"}"#,
        )
        .unwrap();
        assert_eq!(b.status.as_deref(), Some("409"));
        assert_eq!(b.scim_type.as_deref(), Some("uniqueness"));
        assert_eq!(
            b.detail.as_deref(),
            Some("externalId has already been taken")
        );
        let b = ScimErrorBody::parse(r#"{"status":404,"detail":"organization is not found."}"#)
            .unwrap();
        assert_eq!(b.status.as_deref(), Some("404"));
        assert!(ScimErrorBody::parse("<html>").is_none());
        assert!(ScimErrorBody::parse(r#"{"Resources":[]}"#).is_none());
    }

    #[test]
    fn scopes_by_method_and_path() {
        use reqwest::Method;
        assert_eq!(scope_for(&Method::GET, "Users"), "escim_read_users");
        assert_eq!(scope_for(&Method::PATCH, "Users/1"), "escim_write_users");
        assert_eq!(
            scope_for(&Method::GET, "Groups?filter=x"),
            "escim_read_groups"
        );
        assert_eq!(scope_for(&Method::DELETE, "Groups/1"), "escim_write_groups");
        assert_eq!(
            scope_for(&Method::POST, "Users/.search"),
            "escim_read_users"
        );
    }
}
