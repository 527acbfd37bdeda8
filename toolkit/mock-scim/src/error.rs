//! SCIM error responses (RFC 7644 §3.12) as IIJ ID shapes them, and the library's own errors.

use std::path::PathBuf;

/// The SCIM `Error` message schema URN.
pub const URN_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// An error the server answers with: an HTTP status, an optional `scimType` and a `detail`.
///
/// Rendered as IIJ ID does (ds/53259383): `{"schemas": [...], "detail": ..., "scimType": ...,
/// "status": "409"}` with `status` as a JSON string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::new(404, None, detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::new(400, Some("invalidValue"), detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::new(400, Some("invalidSyntax"), detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        ScimError::new(400, Some("invalidPath"), detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        ScimError::new(400, Some("noTarget"), detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        ScimError::new(400, Some("mutability"), detail)
    }

    /// IIJ ID's wording: `"externalId has already been taken"` (ds/53259383).
    pub fn uniqueness(attribute: &str) -> Self {
        ScimError::new(
            409,
            Some("uniqueness"),
            format!("{attribute} has already been taken"),
        )
    }

    /// The response body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("schemas".into(), serde_json::json!([URN_ERROR]));
        body.insert("detail".into(), self.detail.clone().into());
        if let Some(t) = self.scim_type {
            body.insert("scimType".into(), t.into());
        }
        body.insert("status".into(), self.status.to_string().into());
        serde_json::Value::Object(body)
    }
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.detail)?;
        if let Some(t) = self.scim_type {
            write!(f, " ({t})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScimError {}

/// What can go wrong starting, seeding or dumping the mock.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot start the mock's runtime: {0}")]
    Runtime(std::io::Error),
    #[error("invalid fault spec {spec:?}: {message}")]
    FaultSpec { spec: String, message: String },
    #[error("invalid token spec: {0}")]
    TokenSpec(String),
    #[error("invalid profile setting {key}: {message}")]
    Profile { key: String, message: String },
    #[error("invalid clock {spec:?}: expected \"wall\", \"logical\" or an RFC 3339 date-time")]
    Clock { spec: String },
    #[error(transparent)]
    Snapshot(#[from] dirsnap_snapshot::SnapshotError),
    #[error("cannot seed from {path}: {message}")]
    Seed { path: PathBuf, message: String },
    #[error("cannot seed: {0}")]
    SeedResource(String),
    #[error("cannot dump the state: {0}")]
    Dump(String),
}

impl MockError {
    /// Whether the caller gave bad input (exit 2 in the CLI) rather than hit a runtime failure.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            MockError::FaultSpec { .. }
            | MockError::TokenSpec(_)
            | MockError::Profile { .. }
            | MockError::Clock { .. }
            | MockError::Seed { .. }
            | MockError::SeedResource(_) => true,
            MockError::Snapshot(e) => e.is_invalid_input(),
            MockError::Bind { .. } | MockError::Runtime(_) | MockError::Dump(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_iij_shape_with_string_status() {
        let e = ScimError::uniqueness("externalId");
        assert_eq!(
            e.body().to_string(),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"externalId has already been taken","scimType":"uniqueness","status":"409"}"#
        );
        assert_eq!(
            ScimError::not_found("organization is not found.")
                .body()
                .to_string(),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"organization is not found.","status":"404"}"#
        );
    }
}
