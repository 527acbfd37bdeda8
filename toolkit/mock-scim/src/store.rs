//! The in-memory tenant: users and groups as JSON, with the indexes uniqueness and fast
//! lookups need, and every write rule of the profile. Pure and synchronous; the HTTP layer
//! holds it behind a lock.

use crate::clock::{Clock, IdGen};
pub(crate) use crate::collection::get_ci;
pub use crate::collection::{Collection, Entry, Ordered};
use crate::collection::{keys_of, keys_of_map};
use crate::error::ScimError;
use crate::patch;
use crate::profile::{Profile, RestoreMethod, UserDelete};
use crate::schema::{Kind, KindSchema, Registry};
use chrono::{DateTime, SecondsFormat, Utc};
use dirsnap_filter::scim::{AttrPath, AttributeSchema, CompareOp, CompareValue, Filter};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// What a write needs besides the store: schemas, rules, time and where resources live.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub registry: &'a Registry,
    pub profile: &'a Profile,
    pub clock: &'a dyn Clock,
    /// Base URL ending in `/`, for `meta.location` and members' `$ref`.
    pub base_url: &'a str,
}

/// A list request (RFC 7644 §3.4.2).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based; values below 1 mean 1.
    pub start_index: i64,
    pub count: Option<i64>,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
}

impl ListQuery {
    /// The 1-based start and the page size, `count` capped at `cap` (default `cap`).
    pub fn window(&self, cap: usize) -> (usize, usize) {
        let start = usize::try_from(self.start_index.max(1)).unwrap_or(1);
        let count = self
            .count
            .map(|c| usize::try_from(c.max(0)).unwrap_or(0))
            .unwrap_or(cap)
            .min(cap);
        (start, count)
    }
}

/// A page of results.
#[derive(Debug)]
pub struct Page {
    pub total: usize,
    pub start_index: usize,
    pub items: Vec<Entry>,
}

/// The whole tenant.
#[derive(Debug, Clone)]
pub struct Store {
    pub users: Collection,
    pub groups: Collection,
    seq: u64,
    versions: u64,
    ids: IdGen,
}

/// The result of a create: the stored entry and whether it restored a pending user.
#[derive(Debug)]
pub struct Created {
    pub entry: Entry,
    pub restored: bool,
}

impl Store {
    pub fn new(id_seed: u64) -> Store {
        Store {
            users: Collection::new(Kind::User),
            groups: Collection::new(Kind::Group),
            seq: 0,
            versions: 0,
            ids: IdGen::new(id_seed),
        }
    }

