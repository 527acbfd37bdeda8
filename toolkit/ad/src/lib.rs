//! Active Directory exporter over LDAP (ldap3): reads exactly the users and groups IIJ ID
//! Directory Sync reads — the config's `ad.ldap.filter.*` AND-ed with the object class, under
//! `ad.ldap.base_dn` — into an AD snapshot keyed by objectGUID.
//!
//! * failover over `ad.ldap.server.addresses`; plain LDAP, StartTLS or LDAPS (rustls, ring);
//!   simple bind;
//! * paged results (1.2.840.113556.1.4.319) on every search, continuation references skipped;
//! * ranged retrieval of `member` ([`range`]); members resolved to objectGUIDs, members outside
//!   the exported scope kept and flagged, nested groups recorded as group members;
//! * tombstones with the show-deleted control on request.
//!
//! docs/ad-export.md describes what is read and how; docs/snapshot-format.md the output.

mod convert;
mod entry;
mod error;
mod export;
mod filters;
mod members;
mod probe;
pub mod range;
mod session;
mod settings;
mod tls;

pub use convert::{Skipped, domain_of, parse_generalized_time};
pub use entry::{RawAttr, RawEntry};
pub use error::{AdError, Attempt};
pub use export::{
    ExportOptions, ExportSummary, GROUP_ATTRIBUTES, MAX_PAGE_SIZE, NoProgress, Progress,
    SearchSpec, Searches, USER_ATTRIBUTES, export, searches, user_attributes,
};
pub use filters::{
    DEFAULT_GROUP_CLASS, DEFAULT_USER_CLASS, EffectiveFilters, PROFILE_GROUP_CLASS,
    PROFILE_USER_CLASS, and_with_class, effective as effective_filters,
};
pub use members::{MemberCounts, ScopeIndex};
pub use probe::{
    EndpointOk, EndpointProbe, ProbeFailure, ProbeStage, Selected, count_selected, probe_endpoints,
};
pub use session::{PAGED_RESULTS_OID, SHOW_DELETED_OID, WireStats};
pub use settings::{ConnectionPlan, Endpoint, MAX_CONNECT_TIMEOUT, Transport, parse_address};
pub use tls::install_ring_provider;
