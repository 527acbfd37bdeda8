//! Lookup structures over snapshot rows, built once, without cloning rows. A million-user
//! plan does tens of millions of lookups here, so the structures are compact: one `u32` per
//! key in the common unique case, members as one flat array per snapshot.

use crate::key::{EdgeRef, Edges, Key};
use crate::pending::PendingEvidence;
use dirsnap_model::{IidGroup, IidUserTable, IidUserView, MemberKind};
use std::hash::{BuildHasher, Hash, Hasher};

pub type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub fn map_with_capacity<K, V>(n: usize) -> Map<K, V> {
    Map::with_capacity_and_hasher(n, foldhash::fast::RandomState::default())
}

/// A string compared case-insensitively (SCIM `userName`, group names): ASCII fast path,
/// Unicode lowercase otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Ci<'a>(pub &'a str);

impl PartialEq for Ci<'_> {
    fn eq(&self, other: &Self) -> bool {
        if self.0.is_ascii() && other.0.is_ascii() {
            self.0.eq_ignore_ascii_case(other.0)
        } else {
            self.0
                .chars()
                .flat_map(char::to_lowercase)
                .eq(other.0.chars().flat_map(char::to_lowercase))
        }
    }
}

impl Eq for Ci<'_> {}

impl Hash for Ci<'_> {
    /// Hashes the lowercased UTF-8 bytes in one `write`: two strings equal under `eq` (ASCII
    /// or not, e.g. KELVIN SIGN vs `k`) lowercase to the same bytes.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let s = self.0;
        let mut stack = [0u8; 128];
        if s.is_ascii() && s.len() <= stack.len() {
            let buf = &mut stack[..s.len()];
            buf.copy_from_slice(s.as_bytes());
            buf.make_ascii_lowercase();
            state.write(buf);
        } else {
            let lower: String = s.chars().flat_map(char::to_lowercase).collect();
            state.write(lower.as_bytes());
        }
        state.write_u8(0xff);
    }
}

/// Case-insensitive equality of two strings.
pub fn eq_ci(a: &str, b: &str) -> bool {
    Ci(a) == Ci(b)
}

/// Marks a [`Multi`] entry whose key has further rows in `more`.
const MORE: u32 = 1 << 31;

/// A key → rows index where keys are almost always unique: one `u32` per key, a list only
/// for the rare duplicates (looked up only when the key has them). Rows must be < 2^31.
#[derive(Debug)]
pub struct Multi<K: Hash + Eq> {
    first: Map<K, u32>,
    more: Map<K, Vec<u32>>,
}

/// The rows of one key: no allocation for the usual zero or one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hits<'m> {
    first: Option<u32>,
    more: &'m [u32],
}

impl<'m> Hits<'m> {
    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    pub fn first(&self) -> Option<u32> {
        self.first
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + 'm {
        self.first.into_iter().chain(self.more.iter().copied())
    }
}

impl<K: Hash + Eq + Clone> Multi<K> {
    pub fn with_capacity(n: usize) -> Self {
        Multi {
            first: map_with_capacity(n),
            more: map_with_capacity(0),
        }
    }

    pub fn insert(&mut self, k: K, v: u32) {
        match self.first.entry(k) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                *e.get_mut() |= MORE;
                self.more.entry(e.key().clone()).or_default().push(v);
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }

    /// Keys with more than one row, with all their rows (first one first).
    pub fn duplicates(&self) -> Vec<(&K, Vec<u32>)> {
        self.more
            .iter()
            .filter_map(|(k, extra)| {
                let first = *self.first.get(k)? & !MORE;
                let mut all = vec![first];
                all.extend_from_slice(extra);
                Some((k, all))
            })
            .collect()
    }

    pub fn get(&self, k: &K) -> Hits<'_> {
        match self.first.get(k) {
            None => Hits::default(),
            Some(&v) if v & MORE == 0 => Hits {
                first: Some(v),
                more: &[],
            },
            Some(&v) => Hits {
                first: Some(v & !MORE),
                more: self.more.get(k).map_or(&[], Vec::as_slice),
            },
        }
    }
}