    pub fn collection(&self, kind: Kind) -> &Collection {
        match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
        }
    }

    /// Makes room for `additional` more resources of `kind` (a seed knows how many come).
    pub fn reserve(&mut self, kind: Kind, additional: usize) {
        self.collection_mut(kind).reserve(additional);
    }

    fn collection_mut(&mut self, kind: Kind) -> &mut Collection {
        match kind {
            Kind::User => &mut self.users,
            Kind::Group => &mut self.groups,
        }
    }

    fn next_version(&mut self) -> String {
        self.versions += 1;
        format!("W/\"{}\"", self.versions)
    }

    fn next_id(&mut self) -> String {
        loop {
            let id = self.ids.next_id();
            if !self.users.contains(&id) && !self.groups.contains(&id) {
                return id;
            }
        }
    }

    /// Whether a resource is visible over SCIM (pending users are not, unless the profile
    /// lists them).
    pub fn visible(&self, env: &Env<'_>, entry: &Entry) -> bool {
        !entry.pending_deletion || env.profile.pending_deletion_listed
    }

    /// `GET /{Users|Groups}/{id}`.
    pub fn get(&self, env: &Env<'_>, kind: Kind, id: &str) -> Result<Entry, ScimError> {
        self.collection(kind)
            .get(id)
            .filter(|e| self.visible(env, e))
            .ok_or_else(|| not_found(kind, id))
    }

    /// Whether `id` names a resource a request may see (without rendering it).
    fn is_visible(&self, env: &Env<'_>, kind: Kind, id: &str) -> bool {
        self.collection(kind)
            .pending_deletion(id)
            .is_some_and(|pending| !pending || env.profile.pending_deletion_listed)
    }

    /// `POST /{Users|Groups}`.
    pub fn create(
        &mut self,
        env: &Env<'_>,
        kind: Kind,
        body: &Value,
    ) -> Result<Created, ScimError> {
        let input = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
        let attrs = env
            .registry
            .normalize(kind, input, env.profile.reject_empty_password)?;
        self.check_domain(env, kind, &attrs)?;
        let (name, ext) = keys_of_map(kind, &attrs);
        let coll = self.collection(kind);
        let name_owner = name
            .as_deref()
            .and_then(|n| coll.id_by_name(n))
            .map(str::to_owned);
        let ext_owner = ext
            .as_deref()
            .and_then(|e| coll.id_by_external(e))
            .map(str::to_owned);
        // Directory Sync's "re-enters the scope": the same login ID and externalId as a
        // pending-deletion user restores it with the new values (ds/17896820 *1, *2).
        if kind == Kind::User
            && env.profile.restore_method == Some(RestoreMethod::Post)
            && let Some(owner) = &name_owner
            && ext.is_some()
            && ext_owner.as_ref() == Some(owner)
            && coll.pending_deletion(owner) == Some(true)
        {
            let current = coll.get(owner);
            let entry = self.write(env, kind, current.as_ref(), attrs, input)?;
            return Ok(Created {
                entry,
                restored: true,
            });
        }
        if name_owner.is_some() {
            return Err(ScimError::uniqueness(kind.name_attribute()));
        }
        if ext_owner.is_some() {
            return Err(ScimError::uniqueness("externalId"));
        }
        if kind == Kind::Group {
            self.check_new_members(None, &attrs)?;
        }
        let entry = self.write(env, kind, None, attrs, input)?;
        Ok(Created {
            entry,
            restored: false,
        })
    }

    /// The resource a PUT or PATCH writes: a visible one, or a pending-deletion user when the
    /// profile restores users with this method (then `true`).
    fn writable(
        &self,
        env: &Env<'_>,
        kind: Kind,
        id: &str,
        method: RestoreMethod,
    ) -> Result<(Entry, bool), ScimError> {
        match self.collection(kind).get(id) {
            Some(e) if self.visible(env, &e) => Ok((e, false)),
            Some(e) if env.profile.restore_method == Some(method) => Ok((e, true)),
            _ => Err(not_found(kind, id)),
        }
    }

    /// `PUT /{Users|Groups}/{id}`.
    pub fn replace(
        &mut self,
        env: &Env<'_>,
        kind: Kind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Entry, ScimError> {
        let (current, _) = self.writable(env, kind, id, RestoreMethod::Put)?;
        check_if_match(&current, if_match)?;
        let input = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
        let attrs = env
            .registry
            .normalize(kind, input, env.profile.reject_empty_password)?;
        self.check_update(env, kind, &current, &attrs)?;
        self.write(env, kind, Some(&current), attrs, input)
    }

    /// `PATCH /{Users|Groups}/{id}`.
    pub fn patch(
        &mut self,
        env: &Env<'_>,
        kind: Kind,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Entry, ScimError> {
        let (current, restoring) = self.writable(env, kind, id, RestoreMethod::Patch)?;
        check_if_match(&current, if_match)?;
        let mut working = current.resource.as_object().cloned().unwrap_or_default();
        let listed = working.get("schemas").cloned();
        for k in ["id", "meta", "schemas"] {
            working.remove(k);
        }
        let before = working.clone();
        patch::apply(env.registry, kind, &mut working, body)?;
        if working == before && !restoring {
            // Nothing changed: no new version, no lastModified bump, so a replayed
            // idempotent PATCH leaves no trace.
            return Ok(current);
        }
        let attrs = env
            .registry
            .normalize(kind, &working, env.profile.reject_empty_password)?;
        self.check_update(env, kind, &current, &attrs)?;
        let mut client = Map::new();
        if let Some(s) = listed {
            client.insert("schemas".into(), s);
        }
        self.write(env, kind, Some(&current), attrs, &client)
    }

    /// `DELETE /{Users|Groups}/{id}`.
    pub fn delete(
        &mut self,
        env: &Env<'_>,
        kind: Kind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ScimError> {
        if !self.is_visible(env, kind, id) {
            return Err(not_found(kind, id));
        }
        let version = self.collection(kind).version(id).unwrap_or_default();
        check_version_match(version, if_match)?;
        if kind == Kind::User && env.profile.user_delete == UserDelete::PendingDeletion {
            self.users.set_pending(id, true);
            return Ok(());
        }
        self.purge(kind, id);
        Ok(())
    }

    /// Removes a resource for good (and its memberships: the groups listing it are found
    /// by the member index, not by a scan).
    pub fn purge(&mut self, kind: Kind, id: &str) -> bool {
        let removed = self.collection_mut(kind).remove(id).is_some();
        if removed {
            self.groups.drop_member(id);
        }
        removed
    }

    /// Brings a pending-deletion user back (the console's "restore").
    pub fn restore(&mut self, id: &str) -> Result<Entry, ScimError> {
        match self.users.pending_deletion(id) {
            None => return Err(not_found(Kind::User, id)),
            Some(false) => {
                return Err(ScimError::invalid_value(format!(
                    "User {id} is not pending deletion"
                )));
            }
            Some(_) => {}
        }
        self.users.set_pending(id, false);
        self.users.get(id).ok_or_else(|| not_found(Kind::User, id))
    }

    fn check_domain(
        &self,
        env: &Env<'_>,
        kind: Kind,
        attrs: &Map<String, Value>,
    ) -> Result<(), ScimError> {
        if kind != Kind::User {
            return Ok(());
        }
        let name = attrs.get("userName").and_then(Value::as_str).unwrap_or("");
        if env.profile.domain_accepted(name) {
            Ok(())
        } else {
            // IIJ ID's answer for a login ID outside the tenant's domains (ds/53259383).
            Err(ScimError::not_found("organization is not found."))
        }
    }

    fn check_update(
        &self,
        env: &Env<'_>,
        kind: Kind,
        current: &Entry,
        attrs: &Map<String, Value>,
    ) -> Result<(), ScimError> {
        let id = current.id.as_str();
        let old_name = current
            .resource
            .get(kind.name_attribute())
            .and_then(Value::as_str);
        let new_name = attrs.get(kind.name_attribute()).and_then(Value::as_str);
        if old_name.map(str::to_lowercase) != new_name.map(str::to_lowercase) {
            self.check_domain(env, kind, attrs)?;
        }
        let (name, ext) = keys_of_map(kind, attrs);
        let coll = self.collection(kind);
        if name
            .as_deref()
            .and_then(|n| coll.id_by_name(n))
            .is_some_and(|owner| owner != id)
        {
            return Err(ScimError::uniqueness(kind.name_attribute()));
        }
        if ext
            .as_deref()
            .and_then(|e| coll.id_by_external(e))
            .is_some_and(|owner| owner != id)
        {
            return Err(ScimError::uniqueness("externalId"));
        }
        if kind == Kind::Group {
            self.check_new_members(Some(current), attrs)?;
        }
        Ok(())
    }

    /// A member added by this write must exist (a user, pending or not, or a group).
    fn check_new_members(
        &self,
        current: Option<&Entry>,
        attrs: &Map<String, Value>,
    ) -> Result<(), ScimError> {
        let Some(Value::Array(members)) = attrs.get("members") else {
            return Ok(());
        };
        // A set: a group of many members must not compare every member with every other.
        let old: HashSet<&str> = current
            .and_then(|e| e.resource.get("members"))
            .and_then(Value::as_array)
            .map(|ms| {
                ms.iter()
                    .filter_map(|m| m.get("value").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        for m in members {
            let Some(v) = m.get("value").and_then(Value::as_str) else {
                return Err(ScimError::invalid_value(
                    "every member needs a \"value\" (the member's id)",
                ));
            };
            if old.contains(v) {
                continue;
            }
            if !self.users.contains(v) && !self.groups.contains(v) {
                return Err(ScimError::invalid_value(format!(
                    "member {v:?} is not a known User or Group id"
                )));
            }
        }
        Ok(())
    }

    /// Assembles and stores a resource: server attributes, profile rules, indexes.
    fn write(
        &mut self,
        env: &Env<'_>,
        kind: Kind,
        existing: Option<&Entry>,
        mut attrs: Map<String, Value>,
        client: &Map<String, Value>,
    ) -> Result<Entry, ScimError> {
        let profile = env.profile;
        let now = env.clock.tick();
        let (id, created, seq) = match existing {
            Some(e) => (
                e.id.clone(),
                e.resource
                    .pointer("/meta/created")
                    .cloned()
                    .unwrap_or_else(|| Value::String(timestamp(profile, now))),
                e.seq,
            ),
            None => {
                self.seq += 1;
                (
                    self.next_id(),
                    Value::String(timestamp(profile, now)),
                    self.seq,
                )
            }
        };
        if !attrs.contains_key("externalId") && profile.external_id_unset_as_empty {
            attrs.insert("externalId".into(), Value::String(String::new()));
        }
        if kind == Kind::User {
            for name in &profile.empty_multi_valued {
                if !attrs.keys().any(|k| k.eq_ignore_ascii_case(name)) {
                    attrs.insert(name.clone(), Value::Array(Vec::new()));
                }
            }
        }
        if kind == Kind::Group && profile.member_enrichment {
            self.enrich_members(env, &mut attrs);
        }
        let mut schemas = vec![Value::String(kind.core_urn().to_owned())];
        let listed: Vec<&str> = get_ci(client, "schemas")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for urn in env.registry.extensions(kind) {
            let present = attrs.contains_key(urn.as_str());
            let asked = listed.iter().any(|l| l.eq_ignore_ascii_case(urn));
            if present || asked {
                schemas.push(Value::String(urn.clone()));
            }
        }
        let version = self.next_version();
        let mut out = Map::with_capacity(attrs.len() + 4);
        out.insert("schemas".into(), Value::Array(schemas));
        out.insert("id".into(), Value::String(id.clone()));
        if let Some(e) = attrs.remove("externalId") {
            out.insert("externalId".into(), e);
        }
        out.extend(attrs);
        let mut meta = Map::new();
        meta.insert("resourceType".into(), kind.name().into());
        meta.insert("created".into(), created);
        meta.insert("lastModified".into(), timestamp(profile, now).into());
        meta.insert(
            "location".into(),
            format!("{}{}/{id}", env.base_url, kind.endpoint()).into(),
        );
        meta.insert("version".into(), version.clone().into());
        out.insert("meta".into(), Value::Object(meta));
        let entry = Entry {
            id,
            resource: Value::Object(out),
            version,
            seq,
            pending_deletion: false,
        };
        self.collection_mut(kind).insert(&entry);
        Ok(entry)
    }

    fn enrich_members(&self, env: &Env<'_>, attrs: &mut Map<String, Value>) {
        let Some(Value::Array(members)) = attrs.get_mut("members") else {
            return;
        };
        for m in members.iter_mut() {
            let Value::Object(o) = m else { continue };
            let Some(v) = o.get("value").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            let kind = if self.users.contains(&v) {
                Kind::User
            } else if self.groups.contains(&v) {
                Kind::Group
            } else {
                continue;
            };
            if !o.contains_key("$ref") {
                o.insert(
                    "$ref".into(),
                    format!("{}{}/{v}", env.base_url, kind.endpoint()).into(),
                );
            }
            if !o.contains_key("display") {
                // Read from the member's text alone: a group write must not render every
                // member in full.
                if let Some(d) = self.collection(kind).display_of(&v) {
                    o.insert("display".into(), d);
                }
            }
        }
    }

    /// One page of the resources of `kind` matching the query (visible ones only), at most
    /// the profile's page-size cap.
    pub fn list(&self, env: &Env<'_>, kind: Kind, query: &ListQuery) -> Page {
        let matched = self.select(env, kind, query);
        let total = matched.len();
        let (start, count) = query.window(env.profile.page_size_cap);
        let items = matched.into_iter().skip(start - 1).take(count).collect();
        Page {
            total,
            start_index: start,
            items,
        }
    }

    /// The visible resources of `kind` matching `filter`, in creation order, lazily (an
    /// indexed equality narrows to one candidate).
    pub fn matching<'s>(
        &'s self,
        env: &Env<'s>,
        kind: Kind,
        filter: Option<&'s Filter>,
    ) -> Box<dyn Iterator<Item = Entry> + 's> {
        let coll = self.collection(kind);
        let schema = KindSchema {
            registry: env.registry,
            kind,
        };
        let listed = env.profile.pending_deletion_listed;
        let keep = move |e: &Entry| {
            (listed || !e.pending_deletion)
                && filter.is_none_or(|f| f.matches(&e.resource, &schema))
        };
        match filter.and_then(|f| index_hint(kind, f)) {
            Some(hint) => Box::new(indexed(coll, &hint).into_iter().filter(keep)),
            None => Box::new(coll.iter().filter(keep)),
        }
    }

    /// Every visible resource of `kind` matching the query's filter, in its sort order
    /// (creation order without `sortBy`); paging is the caller's.
    pub fn select(&self, env: &Env<'_>, kind: Kind, query: &ListQuery) -> Vec<Entry> {
        let coll = self.collection(kind);
        let schema = KindSchema {
            registry: env.registry,
            kind,
        };
        let candidates: Box<dyn Iterator<Item = Entry> + '_> =
            match query.filter.as_ref().and_then(|f| index_hint(kind, f)) {
                Some(hint) => Box::new(indexed(coll, &hint).into_iter()),
                None => Box::new(coll.iter()),
            };
        let mut matched: Vec<Entry> = candidates
            .filter(|e| self.visible(env, e))
            .filter(|e| {
                query
                    .filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&e.resource, &schema))
            })
            .collect();
        if let Some(path) = &query.sort_by {
            let case_exact = schema.case_exact(path);
            let mut keyed: Vec<(SortKey, Entry)> = matched
                .into_iter()
                .map(|e| (sort_key(&e.resource, path, case_exact), e))
                .collect();
            keyed.sort_by(|(a, ea), (b, eb)| {
                let ord = match (a, b) {
                    (SortKey::Missing, SortKey::Missing) => std::cmp::Ordering::Equal,
                    // Unassigned values sort last in either order.
                    (SortKey::Missing, _) => return std::cmp::Ordering::Greater,
                    (_, SortKey::Missing) => return std::cmp::Ordering::Less,
                    (a, b) => a.cmp(b),
                };
                let ord = if query.descending { ord.reverse() } else { ord };
                ord.then(ea.seq.cmp(&eb.seq))
            });
            matched = keyed.into_iter().map(|(_, e)| e).collect();
        }
        matched
    }

    /// Loads resources as they are (a snapshot seed): no validation of attributes, no new
    /// timestamps; indexes are built and duplicates refused.
    pub fn seed(
        &mut self,
        kind: Kind,
        resource: Value,
        pending_deletion: bool,
    ) -> Result<(), String> {
        let Some(id) = resource
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(format!("a {} without an id", kind.name()));
        };
        if !resource.is_object() {
            return Err(format!("{} {id} is not a JSON object", kind.name()));
        }
        if self.users.contains(&id) || self.groups.contains(&id) {
            return Err(format!("{} {id}: the id is used twice", kind.name()));
        }
        let (name, ext) = keys_of(kind, &resource);
        let attr = kind.name_attribute();
        let Some(name) = name else {
            return Err(format!("{} {id} has no {attr}", kind.name()));
        };
        let coll = self.collection(kind);
        if let Some(other) = coll.id_by_name(&name) {
            return Err(format!(
                "{} {id}: {attr} {name:?} is also the {attr} of {other}",
                kind.name()
            ));
        }
        if let Some(other) = ext.as_deref().and_then(|e| coll.id_by_external(e)) {
            return Err(format!(
                "{} {id}: its externalId is also the externalId of {other}",
                kind.name()
            ));
        }
        // The text is serialized once: for the version when it is derived, and for the
        // store (a user's text is its whole JSON).
        let mut text = None;
        let version = match resource.pointer("/meta/version").and_then(Value::as_str) {
            Some(v) => v.to_owned(),
            None => {
                let json = resource.to_string();
                let version = format!("W/\"s{:016x}\"", fnv1a(json.as_bytes()));
                text = Some(json);
                version
            }
        };
        self.seq += 1;
        let entry = Entry {
            id,
            resource,
            version,
            seq: self.seq,
            pending_deletion: kind == Kind::User && pending_deletion,
        };
        let text = if kind == Kind::User { text } else { None };
        self.collection_mut(kind).insert_with_text(&entry, text);
        Ok(())
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn not_found(kind: Kind, id: &str) -> ScimError {
    ScimError::not_found(format!("{} {id} not found", kind.name()))
}

fn check_if_match(entry: &Entry, if_match: Option<&str>) -> Result<(), ScimError> {
    check_version_match(&entry.version, if_match)
}

fn check_version_match(version: &str, if_match: Option<&str>) -> Result<(), ScimError> {
    let Some(wanted) = if_match else {
        return Ok(());
    };
    let ok = wanted
        .split(',')
        .map(str::trim)
        .any(|w| w == "*" || strip_weak(w) == strip_weak(version));
    if ok {
        Ok(())
    } else {
        Err(ScimError::new(
            412,
            None,
            format!("the resource's version is {version}, not {wanted} (If-Match)"),
        ))
    }
}

fn strip_weak(v: &str) -> &str {
    v.strip_prefix("W/").unwrap_or(v)
}

/// `meta` timestamps in the profile's offset, whole seconds (`2018-07-31T17:50:07+09:00`).
pub fn timestamp(profile: &Profile, t: DateTime<Utc>) -> String {
    t.with_timezone(&profile.timestamp_offset)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

enum Hint {
    Name(String),
    External(String),
    Id(String),
}

/// The one resource an index hint names, if any.
fn indexed(coll: &Collection, hint: &Hint) -> Option<Entry> {
    let id = match hint {
        Hint::Name(n) => coll.id_by_name(n)?,
        Hint::External(e) => coll.id_by_external(e)?,
        Hint::Id(i) => i.as_str(),
    };
    coll.get(id)
}

/// An equality on an indexed attribute that every match must satisfy: the candidates are
/// then the one indexed resource, and the full filter still decides.
fn index_hint(kind: Kind, filter: &Filter) -> Option<Hint> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompareValue::String(v),
        } if path.sub.is_none()
            && path
                .urn
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(kind.core_urn())) =>
        {
            let n = path.name.as_str();
            // An RFC 3339 literal compares as an instant, not as text: no index for it.
            if chrono::DateTime::parse_from_rfc3339(v).is_ok() {
                return None;
            }
            if n.eq_ignore_ascii_case(kind.name_attribute()) {
                Some(Hint::Name(v.to_lowercase()))
            } else if n.eq_ignore_ascii_case("externalId") && !v.is_empty() {
                Some(Hint::External(v.clone()))
            } else if n.eq_ignore_ascii_case("id") {
                Some(Hint::Id(v.clone()))
            } else {
                None
            }
        }
        Filter::And(items) => items.iter().find_map(|f| index_hint(kind, f)),
        _ => None,
    }
}

