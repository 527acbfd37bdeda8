//! State digests for the replayer's stale-plan check (SPEC §6). A digest covers the typed
//! state of one IIJ ID object as the IID snapshot records it, so the replayer can re-read the
//! object over SCIM, build the same typed row (the exporter's JSON → `IidUser` conversion)
//! and compare: any difference means the tenant moved since the plan was computed.

use dirsnap_model::{IidGroup, IidUser};
use serde_json::json;
use sha2::{Digest, Sha256};

fn sha(v: &serde_json::Value) -> String {
    let text = serde_json::to_string(v).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// `sha256:` over a user's identity, attributes, state and `meta.lastModified`.
pub fn user_digest(u: &IidUser) -> String {
    sha(&json!([
        "user",
        u.id,
        u.user_name,
        u.external_id,
        u.downstream_id,
        u.active,
        u.pending_deletion,
        u.display_name,
        u.family_name,
        u.given_name,
        u.emails,
        u.title,
        u.department,
        u.preferred_language,
        u.timezone,
        u.meta_last_modified.map(|t| t.timestamp_micros()),
    ]))
}

/// `sha256:` over a group's name, externalId, `meta.lastModified` and member ids (sorted).
pub fn group_digest(g: &IidGroup, member_ids: &[&str]) -> String {
    let mut ids: Vec<&str> = member_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    sha(&json!([
        "group",
        g.id,
        g.display_name,
        g.external_id,
        g.meta_last_modified.map(|t| t.timestamp_micros()),
        ids,
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_change_with_state_and_ignore_member_order() {
        let u = IidUser {
            id: "1".into(),
            user_name: "a@x".into(),
            active: true,
            ..IidUser::default()
        };
        let mut v = u.clone();
        assert_eq!(user_digest(&u), user_digest(&v));
        v.title = Some("t".into());
        assert_ne!(user_digest(&u), user_digest(&v));
        let g = IidGroup {
            id: "g".into(),
            display_name: "G".into(),
            ..IidGroup::default()
        };
        assert_eq!(group_digest(&g, &["b", "a"]), group_digest(&g, &["a", "b"]));
        assert_ne!(group_digest(&g, &["a"]), group_digest(&g, &["a", "b"]));
        assert!(user_digest(&u).starts_with("sha256:"));
    }
}
