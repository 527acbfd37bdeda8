use chrono::{DateTime, Utc};

pub const URN_CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const URN_CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const URN_ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// IIJ's spelling, `extention` included: it must be kept exactly.
pub const URN_OIDFJ_ENTERPRISEJP_USER: &str =
    "urn:oidfj:params:scim:schemas:extention:enterprisejp:2.0:User";
pub const URN_IIJ_ENTERPRISEJP_USER: &str =
    "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User";
pub const URN_IIJ_ENTERPRISE_GROUP: &str =
    "urn:iij:params:scim:schemas:extension:enterprise:2.0:Group";

/// An IIJ ID user (SCIM User resource) as exported: typed columns for what the engine reads,
/// and the verbatim JSON in `raw`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IidUser {
    /// SCIM `id` (server-assigned UUID).
    pub id: String,
    /// SCIM `userName`: IIJ ID's login ID.
    pub user_name: String,
    /// `externalId`; IIJ ID returns `""` when unset, which is stored as `None`.
    pub external_id: Option<String>,
    /// The application-linking ID (アプリケーション連携ID); where it lives in SCIM is an IIJ
    /// assumption (docs/iij-assumptions.md).
    pub downstream_id: Option<String>,
    pub active: bool,
    pub display_name: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    /// The primary notification email (or the first one when none is primary).
    pub email: Option<String>,
    /// Every notification email, in the order received.
    pub emails: Vec<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub preferred_language: Option<String>,
    pub timezone: Option<String>,
    /// The user is pending deletion (削除待ち): soft-deleted, login ID still reserved.
    pub pending_deletion: bool,
    pub meta_created: Option<DateTime<Utc>>,
    pub meta_last_modified: Option<DateTime<Utc>>,
    /// `meta.version` (ETag) when the server sends one.
    pub meta_version: Option<String>,
    /// The resource exactly as the server sent it (JSON text).
    pub raw: String,
}

/// An IIJ ID group (SCIM Group resource). Members are rows of `memberships.parquet`; `raw`
/// holds the verbatim JSON without the `members` array.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IidGroup {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub description: Option<String>,
    pub meta_created: Option<DateTime<Utc>>,
    pub meta_last_modified: Option<DateTime<Utc>>,
    pub meta_version: Option<String>,
    pub raw: String,
}