#[derive(Debug)]
enum SortKey {
    Bool(bool),
    Num(f64),
    Time(DateTime<Utc>),
    Str(String),
    Missing,
}

impl SortKey {
    fn rank(&self) -> u8 {
        match self {
            SortKey::Bool(_) => 0,
            SortKey::Num(_) => 1,
            SortKey::Time(_) => 2,
            SortKey::Str(_) => 3,
            SortKey::Missing => 4,
        }
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            (SortKey::Num(a), SortKey::Num(b)) => a.total_cmp(b),
            (SortKey::Time(a), SortKey::Time(b)) => a.cmp(b),
            (SortKey::Str(a), SortKey::Str(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for SortKey {}

/// RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value, else its first.
fn sort_key(resource: &Value, path: &AttrPath, case_exact: bool) -> SortKey {
    let values = path.values(resource);
    let pick = |v: &Value| -> Option<Value> {
        match v {
            Value::Object(o) if path.sub.is_none() => o.get("value").cloned(),
            Value::Null => None,
            other => Some(other.clone()),
        }
    };
    let chosen = values
        .iter()
        .find(|v| v.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| values.first())
        .and_then(|v| pick(v));
    match chosen {
        None => SortKey::Missing,
        Some(Value::Bool(b)) => SortKey::Bool(b),
        Some(Value::Number(n)) => n.as_f64().map(SortKey::Num).unwrap_or(SortKey::Missing),
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => SortKey::Time(t.with_timezone(&Utc)),
            Err(_) if case_exact => SortKey::Str(s),
            Err(_) => SortKey::Str(s.to_lowercase()),
        },
        Some(_) => SortKey::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::LogicalClock;
    use serde_json::json;

    #[test]
    fn list_order_follows_deletes_restores_and_purges() {
        let registry = Registry::builtin();
        let profile = Profile::iij();
        let clock = LogicalClock::new(chrono::DateTime::UNIX_EPOCH, chrono::Duration::seconds(1));
        let env = Env {
            registry: &registry,
            profile: &profile,
            clock: &clock,
            base_url: "http://x/",
        };
        let mut store = Store::new(0);
        let ids: Vec<String> = (0..5)
            .map(|i| {
                let u = json!({"userName": format!("u{i}")});
                store.create(&env, Kind::User, &u).unwrap().entry.id
            })
            .collect();
        let names = |store: &Store, with_pending: bool| -> Vec<String> {
            let c = store.collection(Kind::User);
            c.ordered(with_pending)
                .iter()
                .map(|s| {
                    c.by_seq(*s).unwrap().resource["userName"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        };
        store.delete(&env, Kind::User, &ids[1], None).unwrap();
        store.delete(&env, Kind::User, &ids[3], None).unwrap();
        assert_eq!(names(&store, false), ["u0", "u2", "u4"]);
        assert_eq!(names(&store, true), ["u0", "u1", "u2", "u3", "u4"]);
        store.restore(&ids[3]).unwrap();
        assert_eq!(names(&store, false), ["u0", "u2", "u3", "u4"]);
        assert!(store.purge(Kind::User, &ids[1]));
        assert_eq!(names(&store, true), ["u0", "u2", "u3", "u4"]);
        // A write keeps the resource's place in the order.
        let patch = json!({"Operations": [{"op": "replace", "path": "title", "value": "t"}]});
        store
            .patch(&env, Kind::User, &ids[0], &patch, None)
            .unwrap();
        assert_eq!(names(&store, false), ["u0", "u2", "u3", "u4"]);
        let page = store.list(
            &env,
            Kind::User,
            &ListQuery {
                start_index: 2,
                count: Some(2),
                ..ListQuery::default()
            },
        );
        assert_eq!(page.total, 4);
        let got: Vec<&str> = page
            .items
            .iter()
            .map(|e| e.resource["userName"].as_str().unwrap())
            .collect();
        assert_eq!(got, ["u2", "u3"]);
    }
}

#[cfg(test)]
#[path = "store_index_tests.rs"]
mod index_tests;
