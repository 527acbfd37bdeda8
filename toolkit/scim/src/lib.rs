//! An async SCIM 2.0 client (RFC 7644) for IIJ ID, shared by `export iid` and `replay`:
//! bearer tokens, TLS through rustls, bounded retries with backoff and jitter honouring
//! `Retry-After`, SCIM error bodies whatever the type of `status`, and paged listing that
//! copes with capped page sizes and a tenant that changes during the read.

mod client;
mod error;
mod export;
mod list;
mod retry;
mod token;

pub use client::{ClientOptions, Response, SCIM_JSON, ScimClient};
pub use error::{ScimError, ScimErrorBody, WRITE_SCOPES, scope_for};
pub use export::{ExportError, ExportOptions, ExportProgress, IidExport, NoProgress, export_iid};
pub use list::{ListOptions, ListOutcome, ResourceType};
pub use retry::{
    GiveUp, RetryPolicy, ServerErrors, Unreachable, parse_retry_after, retry_after, retry_line,
    unreachable,
};
pub use token::{TokenCheck, check_token, jwt_expiry};