/// A user attribute a [`UserKeyIndex`] is keyed by.
pub trait UserAttribute {
    type Key<'k>: Hash;
    /// The user's key (`None`: the user is not indexed).
    fn of(user: IidUserView<'_>) -> Option<Self::Key<'_>>;
    fn same(a: &Self::Key<'_>, b: &Self::Key<'_>) -> bool;
}

/// A user's non-empty externalId.
pub struct ExternalId;
impl UserAttribute for ExternalId {
    type Key<'k> = &'k str;
    fn of(user: IidUserView<'_>) -> Option<&str> {
        user.external_id().filter(|e| !e.is_empty())
    }
    fn same(a: &&str, b: &&str) -> bool {
        a == b
    }
}

/// A user's non-empty application-linking ID.
pub struct LinkingId;
impl UserAttribute for LinkingId {
    type Key<'k> = &'k str;
    fn of(user: IidUserView<'_>) -> Option<&str> {
        user.downstream_id().filter(|d| !d.is_empty())
    }
    fn same(a: &&str, b: &&str) -> bool {
        a == b
    }
}

/// A user's userName, compared case-insensitively.
pub struct UserName;
impl UserAttribute for UserName {
    type Key<'k> = Ci<'k>;
    fn of(user: IidUserView<'_>) -> Option<Ci<'_>> {
        Some(Ci(user.user_name()))
    }
    fn same(a: &Ci<'_>, b: &Ci<'_>) -> bool {
        a == b
    }
}

/// An IIJ ID user attribute → the rows of the users that have it, holding rows only: the key
/// is read back from the user table when two hashes meet. A `Multi<&str>` holds a 16-byte
/// string reference beside each row (≈ 50 MB per map at a million users); this holds 4 bytes
/// (≈ 10 MB). Rows come back in insertion order, as from [`Multi`].
pub struct UserKeyIndex<'a, A> {
    users: &'a IidUserTable,
    hasher: foldhash::fast::RandomState,
    /// The first row of each key, with [`MORE`] set when it has more.
    first: hashbrown::HashTable<u32>,
    /// The further rows of a key, by its first row.
    more: Map<u32, Vec<u32>>,
    attribute: std::marker::PhantomData<A>,
}

impl<'a, A: UserAttribute> UserKeyIndex<'a, A> {
    /// Every user with a key, in row order.
    pub fn new(users: &'a IidUserTable) -> Self {
        let mut index = UserKeyIndex::empty(users);
        let hasher = &index.hasher;
        index
            .first
            .reserve(users.len(), |&r| Self::hash_of_row(users, hasher, r));
        for user in users.iter() {
            if let Some(key) = A::of(user) {
                index.insert(&key, user.index() as u32);
            }
        }
        index
    }

    /// An index of nothing (what is left once matching is done).
    pub fn empty(users: &'a IidUserTable) -> Self {
        UserKeyIndex {
            users,
            hasher: foldhash::fast::RandomState::default(),
            first: hashbrown::HashTable::new(),
            more: map_with_capacity(0),
            attribute: std::marker::PhantomData,
        }
    }

    /// The key of `row` (an entry of `first`, [`MORE`] bit and all) equals `key`.
    fn row_has(&self, row: u32, key: &A::Key<'_>) -> bool {
        self.users
            .get((row & !MORE) as usize)
            .and_then(A::of)
            .is_some_and(|k| A::same(&k, key))
    }

    /// The hash of the key of `row`, for the table to move its entries when it grows.
    fn hash_of_row(users: &IidUserTable, hasher: &foldhash::fast::RandomState, row: u32) -> u64 {
        users
            .get((row & !MORE) as usize)
            .and_then(A::of)
            .map_or(0, |k| hasher.hash_one(&k))
    }

    fn insert(&mut self, key: &A::Key<'_>, row: u32) {
        let hash = self.hasher.hash_one(key);
        if let Some(first) = self.first.find(hash, |&r| self.row_has(r, key)).copied() {
            if let Some(entry) = self.first.find_mut(hash, |&r| r == first) {
                *entry |= MORE;
            }
            self.more.entry(first & !MORE).or_default().push(row);
            return;
        }
        let (users, hasher) = (self.users, &self.hasher);
        self.first
            .insert_unique(hash, row, |&r| Self::hash_of_row(users, hasher, r));
    }

    /// No key has more than one row.
    pub fn is_unique(&self) -> bool {
        self.more.is_empty()
    }

