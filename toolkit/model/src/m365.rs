use chrono::{DateTime, Utc};

/// A Microsoft 365 (Entra ID) user account, live or soft-deleted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct M365User {
    /// Entra object id.
    pub id: String,
    pub user_principal_name: String,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    /// `accountEnabled`; `false` means sign-in is blocked. `None` when the source did not say.
    pub account_enabled: Option<bool>,
    /// `onPremisesImmutableId`, the linkage key IIJ ID writes.
    pub immutable_id: Option<String>,
    /// `false` when the source cannot know the immutableId (the admin center CSV), so `None`
    /// above means "unknown" rather than "unset".
    pub immutable_id_known: bool,
    /// SKU ids or names of the assigned licenses.
    pub licenses: Vec<String>,
    pub created: Option<DateTime<Utc>>,
    /// Soft-deleted (in the recycle bin).
    pub deleted: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The Graph JSON object (or the CSV row as a JSON object) as received.
    pub raw: String,
}

/// A Microsoft 365 group. Exporters do not fill this table yet; it exists so every snapshot
/// kind has the same three files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct M365Group {
    pub id: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub raw: String,
}
