//! State digests for the replayer's stale-plan check (SPEC §6). A digest covers the typed
//! state of one IIJ ID object as the IID snapshot records it, so the replayer can re-read the
//! object over SCIM, build the same typed row (the exporter's JSON → `IidUser` conversion)
//! and compare: any difference means the tenant moved since the plan was computed.

use dirsnap_model::{IidGroup, IidUser};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Feeds serialized JSON straight into the hash (no intermediate `Value` or text).
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `sha256:` of the compact JSON text of `v` (a tuple serializes as a JSON array).
fn sha<T: Serialize>(v: &T) -> String {
    let mut w = HashWriter(Sha256::new());
    // Writing into a hasher cannot fail, and these values always serialize.
    let _ = serde_json::to_writer(&mut w, v);
    format!("sha256:{}", hex::encode(w.0.finalize()))
}

/// `sha256:` over a user's identity, attributes, state and `meta.lastModified`.
pub fn user_digest(u: &IidUser) -> String {
    sha(&(
        "user",
        &u.id,
        &u.user_name,
        &u.external_id,
        &u.downstream_id,
        u.active,
        u.pending_deletion,
        &u.display_name,
        &u.family_name,
        &u.given_name,
        &u.emails,
        &u.title,
        &u.department,
        &u.preferred_language,
        &u.timezone,
        u.meta_last_modified.map(|t| t.timestamp_micros()),
    ))
}

/// `sha256:` over a group's name, externalId, `meta.lastModified` and member ids (sorted).
pub fn group_digest(g: &IidGroup, member_ids: &[&str]) -> String {
    let mut ids: Vec<&str> = member_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    sha(&(
        "group",
        &g.id,
        &g.display_name,
        &g.external_id,
        g.meta_last_modified.map(|t| t.timestamp_micros()),
        ids,
    ))
}

/// [`group_digest`] for members whose ids are all lowercase UUIDs, given as keys: sorting
/// 16-byte keys orders them as their text (fixed-width lowercase hex), and the text needs no
/// JSON escaping, so the same bytes are hashed without building strings.
pub fn group_digest_uuids(g: &IidGroup, member_ids: &mut [[u8; 16]]) -> String {
    member_ids.sort_unstable();
    let mut head = Vec::with_capacity(128);
    let _ = serde_json::to_writer(
        &mut head,
        &(
            "group",
            &g.id,
            &g.display_name,
            &g.external_id,
            g.meta_last_modified.map(|t| t.timestamp_micros()),
        ),
    );
    head.pop(); // the closing `]`
    let mut h = Sha256::new();
    h.update(&head);
    h.update(b",[");
    let mut last: Option<&[u8; 16]> = None;
    let mut text = [0u8; 38];
    for id in member_ids.iter() {
        if last == Some(id) {
            continue;
        }
        if last.is_some() {
            h.update(b",");
        }
        last = Some(id);
        text[0] = b'"';
        let mut at = 1;
        for (i, b) in id.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                text[at] = b'-';
                at += 1;
            }
            text[at] = HEX_DIGITS[(b >> 4) as usize];
            text[at + 1] = HEX_DIGITS[(b & 0x0f) as usize];
            at += 2;
        }
        text[at] = b'"';
        h.update(&text[..at + 1]);
    }
    h.update(b"]]");
    format!("sha256:{}", hex::encode(h.finalize()))
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

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

    #[test]
    fn uuid_digest_equals_the_text_digest() {
        let g = IidGroup {
            id: "g-1".into(),
            display_name: "営業 \"部\"".into(),
            external_id: Some("x".into()),
            ..IidGroup::default()
        };
        let ids = [
            "ffffffff-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-00000000000a",
            "0a1b2c3d-4e5f-4061-8728-394a5b6c7d8e",
            "00000000-0000-4000-8000-00000000000a",
        ];
        let mut keys: Vec<[u8; 16]> = ids
            .iter()
            .map(|s| {
                let h = hex::decode(s.replace('-', "")).unwrap_or_default();
                let mut b = [0u8; 16];
                b.copy_from_slice(&h);
                b
            })
            .collect();
        assert_eq!(group_digest_uuids(&g, &mut keys), group_digest(&g, &ids));
        assert_eq!(group_digest_uuids(&g, &mut []), group_digest(&g, &[]));
    }

    /// The digest is the sha256 of the compact JSON array of the documented fields, the form
    /// the replayer recomputes; pinned here on values with escapes, nulls, lists and a time.
    #[test]
    fn digests_hash_the_compact_json_array() {
        let t = chrono::DateTime::from_timestamp(1_764_000_000, 123_000).unwrap_or_default();
        let u = IidUser {
            id: "u-1".into(),
            user_name: "太郎\"q\"@x".into(),
            external_id: None,
            downstream_id: Some("AAE=".into()),
            active: false,
            emails: vec!["a@x".into(), "b@x".into()],
            meta_last_modified: Some(t),
            ..IidUser::default()
        };
        let text = serde_json::json!([
            "user",
            "u-1",
            "太郎\"q\"@x",
            null,
            "AAE=",
            false,
            false,
            null,
            null,
            null,
            ["a@x", "b@x"],
            null,
            null,
            null,
            null,
            t.timestamp_micros()
        ])
        .to_string();
        let want = format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())));
        assert_eq!(user_digest(&u), want);
        let g = IidGroup {
            id: "g".into(),
            display_name: "営業".into(),
            ..IidGroup::default()
        };
        let text = r#"["group","g","営業",null,null,["a","b"]]"#;
        let want = format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())));
        assert_eq!(group_digest(&g, &["b", "a", "b"]), want);
    }
}
