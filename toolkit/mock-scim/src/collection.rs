//! One resource type's resources, held compactly, and every index a request needs.
//!
//! A resource is kept as its JSON text, not as a `serde_json::Value` tree (a tree costs
//! several times the text: one map per object, one allocation per key), and a group's
//! members are kept apart from that text as typed entries (`{"value": id}` is just the id),
//! so a million users and five million memberships fit in a couple of GiB. Reads render an
//! [`Entry`] — the resource as a `Value`, exactly as it was stored — on the way out.
//!
//! Indexes: id, lowercased name and externalId → position; creation order as positions
//! that never move, with rank trees so a page starts at its k-th visible entry in O(log n);
//! member id → the groups listing it, so deleting a user or group touches only the groups
//! it is in.

use crate::rank::RankTree;
use crate::schema::Kind;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// One resource as the store hands it out: rendered from its compact form.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    /// The resource as served (without projection) and as dumped.
    pub resource: Value,
    /// ETag. Written resources carry it in `meta.version` too; seeded resources without a
    /// `meta.version` keep their JSON verbatim and get a version derived from their content.
    pub version: String,
    /// Creation order: the default order of lists.
    pub seq: u64,
    /// Users only: pending deletion (削除待ち).
    pub pending_deletion: bool,
}

/// One stored resource.
#[derive(Debug, Clone)]
struct Record {
    id: Arc<str>,
    /// The resource's JSON text; when `members` is set, its `"members"` holds `[]` at the
    /// place the array has in the object, and the elements are in `members`.
    text: Box<str>,
    /// Groups whose `members` is an array: its elements.
    members: Option<Vec<StoredMember>>,
    version: Box<str>,
    seq: u64,
    pending_deletion: bool,
    /// The keys this record holds in `by_name` / `by_external` (the same allocations), to
    /// release them without parsing the text again.
    name_key: Option<Arc<str>>,
    external_key: Option<Arc<str>>,
    /// What a group member's `display` copies from this resource when that is a string:
    /// member enrichment reads it for every member of a group it writes.
    display: Option<Box<str>>,
}

/// One element of a group's `members`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StoredMember {
    /// The element's `"value"` when it is a string: the member id the index knows it by.
    value: Option<Arc<str>>,
    shape: MemberShape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum MemberShape {
    /// Exactly `{"value": value}`: what a seed from snapshot rows holds.
    ValueOnly,
    /// Exactly `{"value": value, "$ref": PREFIX + value, "display": display}` (in that
    /// order): what member enrichment writes. `prefix` indexes [`Collection::ref_prefixes`].
    Enriched { prefix: u16, display: Box<str> },
    /// Anything else, as JSON text.
    Json(Box<str>),
}

/// The most distinct `$ref` prefixes kept as indexes (normally two: the base URL's
/// `Users/` and `Groups/`); members with other `$ref`s are kept as text.
const MAX_REF_PREFIXES: usize = 64;

/// One resource type's resources and indexes.
#[derive(Debug, Clone)]
pub struct Collection {
    kind: Kind,
    /// Position → record, in creation order; a removed record leaves `None`.
    slots: Vec<Option<Record>>,
    /// Position → creation sequence (ascending; holes keep theirs).
    seqs: Vec<u64>,
    /// Counts the positions holding a record: the rank of a page's first entry.
    present: RankTree,
    /// Counts the positions holding a record not pending deletion.
    active: RankTree,
    by_id: HashMap<Arc<str>, usize>,
    /// Lowercased userName (users) / displayName (groups) → position; pending users included.
    by_name: HashMap<Arc<str>, usize>,
    /// externalId (case-exact, non-empty) → position.
    by_external: HashMap<Arc<str>, usize>,
    /// Groups: member id → positions of the groups whose `members` list it (each once).
    groups_of_member: HashMap<Arc<str>, Vec<usize>>,
    /// Groups: positions of the groups whose `members` is an empty array (a purge removes
    /// such arrays, as it removes one it empties).
    empty_members: BTreeSet<usize>,
    /// `$ref` prefixes of enriched members.
    ref_prefixes: Vec<Box<str>>,
}