    pub fn get(&self, key: &A::Key<'_>) -> Hits<'_> {
        let hash = self.hasher.hash_one(key);
        match self.first.find(hash, |&r| self.row_has(r, key)) {
            None => Hits::default(),
            Some(&row) if row & MORE == 0 => Hits {
                first: Some(row),
                more: &[],
            },
            Some(&row) => Hits {
                first: Some(row & !MORE),
                more: self.more.get(&(row & !MORE)).map_or(&[], Vec::as_slice),
            },
        }
    }
}

/// Stable key → row, for the tens of millions of membership lookups of a plan. UUID keys
/// (nearly all) live in one open-addressing table of 20-byte slots, key and row side by side,
/// so a lookup is usually one memory access; other keys in an ordinary map. As with
/// `HashMap::insert`, a later insert of the same key replaces the row.
#[derive(Debug, Clone)]
pub struct KeyIndex {
    slots: Vec<Slot>,
    mask: usize,
    text: Map<Box<str>, u32>,
    len: usize,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: [u8; 16],
    row: u32,
}

const EMPTY: u32 = u32::MAX;

/// UUIDs are random already; one multiply spreads the fixed version/variant bits.
fn slot_of(k: &[u8; 16], mask: usize) -> usize {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&k[..8]);
    b.copy_from_slice(&k[8..]);
    let h = (u64::from_le_bytes(a) ^ u64::from_le_bytes(b).rotate_left(29))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 20) as usize & mask
}

impl KeyIndex {
    pub fn with_capacity(n: usize) -> KeyIndex {
        // At most half full: short probe runs.
        let size = (n.max(4) * 2).next_power_of_two();
        KeyIndex {
            slots: vec![
                Slot {
                    key: [0; 16],
                    row: EMPTY,
                };
                size
            ],
            mask: size - 1,
            text: map_with_capacity(0),
            len: 0,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let size = (old.len() * 2).max(8);
        self.slots = vec![
            Slot {
                key: [0; 16],
                row: EMPTY,
            };
            size
        ];
        self.mask = size - 1;
        for s in old.into_iter().filter(|s| s.row != EMPTY) {
            self.put(s.key, s.row);
        }
    }

    /// Inserts or replaces; true when the key was new.
    fn put(&mut self, key: [u8; 16], row: u32) -> bool {
        let mut i = slot_of(&key, self.mask);
        loop {
            let Some(slot) = self.slots.get_mut(i) else {
                return false;
            };
            if slot.row == EMPTY {
                *slot = Slot { key, row };
                return true;
            }
            if slot.key == key {
                slot.row = row;
                return false;
            }
            i = (i + 1) & self.mask;
        }
    }

    pub fn insert(&mut self, key: Key, row: u32) {
        debug_assert!(row != EMPTY);
        match key {
            Key::Uuid(b) => {
                if (self.len + 1) * 2 > self.slots.len() {
                    self.grow();
                }
                if self.put(b, row) {
                    self.len += 1;
                }
            }
            Key::Text(t) => {
                if self.text.insert(t, row).is_none() {
                    self.len += 1;
                }
            }
        }
    }

    pub fn get(&self, key: &Key) -> Option<u32> {
        match key {
            Key::Uuid(b) => {
                let mut i = slot_of(b, self.mask);
                loop {
                    let slot = self.slots.get(i)?;
                    if slot.row == EMPTY {
                        return None;
                    }
                    if slot.key == *b {
                        return Some(slot.row);
                    }
                    i = (i + 1) & self.mask;
                }
            }
            Key::Text(t) => self.text.get(t).copied(),
        }
    }

    pub fn contains_key(&self, key: &Key) -> bool {
        self.get(key).is_some()
    }

    /// Reads the first slot `key` hashes to and returns its row, so that the cache line is
    /// loaded before [`Self::get`] needs it. Member lists visit keys in random order and the
    /// table is tens of MiB: reading a block of slots first lets the CPU wait for those
    /// cache misses side by side instead of one after another.
    fn touch(&self, key: &[u8; 16]) -> u32 {
        self.slots
            .get(slot_of(key, self.mask))
            .map_or(EMPTY, |slot| slot.row)
    }
}

/// Rows of many small lists in one allocation (compressed sparse rows): list `i` is
/// `items[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Default)]
pub struct Lists {
    offsets: Vec<u32>,
    items: Vec<u32>,
}

impl Lists {
    /// Builds `n` lists from (list, item) pairs; each list sorted and without duplicates.
    pub fn from_pairs(n: usize, pairs: &[(u32, u32)]) -> Lists {
        let mut counts = vec![0u32; n + 1];
        for &(l, _) in pairs {
            if let Some(c) = counts.get_mut(l as usize + 1) {
                *c += 1;
            }
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut fill = counts.clone();
        let mut items = vec![0u32; pairs.len()];
        for &(l, v) in pairs {
            if let Some(at) = fill.get_mut(l as usize) {
                if let Some(slot) = items.get_mut(*at as usize) {
                    *slot = v;
                }
                *at += 1;
            }
        }
        // Sort and dedup each list, compacting in place.
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0u32);
        let mut write = 0usize;
        for i in 0..n {
            let (s, e) = (counts[i] as usize, counts[i + 1] as usize);
            items[s..e].sort_unstable();
            let mut last = None;
            for r in s..e {
                let v = items[r];
                if last != Some(v) {
                    items[write] = v;
                    write += 1;
                    last = Some(v);
                }
            }
            offsets.push(write as u32);
        }
        items.truncate(write);
        items.shrink_to_fit();
        Lists { offsets, items }
    }

