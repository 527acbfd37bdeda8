//! Compact stable keys and membership edges. A million-row snapshot has millions of
//! memberships; holding each as two 36-character `String`s costs more than the rest of the
//! engine together, so UUID-shaped keys (objectGUID text, SCIM ids) are kept as 16 bytes.

use dirsnap_model::{Guid, MemberKind, Membership};
use std::fmt;

/// A stable key: objectGUID text (AD) or a SCIM `id` (IIJ ID). Lowercase 8-4-4-4-12 hex
/// text is stored as its 16 bytes (big-endian, byte-aligned so an edge stays small);
/// anything else verbatim. `to_string()` gives back the text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Uuid([u8; 16]),
    Text(Box<str>),
}

// One `write_u128` per UUID key: these are hashed tens of millions of times per plan.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Key::Uuid(b) => state.write_u128(u128::from_ne_bytes(*b)),
            Key::Text(t) => {
                state.write_u8(1);
                state.write(t.as_bytes());
                state.write_u8(0xff);
            }
        }
    }
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

/// A member of an [`Edges`] list: 18 bytes instead of an `Option<Key>` and a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    /// The UUID bytes, or for a text key its index in `Edges::texts` (little-endian, first
    /// four bytes).
    key: [u8; 16],
    kind: u8,
    tag: u8,
}

const TAG_NONE: u8 = 0;
const TAG_UUID: u8 = 1;
const TAG_TEXT: u8 = 2;

fn kind_code(k: MemberKind) -> u8 {
    match k {
        MemberKind::User => 0,
        MemberKind::Group => 1,
        MemberKind::Unknown => 2,
    }
}

fn kind_of(c: u8) -> MemberKind {
    match c {
        0 => MemberKind::User,
        1 => MemberKind::Group,
        _ => MemberKind::Unknown,
    }
}

/// A snapshot's memberships, compactly: the file lists them group by group, so each group
/// key is kept once per run and each member in 18 bytes. At 5,000,000 memberships that is
/// ~90 MiB instead of ~270 MiB as [`MemberEdge`]s. Order is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edges {
    /// (group key, index one past its run's last member).
    runs: Vec<(Key, u32)>,
    members: Vec<Packed>,
    texts: Vec<Box<str>>,
}

/// One membership of an [`Edges`] list.
#[derive(Debug, Clone, Copy)]
pub struct EdgeRef<'e> {
    pub group: &'e Key,
    member: Packed,
    texts: &'e [Box<str>],
}

impl EdgeRef<'_> {
    pub fn kind(&self) -> MemberKind {
        kind_of(self.member.kind)
    }

    /// The member's key, when the member is inside the exported scope.
    pub fn member(&self) -> Option<Key> {
        match self.member.tag {
            TAG_UUID => Some(Key::Uuid(self.member.key)),
            TAG_TEXT => {
                let mut i = [0u8; 4];
                i.copy_from_slice(&self.member.key[..4]);
                self.texts
                    .get(u32::from_le_bytes(i) as usize)
                    .map(|t| Key::Text(t.clone()))
            }
            _ => None,
        }
    }

    /// The member's UUID, when its key is one (nearly every member): no copy of a text key.
    pub fn member_uuid(&self) -> Option<&[u8; 16]> {
        (self.member.tag == TAG_UUID).then_some(&self.member.key)
    }

    pub fn to_edge(&self) -> MemberEdge {
        MemberEdge {
            group: self.group.clone(),
            member: self.member(),
            kind: self.kind(),
        }
    }
}

