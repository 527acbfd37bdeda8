//! The stable keys actions, findings and skipped objects carry (docs/plan-format.md, `keys`):
//! `objectGUID`, `dn` and `domain` of the AD object, `id` of the IIJ ID object. Identity is
//! the objectGUID / SCIM id; the DN is there for people.

use dirsnap_model::{AdGroup, AdUserView};
use dirsnap_plan::Keys;

pub(crate) fn ad_user_keys(user: AdUserView<'_>) -> Keys {
    let mut keys = Keys::with_capacity(4);
    keys.insert("objectGUID", user.object_guid().to_string());
    keys.insert("dn", user.dn().to_owned());
    if !user.domain().is_empty() {
        keys.insert("domain", user.domain().to_owned());
    }
    keys
}

pub(crate) fn ad_group_keys(group: &AdGroup) -> Keys {
    let mut keys = Keys::with_capacity(4);
    keys.insert("objectGUID", group.object_guid.to_string());
    keys.insert("dn", group.dn.clone());
    if !group.domain.is_empty() {
        keys.insert("domain", group.domain.clone());
    }
    keys
}

/// The keys of an AD user and of the IIJ ID user (SCIM `id`) it maps to.
pub(crate) fn ad_user_and_iid_keys(user: AdUserView<'_>, id: &str) -> Keys {
    let mut keys = ad_user_keys(user);
    keys.insert("id", id.to_string());
    keys
}

pub(crate) fn iid_keys(id: &str) -> Keys {
    let mut keys = Keys::with_capacity(1);
    keys.insert("id", id.to_string());
    keys
}