/// The creation order a list walks: every entry, or only those not pending deletion.
#[derive(Debug, Clone, Copy)]
pub struct Ordered<'c> {
    coll: &'c Collection,
    with_pending: bool,
}

impl<'c> Ordered<'c> {
    pub fn len(&self) -> usize {
        self.ranks().total() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn ranks(&self) -> &'c RankTree {
        if self.with_pending {
            &self.coll.present
        } else {
            &self.coll.active
        }
    }

    fn listed(&self, pos: usize) -> bool {
        match &self.coll.slots[pos] {
            Some(r) => self.with_pending || !r.pending_deletion,
            None => false,
        }
    }

    /// The sequences, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &'c u64> + 'c {
        let this = *self;
        self.coll
            .seqs
            .iter()
            .enumerate()
            .filter(move |(pos, _)| this.listed(*pos))
            .map(|(_, seq)| seq)
    }

    /// The sequences from the `skip`-th on (0-based), found by rank, not by walking.
    pub fn iter_from(&self, skip: usize) -> impl Iterator<Item = u64> + 'c {
        let this = *self;
        let start = self
            .ranks()
            .position_of_rank(skip)
            .unwrap_or(self.coll.seqs.len());
        (start..self.coll.seqs.len())
            .filter(move |pos| this.listed(*pos))
            .map(move |pos| this.coll.seqs[pos])
    }
}

impl Collection {
    pub fn new(kind: Kind) -> Collection {
        Collection {
            kind,
            slots: Vec::new(),
            seqs: Vec::new(),
            present: RankTree::new(),
            active: RankTree::new(),
            by_id: HashMap::new(),
            by_name: HashMap::new(),
            by_external: HashMap::new(),
            groups_of_member: HashMap::new(),
            empty_members: BTreeSet::new(),
            ref_prefixes: Vec::new(),
        }
    }