impl Edges {
    pub fn with_capacity(n: usize) -> Edges {
        Edges {
            runs: Vec::new(),
            members: Vec::with_capacity(n),
            texts: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Appends one membership (a new run when the group differs from the last one's).
    pub fn push(&mut self, group: Key, member: Option<Key>, kind: MemberKind) {
        let packed = match member {
            None => Packed {
                key: [0; 16],
                kind: kind_code(kind),
                tag: TAG_NONE,
            },
            Some(Key::Uuid(b)) => Packed {
                key: b,
                kind: kind_code(kind),
                tag: TAG_UUID,
            },
            Some(Key::Text(t)) => {
                let mut key = [0u8; 16];
                key[..4].copy_from_slice(&(self.texts.len() as u32).to_le_bytes());
                self.texts.push(t);
                Packed {
                    key,
                    kind: kind_code(kind),
                    tag: TAG_TEXT,
                }
            }
        };
        self.members.push(packed);
        let end = self.members.len() as u32;
        match self.runs.last_mut() {
            Some((g, e)) if *g == group => *e = end,
            _ => self.runs.push((group, end)),
        }
    }

    /// Appends another list after this one.
    pub fn append(&mut self, other: Edges) {
        let base = self.members.len() as u32;
        let texts = self.texts.len() as u32;
        self.members.extend(other.members.into_iter().map(|mut p| {
            if p.tag == TAG_TEXT {
                let mut i = [0u8; 4];
                i.copy_from_slice(&p.key[..4]);
                let moved = u32::from_le_bytes(i) + texts;
                p.key[..4].copy_from_slice(&moved.to_le_bytes());
            }
            p
        }));
        self.texts.extend(other.texts);
        for (g, end) in other.runs {
            let end = end + base;
            match self.runs.last_mut() {
                Some((last, e)) if *last == g => *e = end,
                _ => self.runs.push((g, end)),
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = EdgeRef<'_>> {
        self.range(0, self.members.len())
    }

    /// The memberships at positions `start..end`.
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = EdgeRef<'_>> {
        let end = end.min(self.members.len());
        let start = start.min(end);
        let mut run = self.runs.partition_point(|(_, e)| (*e as usize) <= start);
        (start..end).filter_map(move |i| {
            while self.runs.get(run).is_some_and(|(_, e)| (*e as usize) <= i) {
                run += 1;
            }
            let (group, _) = self.runs.get(run)?;
            Some(EdgeRef {
                group,
                member: *self.members.get(i)?,
                texts: &self.texts,
            })
        })
    }
}

impl FromIterator<MemberEdge> for Edges {
    fn from_iter<I: IntoIterator<Item = MemberEdge>>(iter: I) -> Edges {
        let mut out = Edges::default();
        for e in iter {
            out.push(e.group, e.member, e.kind);
        }
        out
    }
}

/// Converts snapshot membership rows to edges.
pub fn edges(rows: &[Membership]) -> Edges {
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
        assert_eq!(std::mem::size_of::<Packed>(), 18);
    }

    #[test]
    fn edges_keep_order_runs_and_text_keys() {
        let g1 = Key::parse("01020304-0506-0708-090a-0b0c0d0e0f10");
        let g2 = Key::parse("group-two");
        let list = vec![
            MemberEdge {
                group: g1.clone(),
                member: Some(Key::parse("user-a")),
                kind: MemberKind::User,
            },
            MemberEdge {
                group: g1.clone(),
                member: None,
                kind: MemberKind::Unknown,
            },
            MemberEdge {
                group: g2.clone(),
                member: Some(g1.clone()),
                kind: MemberKind::Group,
            },
            MemberEdge {
                group: g1.clone(),
                member: Some(Key::parse("ffffffff-ffff-ffff-ffff-ffffffffffff")),
                kind: MemberKind::User,
            },
        ];
        let e: Edges = list.iter().cloned().collect();
        assert_eq!(e.len(), 4);
        let back: Vec<MemberEdge> = e.iter().map(|r| r.to_edge()).collect();
        assert_eq!(back, list);
        let tail: Vec<MemberEdge> = e.range(1, 3).map(|r| r.to_edge()).collect();
        assert_eq!(tail, list[1..3].to_vec());
        let mut a: Edges = list[..2].iter().cloned().collect();
        a.append(list[2..].iter().cloned().collect());
        assert_eq!(a.iter().map(|r| r.to_edge()).collect::<Vec<_>>(), list);
    }

    #[test]
    fn guid_key_matches_guid_text() {
        let g = Guid([4, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16]);
        assert_eq!(Key::of_guid(&g), Key::parse(&g.to_string()));
        assert_eq!(Key::of_guid(&g).to_string(), g.to_string());
    }
}
