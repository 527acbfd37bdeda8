//! Microsoft 365 exporter: Microsoft Graph users and deleted users, or the admin center CSV.
//!
//! The recreated-account checks (SPEC §5, `M365_RECREATE_*`) need, per Microsoft 365 account:
//! its userPrincipalName, whether sign-in is blocked (`accountEnabled`), its
//! `onPremisesImmutableId` (the linkage IIJ ID writes) and whether it is soft-deleted. This
//! crate gets them from Graph ([`export_graph`]) or from the admin center's "Export users"
//! CSV ([`import_csv`], where the immutableId is unknown, not guessed) and writes an `m365`
//! snapshot. It decides nothing; the reconcile engine reads the snapshot.

pub mod auth;
pub mod csv_import;
mod error;
mod export;
#[cfg(feature = "fixture-server")]
pub mod fixture;
pub mod graph;
pub mod retry;

pub use auth::{
    ClientCredentials, CredentialInputs, Credentials, DEFAULT_AUTHORITY, DEFAULT_SCOPE,
    ENV_AUTHORITY, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_SCOPE, ENV_TENANT_ID, resolve_credentials,
};
pub use csv_import::{CsvImport, CsvOptions, parse_csv, read_csv_file};
pub use dirsnap_config::Secret;
pub use error::M365Error;
pub use export::{ExportReport, Tally, export_graph, import_csv};
pub use graph::{
    Collection, DEFAULT_GRAPH_URL, GraphClient, GraphOptions, GraphStats, MAX_PAGE_SIZE, Progress,
    USER_SELECT, parse_graph_url, user_from_graph,
};
pub use retry::RetryPolicy;