    /// Makes room for `additional` more entries at once (a seed knows how many come).
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        self.seqs.reserve(additional);
        self.present.reserve(additional);
        self.active.reserve(additional);
        self.by_id.reserve(additional);
        self.by_name.reserve(additional);
        self.by_external.reserve(additional);
    }

    fn record(&self, pos: usize) -> Option<&Record> {
        self.slots.get(pos)?.as_ref()
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// The resource with this id, rendered.
    pub fn get(&self, id: &str) -> Option<Entry> {
        self.record(self.position(id)?).map(|r| self.render(r))
    }

    /// Whether the resource with this id is pending deletion (`None`: no such resource).
    pub fn pending_deletion(&self, id: &str) -> Option<bool> {
        self.record(self.position(id)?).map(|r| r.pending_deletion)
    }

    /// The ETag of the resource with this id.
    pub fn version(&self, id: &str) -> Option<&str> {
        self.record(self.position(id)?).map(|r| &*r.version)
    }

    /// The sequences a list walks, in creation order: every entry, or only those not
    /// pending deletion.
    pub fn ordered(&self, with_pending: bool) -> Ordered<'_> {
        Ordered {
            coll: self,
            with_pending,
        }
    }

    pub fn by_seq(&self, seq: u64) -> Option<Entry> {
        let pos = self.seqs.binary_search(&seq).ok()?;
        self.record(pos).map(|r| self.render(r))
    }

    pub fn len(&self) -> usize {
        self.present.total() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The positions holding an entry, in creation order (for [`Collection::entry_at`]).
    pub fn live_positions(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|pos| self.slots[*pos].is_some())
            .collect()
    }

    /// The entry at a position, rendered.
    pub fn entry_at(&self, pos: usize) -> Option<Entry> {
        self.record(pos).map(|r| self.render(r))
    }

    /// Every entry in creation order, rendered one at a time.
    pub fn iter(&self) -> impl Iterator<Item = Entry> + '_ {
        self.slots.iter().flatten().map(|r| self.render(r))
    }

    /// The id owning a name (compared lowercased).
    pub(crate) fn id_by_name(&self, name: &str) -> Option<&str> {
        self.record(*self.by_name.get(name.to_lowercase().as_str())?)
            .map(|r| &*r.id)
    }

    pub(crate) fn id_by_external(&self, ext: &str) -> Option<&str> {
        self.record(*self.by_external.get(ext)?).map(|r| &*r.id)
    }

    /// A name attribute a member's `display` copies: `displayName`, else `userName` (the
    /// values as they are, whatever their type), without rendering the whole resource.
    pub(crate) fn display_of(&self, id: &str) -> Option<Value> {
        let record = self.record(self.position(id)?)?;
        if let Some(d) = &record.display {
            return Some(Value::String(d.to_string()));
        }
        // Not a string (or absent): read the value as it is from the text.
        let names: DisplayNames = serde_json::from_str(&record.text).ok()?;
        match (names.display_name, names.user_name) {
            (Field::Present(v), _) | (Field::Missing, Field::Present(v)) => Some(v),
            (Field::Missing, Field::Missing) => None,
        }
    }

    /// Flags or clears pending deletion; false when there is no such entry.
    pub(crate) fn set_pending(&mut self, id: &str, pending: bool) -> bool {
        let Some(pos) = self.position(id) else {
            return false;
        };
        let Some(Some(record)) = self.slots.get_mut(pos) else {
            return false;
        };
        if record.pending_deletion != pending {
            record.pending_deletion = pending;
            self.active.add(pos, if pending { -1 } else { 1 });
        }
        true
    }

    /// Stores an entry: in its place when its id is stored already (a write keeps the
    /// creation order), else after every other.
    pub(crate) fn insert(&mut self, entry: &Entry) {
        self.insert_with_text(entry, None);
    }

    /// [`Collection::insert`] with the resource's JSON text when the caller has it.
    pub(crate) fn insert_with_text(&mut self, entry: &Entry, text: Option<String>) {
        let record = self.compact(entry, text);
        let pos = match self.position(&record.id) {
            Some(pos) if self.seqs[pos] == record.seq => {
                // A write in place: only the members it adds or drops change the index.
                if let Some(old) = self.release_keys(pos) {
                    self.reindex_members(pos, old.members.as_deref(), record.members.as_deref());
                }
                self.claim_keys(pos, record);
                return;
            }
            Some(_) => {
                // A new sequence for a stored id: it moves to the end of the order.
                self.remove(&record.id);
                self.append_slot(record.seq)
            }
            None => self.append_slot(record.seq),
        };
        self.claim(pos, record);
    }

    /// Removes a resource; its memberships are the store's business.
    pub(crate) fn remove(&mut self, id: &str) -> Option<Entry> {
        let pos = self.position(id)?;
        self.record(pos)?;
        let record = self.release(pos)?;
        self.by_id.remove(id);
        Some(self.render(&record))
    }

    /// Removes `member` from every group listing it; a `members` array left empty is
    /// removed, as is every other empty one (what a scan of every group used to do).
    pub(crate) fn drop_member(&mut self, member: &str) {
        let groups = self.groups_of_member.remove(member).unwrap_or_default();
        for pos in groups {
            if let Some(Some(record)) = self.slots.get_mut(pos)
                && let Some(members) = &mut record.members
            {
                members.retain(|m| m.value.as_deref() != Some(member));
                if members.is_empty() {
                    self.empty_members.insert(pos);
                }
            }
        }
        let emptied = std::mem::take(&mut self.empty_members);
        for pos in emptied {
            self.remove_members_attribute(pos);
        }
    }

    /// Removes an empty `members` from the group at `pos` exactly as `Map::remove` does on the
    /// rendered resource (with `preserve_order`, the last attribute takes its place).
    fn remove_members_attribute(&mut self, pos: usize) {
        let Some(record) = self.record(pos) else {
            return;
        };
        let mut entry = self.render(record);
        if let Value::Object(o) = &mut entry.resource {
            o.remove("members");
        }
        let record = self.compact(&entry, None);
        self.release(pos);
        self.claim(pos, record);
    }

    fn append_slot(&mut self, seq: u64) -> usize {
        if self.seqs.last().is_some_and(|last| *last >= seq) {
            // Sequences only grow (one counter for both collections); an older one would
            // break the order's binary search, so rebuild the order around it.
            return self.insert_slot_sorted(seq);
        }
        self.slots.push(None);
        self.seqs.push(seq);
        self.present.push(0);
        self.active.push(0);
        self.slots.len() - 1
    }

    /// Inserts an empty slot for `seq` in order, renumbering every position after it.
    fn insert_slot_sorted(&mut self, seq: u64) -> usize {
        let pos = self.seqs.partition_point(|s| *s < seq);
        let slots = std::mem::take(&mut self.slots);
        let mut seqs = std::mem::take(&mut self.seqs);
        seqs.insert(pos, seq);
        let mut rebuilt = Collection::new(self.kind);
        rebuilt.ref_prefixes = std::mem::take(&mut self.ref_prefixes);
        for (i, s) in seqs.iter().enumerate() {
            rebuilt.slots.push(None);
            rebuilt.seqs.push(*s);
            rebuilt.present.push(0);
            rebuilt.active.push(0);
            let old = if i < pos { Some(i) } else { i.checked_sub(1) };
            if i != pos
                && let Some(Some(record)) = old.and_then(|o| slots.get(o)).cloned()
            {
                rebuilt.claim(i, record);
            }
        }
        *self = rebuilt;
        pos
    }

    /// Puts a record into an empty slot and indexes it.
    fn claim(&mut self, pos: usize, record: Record) {
        self.reindex_members(pos, None, record.members.as_deref());
        self.claim_keys(pos, record);
    }

    /// [`Collection::claim`] but for the member index.
    fn claim_keys(&mut self, pos: usize, record: Record) {
        self.by_id.insert(record.id.clone(), pos);
        if let Some(n) = &record.name_key {
            self.by_name.insert(n.clone(), pos);
        }
        if let Some(e) = &record.external_key {
            self.by_external.insert(e.clone(), pos);
        }
        if record.members.as_ref().is_some_and(Vec::is_empty) {
            self.empty_members.insert(pos);
        }
        self.present.add(pos, 1);
        if !record.pending_deletion {
            self.active.add(pos, 1);
        }
        self.slots[pos] = Some(record);
    }

    /// Takes the record out of its slot and out of the indexes but `by_id` (the caller
    /// either puts a record back or finishes the removal).
    fn release(&mut self, pos: usize) -> Option<Record> {
        let record = self.release_keys(pos)?;
        self.reindex_members(pos, record.members.as_deref(), None);
        Some(record)
    }

    /// [`Collection::release`] but for the member index.
    fn release_keys(&mut self, pos: usize) -> Option<Record> {
        let record = self.slots.get_mut(pos)?.take()?;
        if let Some(n) = &record.name_key
            && self.by_name.get(n) == Some(&pos)
        {
            self.by_name.remove(n);
        }
        if let Some(e) = &record.external_key
            && self.by_external.get(e) == Some(&pos)
        {
            self.by_external.remove(e);
        }
        self.empty_members.remove(&pos);
        // `claim` counts the slot again when the caller puts a record back.
        self.present.add(pos, -1);
        if !record.pending_deletion {
            self.active.add(pos, -1);
        }
        Some(record)
    }

    /// Moves the group at `pos` in the member index from the members it listed (`old`) to
    /// those it lists now (`new`).
    fn reindex_members(
        &mut self,
        pos: usize,
        old: Option<&[StoredMember]>,
        new: Option<&[StoredMember]>,
    ) {
        let (old, new) = (member_values(old), member_values(new));
        for gone in old.difference(&new) {
            if let Some(groups) = self.groups_of_member.get_mut(&***gone) {
                groups.retain(|g| *g != pos);
                if groups.is_empty() {
                    self.groups_of_member.remove(&***gone);
                }
            }
        }
        for added in new.difference(&old) {
            match self.groups_of_member.get_mut(&***added) {
                Some(groups) => groups.push(pos),
                None => {
                    self.groups_of_member.insert(Arc::clone(added), vec![pos]);
                }
            }
        }
    }

    /// The compact form of an entry; `text` is its JSON when the caller has it already (a
    /// user's `Value::to_string`).
    fn compact(&mut self, entry: &Entry, text: Option<String>) -> Record {
        let resource = &entry.resource;
        let (name_key, external_key) = keys_of(self.kind, resource);
        let name_key: Option<Arc<str>> = name_key.map(Into::into);
        // The keys are shared with the indexes; a login ID that is also the externalId (as
        // Directory Sync writes them) is held once.
        let external_key: Option<Arc<str>> = match (&name_key, external_key) {
            (Some(n), Some(e)) if **n == *e => Some(Arc::clone(n)),
            (_, e) => e.map(Into::into),
        };
        let display = match resource
            .get("displayName")
            .or_else(|| resource.get("userName"))
        {
            Some(Value::String(s)) => Some(s.as_str().into()),
            _ => None,
        };
        let mut members = None;
        let mut text = text;
        if self.kind == Kind::Group
            && let Value::Object(o) = resource
            && let Some(Value::Array(list)) = o.get("members")
        {
            members = Some(list.iter().map(|m| self.stored_member(m)).collect());
            text = Some(serde_json::to_string(&MembersEmptied(o)).unwrap_or_default());
        }
        Record {
            id: entry.id.as_str().into(),
            text: text.unwrap_or_else(|| resource.to_string()).into(),
            members,
            version: entry.version.as_str().into(),
            seq: entry.seq,
            pending_deletion: entry.pending_deletion && self.kind == Kind::User,
            name_key,
            external_key,
            display,
        }
    }

    fn stored_member(&mut self, m: &Value) -> StoredMember {
        // One allocation per member id however many groups list it: the index's key.
        let value = m.get("value").and_then(Value::as_str).map(|v| {
            self.groups_of_member
                .get_key_value(v)
                .map_or_else(|| Arc::from(v), |(k, _)| k.clone())
        });
        let shape = match (m, value.as_deref()) {
            // The one key is "value": `value` was read from it.
            (Value::Object(o), Some(_)) if o.len() == 1 => Some(MemberShape::ValueOnly),
            (Value::Object(o), Some(v)) => self.enriched_shape(o, v),
            _ => None,
        }
        .unwrap_or_else(|| MemberShape::Json(m.to_string().into()));
        StoredMember { value, shape }
    }

    /// `Enriched` when the member is exactly what enrichment writes.
    fn enriched_shape(&mut self, o: &Map<String, Value>, value: &str) -> Option<MemberShape> {
        let mut keys = o.iter();
        let (
            Some(("value", _)),
            Some(("$ref", Value::String(r))),
            Some(("display", Value::String(d))),
            None,
        ) = (
            keys.next().map(|(k, v)| (k.as_str(), v)),
            keys.next().map(|(k, v)| (k.as_str(), v)),
            keys.next().map(|(k, v)| (k.as_str(), v)),
            keys.next(),
        )
        else {
            return None;
        };
        let prefix = r.strip_suffix(value)?;
        let index = match self.ref_prefixes.iter().position(|p| **p == *prefix) {
            Some(i) => i,
            None if self.ref_prefixes.len() < MAX_REF_PREFIXES => {
                self.ref_prefixes.push(prefix.into());
                self.ref_prefixes.len() - 1
            }
            None => return None,
        };
        Some(MemberShape::Enriched {
            prefix: u16::try_from(index).ok()?,
            display: d.as_str().into(),
        })
    }

    /// The entry a record holds.
    fn render(&self, record: &Record) -> Entry {
        // The text was written by `Value::to_string`: it parses back to the same value.
        let mut resource: Value = serde_json::from_str(&record.text).unwrap_or(Value::Null);
        if let Some(members) = &record.members
            && let Value::Object(o) = &mut resource
            && let Some(slot) = o.get_mut("members")
        {
            *slot = Value::Array(members.iter().map(|m| self.render_member(m)).collect());
        }
        Entry {
            id: record.id.to_string(),
            resource,
            version: record.version.to_string(),
            seq: record.seq,
            pending_deletion: record.pending_deletion,
        }
    }

    fn render_member(&self, m: &StoredMember) -> Value {
        let value = || Value::String(m.value.as_deref().unwrap_or_default().to_owned());
        match &m.shape {
            MemberShape::ValueOnly => {
                let mut o = Map::with_capacity(1);
                o.insert("value".into(), value());
                Value::Object(o)
            }
            MemberShape::Enriched { prefix, display } => {
                let prefix = self
                    .ref_prefixes
                    .get(usize::from(*prefix))
                    .map_or("", |p| &**p);
                let mut o = Map::with_capacity(3);
                o.insert("value".into(), value());
                o.insert(
                    "$ref".into(),
                    Value::String(format!(
                        "{prefix}{}",
                        m.value.as_deref().unwrap_or_default()
                    )),
                );
                o.insert("display".into(), Value::String(display.to_string()));
                Value::Object(o)
            }
            MemberShape::Json(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        }
    }

    /// The positions of the groups listing `member`, ascending (for tests of the index).
    #[cfg(test)]
    pub(crate) fn indexed_groups_of(&self, member: &str) -> Vec<usize> {
        let mut v = self
            .groups_of_member
            .get(member)
            .cloned()
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// The member index as a scan of every group would build it (for tests of the index).
    #[cfg(test)]
    pub(crate) fn scanned_member_index(&self) -> HashMap<String, Vec<usize>> {
        let mut out: HashMap<String, Vec<usize>> = HashMap::new();
        for (pos, record) in self.slots.iter().enumerate() {
            let Some(record) = record else { continue };
            for m in record.members.iter().flatten() {
                if let Some(v) = &m.value {
                    let groups = out.entry(v.to_string()).or_default();
                    if !groups.contains(&pos) {
                        groups.push(pos);
                    }
                }
            }
        }
        out
    }

    /// The member index as held (for tests of the index).
    #[cfg(test)]
    pub(crate) fn held_member_index(&self) -> HashMap<String, Vec<usize>> {
        self.groups_of_member
            .iter()
            .map(|(k, v)| {
                let mut v = v.clone();
                v.sort_unstable();
                (k.to_string(), v)
            })
            .collect()
    }
}

/// The member ids a group's `members` lists, each once.
fn member_values(members: Option<&[StoredMember]>) -> HashSet<&Arc<str>> {
    members
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m.value.as_ref())
        .collect()
}