    pub fn get(&self, i: usize) -> &[u32] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&s), Some(&e)) => self.items.get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// How many memberships' slots are loaded ahead of their lookups (see [`KeyIndex::touch`]).
const TOUCH_BLOCK: usize = 32;

/// Resolves memberships to (group row, member row) pairs: the group through `group_by_key`,
/// members of the kinds `takes` accepts through `member_by_key`. Memberships are written
/// group by group, so the group key is looked up once per run of equal keys.
pub fn resolve_edges<'e>(
    edges: impl Iterator<Item = EdgeRef<'e>>,
    group_by_key: &KeyIndex,
    member_by_key: &KeyIndex,
    takes: impl Fn(MemberKind) -> bool,
) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut last: Option<(&Key, Option<u32>)> = None;
    let mut block: Vec<EdgeRef<'e>> = Vec::with_capacity(TOUCH_BLOCK);
    let mut edges = edges.peekable();
    while edges.peek().is_some() {
        block.clear();
        block.extend(edges.by_ref().take(TOUCH_BLOCK));
        let touched = block
            .iter()
            .filter_map(EdgeRef::member_uuid)
            .fold(0u32, |acc, key| acc ^ member_by_key.touch(key));
        std::hint::black_box(touched);
        for e in &block {
            let g = match last {
                Some((k, g)) if std::ptr::eq(k, e.group) || *k == *e.group => g,
                _ => {
                    let g = group_by_key.get(e.group);
                    last = Some((e.group, g));
                    g
                }
            };
            let Some(g) = g else { continue };
            if !takes(e.kind()) {
                continue;
            }
            if let Some(m) = e.member().and_then(|m| member_by_key.get(&m)) {
                out.push((g, m));
            }
        }
    }
    out
}

/// One IIJ ID snapshot's rows with indexes.
pub struct IidIndex<'a> {
    pub users: &'a IidUserTable,
    pub groups: &'a [IidGroup],
    /// Each user's `id` as a key.
    pub user_keys: Vec<Key>,
    pub user_by_key: KeyIndex,
    pub by_external_id: UserKeyIndex<'a, ExternalId>,
    pub by_linking_id: UserKeyIndex<'a, LinkingId>,
    pub by_user_name: UserKeyIndex<'a, UserName>,
    pub group_by_key: KeyIndex,
    pub group_by_name: Multi<Ci<'a>>,
    /// User members (row indexes) of each group, sorted.
    pub group_members: Lists,
    /// Each group's state digest, computed on first use: a group with members both added
    /// and removed has two actions, and hashing a group hashes all its member ids.
    pub group_digests: Vec<std::sync::OnceLock<String>>,
    /// Users pending deletion that the live listing lacks (history, the console's list),
    /// with where that comes from: hidden over SCIM (MK2), so never a request's answer.
    /// Empty unless such evidence was given.
    pub presumed: Map<u32, &'a PendingEvidence>,
}

