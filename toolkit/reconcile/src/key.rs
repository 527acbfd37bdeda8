//! Compact stable keys and membership edges. A million-row snapshot has millions of
//! memberships; holding each as two 36-character `String`s costs more than the rest of the
//! engine together, so UUID-shaped keys (objectGUID text, SCIM ids) are kept as 16 bytes.

use dirsnap_model::{Guid, MemberKind, Membership};
use std::fmt;

/// A stable key: objectGUID text (AD) or a SCIM `id` (IIJ ID). Lowercase 8-4-4-4-12 hex
/// text is stored as its 16 bytes (big-endian, byte-aligned so an edge stays small);
/// anything else verbatim. `to_string()` gives back the text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Uuid([u8; 16]),
    Text(Box<str>),
}

impl Default for Key {
    fn default() -> Self {
        Key::Uuid([0; 16])
    }
}

impl Key {
    pub fn parse(s: &str) -> Key {
        parse_lower_uuid(s).map_or_else(|| Key::Text(s.into()), |v| Key::Uuid(v.to_be_bytes()))
    }

    /// The key of an AD object: its objectGUID in canonical text order.
    pub fn of_guid(g: &Guid) -> Key {
        let b = g.as_bytes();
        let text_order = [
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15],
        ];
        Key::Uuid(text_order)
    }
}

/// Lowercase hex digit values; 0xff for anything else (uppercase too: such keys stay text).
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut c = 0;
    while c < 10 {
        t[b'0' as usize + c] = c as u8;
        c += 1;
    }
    let mut c = 0;
    while c < 6 {
        t[b'a' as usize + c] = 10 + c as u8;
        c += 1;
    }
    t
};

// Called for every key of every membership row (tens of millions per plan): a table lookup
// per digit, dashes checked once.
fn parse_lower_uuid(s: &str) -> Option<u128> {
    let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
    if b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let mut v: u128 = 0;
    let mut bad = 0u8;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        let d = HEX[c as usize];
        bad |= d;
        v = (v << 4) | u128::from(d & 0x0f);
    }
    (bad & 0xf0 == 0).then_some(v)
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Text(t) => f.write_str(t),
            Key::Uuid(b) => {
                let h = hex::encode(b);
                write!(
                    f,
                    "{}-{}-{}-{}-{}",
                    &h[0..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..32]
                )
            }
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

/// One direct membership, compactly: the group's key, the member's key (absent when the
/// member is outside the exported scope) and what the member is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MemberEdge {
    pub group: Key,
    pub member: Option<Key>,
    pub kind: MemberKind,
}

impl From<&Membership> for MemberEdge {
    fn from(m: &Membership) -> Self {
        MemberEdge {
            group: Key::parse(&m.group_key),
            member: m.member_key.as_deref().map(Key::parse),
            kind: m.member_kind,
        }
    }
}

/// Converts snapshot membership rows to edges.
pub fn edges(rows: &[Membership]) -> Vec<MemberEdge> {
    rows.iter().map(MemberEdge::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_keys_round_trip_and_text_is_kept() {
        for s in [
            "01020304-0506-0708-090a-0b0c0d0e0f10",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "00000000-0000-0000-0000-000000000000",
        ] {
            let k = Key::parse(s);
            assert!(matches!(k, Key::Uuid(_)));
            assert_eq!(k.to_string(), s);
        }
        for s in ["ABCDEF00-0506-0708-090a-0b0c0d0e0f10", "user-1", ""] {
            assert_eq!(Key::parse(s), Key::Text(s.into()));
            assert_eq!(Key::parse(s).to_string(), s);
        }
    }

    #[test]
    fn edges_stay_small() {
        assert!(std::mem::size_of::<Key>() <= 24);
        assert!(std::mem::size_of::<MemberEdge>() <= 56);
    }

    #[test]
    fn guid_key_matches_guid_text() {
        let g = Guid([4, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16]);
        assert_eq!(Key::of_guid(&g), Key::parse(&g.to_string()));
        assert_eq!(Key::of_guid(&g).to_string(), g.to_string());
    }
}