/// A resource object serialized as `Value::to_string` would, but with an empty array for
/// its `members` (held apart, typed).
struct MembersEmptied<'a>(&'a Map<String, Value>);

impl Serialize for MembersEmptied<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            if k == "members" && v.is_array() {
                map.serialize_entry(k, &[] as &[Value])?;
            } else {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// A JSON attribute that may be absent, present (even as `null`): serde's `Option` would
/// read `null` as absent.
#[derive(Debug, Default)]
enum Field {
    #[default]
    Missing,
    Present(Value),
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        Value::deserialize(d).map(Field::Present)
    }
}

#[derive(serde::Deserialize)]
struct DisplayNames {
    #[serde(default, rename = "displayName")]
    display_name: Field,
    #[serde(default, rename = "userName")]
    user_name: Field,
}

/// The indexed keys of a resource: lowercased name attribute and non-empty externalId.
pub(crate) fn keys_of(kind: Kind, resource: &Value) -> (Option<String>, Option<String>) {
    match resource.as_object() {
        Some(o) => keys_of_map(kind, o),
        None => (None, None),
    }
}

/// [`keys_of`] for an object's attributes.
pub(crate) fn keys_of_map(
    kind: Kind,
    attrs: &Map<String, Value>,
) -> (Option<String>, Option<String>) {
    let obj = Some(attrs);
    let name = obj
        .and_then(|o| get_ci(o, kind.name_attribute()))
        .and_then(Value::as_str)
        .map(str::to_lowercase);
    let ext = obj
        .and_then(|o| get_ci(o, "externalId"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    (name, ext)
}

pub(crate) fn get_ci<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}