struct UserMaps<'a> {
    user_keys: Vec<Key>,
    user_by_key: KeyIndex,
    by_external_id: UserKeyIndex<'a, ExternalId>,
    by_linking_id: UserKeyIndex<'a, LinkingId>,
    by_user_name: UserKeyIndex<'a, UserName>,
}

fn user_maps(users: &IidUserTable) -> UserMaps<'_> {
    let n = users.len();
    // The four maps are independent: two threads build two each.
    let (keys, (ext, (link, names))) = std::thread::scope(|s| {
        let keys = s.spawn(|| {
            let keys: Vec<Key> = users.iter().map(|u| Key::parse(u.id())).collect();
            let mut m = KeyIndex::with_capacity(n);
            for (i, k) in keys.iter().enumerate() {
                m.insert(k.clone(), i as u32);
            }
            let ext = UserKeyIndex::new(users);
            (keys, m, ext)
        });
        let link = UserKeyIndex::new(users);
        let names = UserKeyIndex::new(users);
        let (keys, m, ext) = keys.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        ((keys, m), (ext, (link, names)))
    });
    let (user_keys, keys) = keys;
    UserMaps {
        user_keys,
        user_by_key: keys,
        by_external_id: ext,
        by_linking_id: link,
        by_user_name: names,
    }
}

impl<'a> IidIndex<'a> {
    pub fn new(users: &'a IidUserTable, groups: &'a [IidGroup], edges: &Edges) -> Self {
        let (maps, (group_by_key, group_by_name)) = std::thread::scope(|s| {
            let g = s.spawn(|| {
                let mut group_by_key = KeyIndex::with_capacity(groups.len());
                let mut group_by_name = Multi::with_capacity(groups.len());
                for (i, g) in groups.iter().enumerate() {
                    group_by_key.insert(Key::parse(&g.id), i as u32);
                    group_by_name.insert(Ci(g.display_name.as_str()), i as u32);
                }
                (group_by_key, group_by_name)
            });
            let maps = user_maps(users);
            (
                maps,
                g.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            )
        });
        let pairs = parallel_resolve(edges, &group_by_key, &maps.user_by_key, |kind| {
            matches!(kind, MemberKind::User | MemberKind::Unknown)
        });
        let group_members = Lists::from_pairs(groups.len(), &pairs);
        drop(pairs);
        IidIndex {
            users,
            groups,
            user_keys: maps.user_keys,
            user_by_key: maps.user_by_key,
            by_external_id: maps.by_external_id,
            by_linking_id: maps.by_linking_id,
            by_user_name: maps.by_user_name,
            group_by_key,
            group_by_name,
            group_digests: (0..groups.len())
                .map(|_| std::sync::OnceLock::new())
                .collect(),
            group_members,
            presumed: map_with_capacity(0),
        }
    }

    /// Marks the users `evidence` is about: the rows with its ids that are pending deletion
    /// (in normal mode's cache the same id may be an ordinary row, which stays unmarked).
    pub fn mark_presumed(&mut self, evidence: &'a [PendingEvidence]) {
        for e in evidence {
            if let Some(row) = self.user_by_id(&e.id)
                && self.user(row).is_some_and(|u| u.pending_deletion())
            {
                self.presumed.insert(row, e);
            }
        }
    }

    /// Where the pending-deletion state of user `row` comes from, when the live listing
    /// lacks it (`None` for every other user, those the API lists as pending included).
    pub fn presumed(&self, row: u32) -> Option<&'a PendingEvidence> {
        if self.presumed.is_empty() {
            return None;
        }
        self.presumed.get(&row).copied()
    }

    pub fn user_by_id(&self, id: &str) -> Option<u32> {
        self.user_by_key.get(&Key::parse(id))
    }

    pub fn group_by_id(&self, id: &str) -> Option<u32> {
        self.group_by_key.get(&Key::parse(id))
    }

    pub fn user(&self, i: u32) -> Option<IidUserView<'a>> {
        self.users.get(i as usize)
    }

    pub fn group(&self, i: u32) -> Option<&'a IidGroup> {
        self.groups.get(i as usize)
    }

    /// Drops the externalId, linking-ID and userName lookups (a few hundred MiB at a million
    /// users) once matching is done; they answer nothing afterwards.
    pub fn release_user_lookups(&mut self) {
        self.by_external_id = UserKeyIndex::empty(self.users);
        self.by_linking_id = UserKeyIndex::empty(self.users);
        self.by_user_name = UserKeyIndex::empty(self.users);
    }

    /// The user members of group `g` (rows, sorted).
    pub fn members(&self, g: u32) -> &[u32] {
        self.group_members.get(g as usize)
    }
}

