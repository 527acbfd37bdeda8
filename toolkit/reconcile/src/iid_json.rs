//! IIJ ID rows as SCIM JSON: the verbatim `raw` an exporter kept, or — when `raw` was not read
//! — a resource rebuilt from the typed columns at the paths the profile assumes. Ownership
//! filters (`iid.scim.filter.*`) are evaluated on it, and the in-memory apply edits it; both
//! read it from here, so neither depends on the other.

use crate::profile::Profile;
use dirsnap_model::{IidGroup, IidUser, IidUserView};
use serde_json::{Value, json};

/// The SCIM JSON of an IIJ ID user: its verbatim `raw`, or one rebuilt from the typed
/// columns when `raw` was not read.
pub fn user_json(user: &IidUser, profile: &Profile) -> Value {
    if !user.raw.is_empty()
        && let Ok(value) = serde_json::from_str::<Value>(&user.raw)
    {
        return value;
    }
    user_to_json(user, profile)
}

/// [`user_json`] of a row of the engine's user table (the typed columns are copied out
/// only when `raw` was not read).
pub(crate) fn view_json(user: IidUserView<'_>, profile: &Profile) -> Value {
    if !user.raw().is_empty()
        && let Ok(value) = serde_json::from_str::<Value>(user.raw())
    {
        return value;
    }
    user_to_json(&user.to_row(), profile)
}

/// The SCIM JSON of an IIJ ID group, as [`user_json`].
pub(crate) fn group_json(group: &IidGroup) -> Value {
    if !group.raw.is_empty()
        && let Ok(value) = serde_json::from_str::<Value>(&group.raw)
    {
        return value;
    }
    json!({"id": group.id, "displayName": group.display_name, "externalId": group.external_id.clone().unwrap_or_default()})
}

/// A SCIM User resource rebuilt from the typed columns (when `raw` was not read), at the
/// paths this profile assumes.
pub fn user_to_json(u: &IidUser, profile: &Profile) -> Value {
    dirsnap_model::scim_json::user_from_columns(
        u,
        &dirsnap_model::scim_json::ColumnPaths {
            linking_id: profile.application_linking_id.clone(),
            department: profile.scim_path("department"),
        },
    )
}