/// [`resolve_edges`] over two halves on two threads, concatenated in order.
pub fn parallel_resolve(
    edges: &Edges,
    group_by_key: &KeyIndex,
    member_by_key: &KeyIndex,
    takes: impl Fn(MemberKind) -> bool + Sync,
) -> Vec<(u32, u32)> {
    let n = edges.len();
    if n < 100_000 {
        return resolve_edges(edges.iter(), group_by_key, member_by_key, &takes);
    }
    let (mut x, y) = std::thread::scope(|s| {
        let h =
            s.spawn(|| resolve_edges(edges.range(n / 2, n), group_by_key, member_by_key, &takes));
        let x = resolve_edges(edges.range(0, n / 2), group_by_key, member_by_key, &takes);
        (x, h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    });
    x.extend_from_slice(&y);
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_hash_agrees_with_eq() {
        use std::hash::BuildHasher;
        let s = foldhash::fast::FixedState::with_seed(7);
        for (a, b) in [
            ("Alice@X.jp", "alice@x.JP"),
            ("\u{212A}", "k"),
            ("ÉCOLE", "école"),
            ("Straße", "STRAßE"),
        ] {
            assert_eq!(Ci(a), Ci(b), "{a} {b}");
            assert_eq!(s.hash_one(Ci(a)), s.hash_one(Ci(b)), "{a} {b}");
        }
        let long = "A".repeat(300);
        assert_eq!(s.hash_one(Ci(&long)), s.hash_one(Ci(&long.to_lowercase())));
        assert_ne!(Ci("a"), Ci("b"));
    }

    #[test]
    fn multi_keeps_every_row_of_a_duplicate() {
        let mut m: Multi<&str> = Multi::with_capacity(4);
        m.insert("a", 1);
        m.insert("b", 2);
        m.insert("a", 3);
        m.insert("a", 5);
        assert_eq!(m.get(&"a").iter().collect::<Vec<_>>(), vec![1, 3, 5]);
        assert_eq!(m.get(&"b").iter().collect::<Vec<_>>(), vec![2]);
        assert_eq!(m.get(&"c").len(), 0);
        assert_eq!(m.get(&"a").len(), 3);
        let d = m.duplicates();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].1, vec![1, 3, 5]);
    }

    proptest::proptest! {
        /// The row-only index answers every lookup as a `Multi` of the same keys does: the
        /// same rows in the same order, the same uniqueness (externalId exactly, userName
        /// case-insensitively, empty values not indexed).
        #[test]
        fn user_key_index_agrees_with_a_multi(
            users in proptest::collection::vec(
                ("[aAbB]{0,2}", proptest::option::of("[xyXY]{0,2}")),
                0..60,
            ),
            probes in proptest::collection::vec("[aAbBxyXY]{0,2}", 0..20),
        ) {
            let rows: Vec<dirsnap_model::IidUser> = users
                .iter()
                .enumerate()
                .map(|(i, (name, external))| dirsnap_model::IidUser {
                    id: format!("id-{i}"),
                    user_name: name.clone(),
                    external_id: external.clone(),
                    ..Default::default()
                })
                .collect();
            let table = IidUserTable::from_rows(&rows).unwrap();
            let by_external: UserKeyIndex<'_, ExternalId> = UserKeyIndex::new(&table);
            let by_name: UserKeyIndex<'_, UserName> = UserKeyIndex::new(&table);
            let mut want_external: Multi<&str> = Multi::with_capacity(0);
            let mut want_name: Multi<Ci<'_>> = Multi::with_capacity(0);
            for (row, user) in rows.iter().enumerate() {
                if let Some(e) = user.external_id.as_deref().filter(|e| !e.is_empty()) {
                    want_external.insert(e, row as u32);
                }
                want_name.insert(Ci(&user.user_name), row as u32);
            }
            let all = |hits: Hits<'_>| hits.iter().collect::<Vec<u32>>();
            for probe in probes.iter().map(String::as_str) {
                proptest::prop_assert_eq!(
                    all(by_external.get(&probe)),
                    all(want_external.get(&probe))
                );
                proptest::prop_assert_eq!(all(by_name.get(&Ci(probe))), all(want_name.get(&Ci(probe))));
            }
            proptest::prop_assert_eq!(by_external.is_unique(), want_external.duplicates().is_empty());
            proptest::prop_assert_eq!(by_name.is_unique(), want_name.duplicates().is_empty());
        }
    }

    #[test]
    fn key_index_finds_what_was_inserted_and_later_inserts_win() {
        let mut ix = KeyIndex::with_capacity(2);
        let keys: Vec<Key> = (0..5000u32)
            .map(|i| Key::parse(&format!("{i:08x}-0000-4000-8000-{:012x}", i * 7)))
            .chain([Key::parse("text-key"), Key::parse("ABC")])
            .collect();
        for (i, k) in keys.iter().enumerate() {
            ix.insert(k.clone(), i as u32);
        }
        assert_eq!(ix.len(), keys.len());
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(ix.get(k), Some(i as u32));
        }
        assert_eq!(
            ix.get(&Key::parse("ffffffff-0000-4000-8000-000000000000")),
            None
        );
        assert_eq!(ix.get(&Key::parse("other")), None);
        ix.insert(keys[3].clone(), 99);
        ix.insert(Key::parse("text-key"), 98);
        assert_eq!(ix.get(&keys[3]), Some(99));
        assert_eq!(ix.get(&Key::parse("text-key")), Some(98));
        assert_eq!(ix.len(), keys.len());
    }

    #[test]
    fn resolve_edges_agrees_with_one_lookup_per_membership_across_blocks() {
        let uuid = |i: u32| Key::parse(&format!("{i:08x}-0000-4000-8000-{:012x}", i * 13));
        let mut groups = KeyIndex::with_capacity(4);
        let mut members = KeyIndex::with_capacity(4);
        for g in 0..5u32 {
            groups.insert(uuid(1_000_000 + g), g);
        }
        for m in 0..200u32 {
            members.insert(uuid(m), m + 7);
        }
        members.insert(Key::parse("CN=text member"), 999);
        let mut edges = Edges::with_capacity(0);
        // 6 groups (one unknown) of 23 memberships: runs and touch blocks do not line up.
        for g in 0..6u32 {
            for i in 0..23u32 {
                let (member, kind) = match i % 5 {
                    0 => (Some(Key::parse("CN=text member")), MemberKind::User),
                    1 => (None, MemberKind::User),
                    2 => (Some(uuid(g * 23 + i)), MemberKind::Group),
                    3 => (Some(uuid(5_000 + i)), MemberKind::User),
                    _ => (Some(uuid(g * 23 + i)), MemberKind::User),
                };
                edges.push(uuid(1_000_000 + g), member, kind);
            }
        }
        let takes = |kind: MemberKind| kind == MemberKind::User;
        let expected: Vec<(u32, u32)> = edges
            .iter()
            .filter_map(|e| {
                let g = groups.get(e.group)?;
                if !takes(e.kind()) {
                    return None;
                }
                Some((g, members.get(&e.member()?)?))
            })
            .collect();
        assert_eq!(
            expected.len(),
            5 * (5 + 4),
            "the fixture has what it claims"
        );
        assert_eq!(
            resolve_edges(edges.iter(), &groups, &members, takes),
            expected
        );
        assert_eq!(parallel_resolve(&edges, &groups, &members, takes), expected);
    }

    #[test]
    fn lists_sort_and_dedup_each_row() {
        let l = Lists::from_pairs(3, &[(2, 9), (0, 4), (2, 1), (0, 4), (2, 9), (2, 3)]);
        assert_eq!(l.get(0), &[4]);
        assert_eq!(l.get(1), &[] as &[u32]);
        assert_eq!(l.get(2), &[1, 3, 9]);
        assert_eq!(l.get(3), &[] as &[u32]);
    }
}
