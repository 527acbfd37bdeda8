//! Conversion between SCIM 2.0 resources as JSON (what IIJ ID sends) and the rows of an IID
//! snapshot (`users.parquet`, `groups.parquet`, `memberships.parquet`).
//!
//! This is the one place that decides how a SCIM User or Group becomes typed columns, so the
//! IID exporter (`dirsnap export iid`) and the mock's dump (`dirsnap mock-scim
//! --dump-on-exit`) produce identical rows for identical resources; seeding the mock from a
//! snapshot goes the other way through [`user_to_scim`] and [`group_to_scim`].
//!
//! The rules (docs/snapshot-format.md):
//! * `raw` is the resource exactly as received (re-serialized compactly, key order kept),
//!   except that a group's `members` move to membership rows.
//! * `externalId: ""` means unset at IIJ ID and becomes `None`; `raw` keeps the `""`.
//! * The application-linking ID is read from `downstreamId` of
//!   `urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User` unless the options name
//!   another place (an IIJ assumption, docs/iij-assumptions.md A1).
//! * `meta.created` / `meta.lastModified` are RFC 3339 (IIJ ID sends `+09:00`) and are stored
//!   in UTC.
//! * Attribute names match case-insensitively (RFC 7643 §2.1), the exact spelling first.
//!
//! ```
//! use dirsnap_model::scim_json;
//! let user = serde_json::json!({
//!     "id": "u1", "userName": "taro@example.jp", "externalId": "",
//!     "meta": {"created": "2018-07-31T17:50:07+09:00"},
//! });
//! let row = scim_json::user_from_scim(&user)?;
//! assert_eq!(row.external_id, None);
//! assert_eq!(row.meta_created.map(|t| t.to_rfc3339()).as_deref(), Some("2018-07-31T08:50:07+00:00"));
//! # Ok::<(), scim_json::ScimJsonError>(())
//! ```

use crate::{IidGroup, IidUser, MemberKind, Membership, URN_ENTERPRISE_USER};
use crate::{URN_IIJ_ENTERPRISE_GROUP, URN_IIJ_ENTERPRISEJP_USER};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// A SCIM resource that cannot become a snapshot row (or a row that cannot become a
/// resource). Every variant names the resource and the attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimJsonError {
    #[error("{resource} is not a JSON object")]
    NotAnObject { resource: String },
    #[error("{resource}: required attribute {attribute} is missing")]
    Missing {
        resource: String,
        attribute: &'static str,
    },
    #[error("{resource}: attribute {attribute}: expected {expected}, found {found}")]
    WrongType {
        resource: String,
        attribute: String,
        expected: &'static str,
        found: String,
    },
    #[error("{resource}: attribute {attribute}: {value:?} is not an RFC 3339 date-time ({reason})")]
    BadTimestamp {
        resource: String,
        attribute: &'static str,
        value: String,
        reason: String,
    },
    #[error("{resource}: the raw column is not a JSON object: {reason}")]
    BadRaw { resource: String, reason: String },
}

/// Where the application-linking ID (アプリケーション連携ID) lives in a SCIM User.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkingIdPath {
    /// The extension schema URN whose object holds the attribute; `None` for a core
    /// (top-level) attribute.
    pub urn: Option<String>,
    /// The attribute name inside that object.
    pub attribute: String,
}

impl Default for LinkingIdPath {
    /// `urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId`
    /// (docs/iij-assumptions.md A1).
    fn default() -> Self {
        LinkingIdPath {
            urn: Some(URN_IIJ_ENTERPRISEJP_USER.to_owned()),
            attribute: "downstreamId".to_owned(),
        }
    }
}

impl LinkingIdPath {
    /// Parses `urn:…:attr` (everything before the last `:` is the URN) or a bare attribute.
    pub fn parse(path: &str) -> LinkingIdPath {
        match path.rsplit_once(':') {
            Some((urn, attribute)) => LinkingIdPath {
                urn: Some(urn.to_owned()),
                attribute: attribute.to_owned(),
            },
            None => LinkingIdPath {
                urn: None,
                attribute: path.to_owned(),
            },
        }
    }
}

/// How to read a User: what the JSON alone cannot say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserOptions {
    /// Where the application-linking ID is.
    pub linking_id: LinkingIdPath,
    /// The user is pending deletion (IIJ ID does not document how, or whether, SCIM shows
    /// it; the mock knows, an exporter of a real tenant passes `false`).
    pub pending_deletion: bool,
}

/// A User resource as a `users.parquet` row, with the default options (IIJ's
/// `downstreamId`, not pending deletion).
pub fn user_from_scim(resource: &Value) -> Result<IidUser, ScimJsonError> {
    user_from_scim_with(resource, &UserOptions::default())
}

/// A User resource as a `users.parquet` row.
pub fn user_from_scim_with(
    resource: &Value,
    options: &UserOptions,
) -> Result<IidUser, ScimJsonError> {
    let obj = resource
        .as_object()
        .ok_or_else(|| ScimJsonError::NotAnObject {
            resource: "SCIM User".to_owned(),
        })?;
    let id = required_string(obj, "id", || "SCIM User".to_owned())?;
    let who = || format!("SCIM User {id}");
    let user_name = required_string(obj, "userName", who)?;
    let ctx = Ctx { who: &who };
    let name = ctx.object(obj, "name")?;
    let emails = ctx.emails(obj)?;
    let email = emails
        .iter()
        .find(|(_, primary)| *primary)
        .or_else(|| emails.first())
        .map(|(v, _)| v.clone());
    let linking_base = match &options.linking_id.urn {
        Some(urn) => ctx.object(obj, urn)?,
        None => Some(obj),
    };
    let downstream_id = match linking_base {
        Some(base) => ctx.opt_string(base, &options.linking_id.attribute)?,
        None => None,
    };
    let department = match ctx.object(obj, URN_ENTERPRISE_USER)? {
        Some(ext) => ctx.opt_string(ext, "department")?,
        None => None,
    };
    let active = match get_ci(obj, "active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(ctx.wrong("active", "a boolean", other)),
    };
    let meta = ctx.object(obj, "meta")?;
    Ok(IidUser {
        user_name,
        external_id: ctx.external_id(obj)?,
        downstream_id,
        active,
        display_name: ctx.opt_string(obj, "displayName")?,
        family_name: name
            .map(|n| ctx.opt_string(n, "familyName"))
            .transpose()?
            .flatten(),
        given_name: name
            .map(|n| ctx.opt_string(n, "givenName"))
            .transpose()?
            .flatten(),
        email,
        emails: emails.into_iter().map(|(v, _)| v).collect(),
        title: ctx.opt_string(obj, "title")?,
        department,
        preferred_language: ctx.opt_string(obj, "preferredLanguage")?,
        timezone: ctx.opt_string(obj, "timezone")?,
        pending_deletion: options.pending_deletion,
        meta_created: ctx.meta_time(meta, "created")?,
        meta_last_modified: ctx.meta_time(meta, "lastModified")?,
        meta_version: meta
            .map(|m| ctx.opt_string(m, "version"))
            .transpose()?
            .flatten(),
        raw: resource.to_string(),
        id,
    })
}

/// A Group resource as a `groups.parquet` row (raw without `members`) and one membership row
/// per member, in the order received.
///
/// `resolve` tells what a member key is when it is in the snapshot being built (a user or
/// group id); such members are `in_scope`. For other members the kind comes from the member's
/// `type`, or from its `$ref` (`…/Users/…`, `…/Groups/…`), else it is unknown.
pub fn group_from_scim(
    resource: &Value,
    resolve: &dyn Fn(&str) -> Option<MemberKind>,
) -> Result<(IidGroup, Vec<Membership>), ScimJsonError> {
    let obj = resource
        .as_object()
        .ok_or_else(|| ScimJsonError::NotAnObject {
            resource: "SCIM Group".to_owned(),
        })?;
    let id = required_string(obj, "id", || "SCIM Group".to_owned())?;
    let who = || format!("SCIM Group {id}");
    let display_name = required_string(obj, "displayName", who)?;
    let ctx = Ctx { who: &who };
    let description = match ctx.object(obj, URN_IIJ_ENTERPRISE_GROUP)? {
        Some(ext) => ctx.opt_string(ext, "description")?,
        None => None,
    };
    let meta = ctx.object(obj, "meta")?;
    let mut memberships = Vec::new();
    let mut without_members = Map::with_capacity(obj.len());
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("members") {
            memberships = ctx.members(&id, value, resolve)?;
        } else {
            without_members.insert(key.clone(), value.clone());
        }
    }
    let group = IidGroup {
        display_name,
        external_id: ctx.external_id(obj)?,
        description,
        meta_created: ctx.meta_time(meta, "created")?,
        meta_last_modified: ctx.meta_time(meta, "lastModified")?,
        meta_version: meta
            .map(|m| ctx.opt_string(m, "version"))
            .transpose()?
            .flatten(),
        raw: Value::Object(without_members).to_string(),
        id,
    };
    Ok((group, memberships))
}

/// The SCIM User a `users.parquet` row was made from (its `raw` JSON).
pub fn user_to_scim(user: &IidUser) -> Result<Value, ScimJsonError> {
    parse_raw(&user.raw, || format!("IID user {}", user.id))
}

/// Where [`user_from_columns`] writes the attributes whose SCIM path is an assumption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPaths {
    /// The application-linking ID's path (`urn:…:User:downstreamId`, A1).
    pub linking_id: String,
    /// `department`'s path (the enterprise extension by default).
    pub department: String,
}

impl Default for ColumnPaths {
    fn default() -> Self {
        ColumnPaths {
            linking_id: format!("{URN_IIJ_ENTERPRISEJP_USER}:downstreamId"),
            department: format!("{URN_ENTERPRISE_USER}:department"),
        }
    }
}

/// A SCIM User rebuilt from a `users.parquet` row's typed columns, for a row whose `raw` was
/// not read (or a row a test builds): `id`, `userName`, `externalId` (`""` when unset, as
/// IIJ ID answers), `active`, then each set column at its path.
pub fn user_from_columns(user: &IidUser, paths: &ColumnPaths) -> Value {
    let mut resource = Map::new();
    resource.insert("id".to_owned(), Value::String(user.id.clone()));
    resource.insert("userName".to_owned(), Value::String(user.user_name.clone()));
    resource.insert(
        "externalId".to_owned(),
        Value::String(user.external_id.clone().unwrap_or_default()),
    );
    resource.insert("active".to_owned(), Value::Bool(user.active));
    let text = |v: &Option<String>| v.as_ref().map(|s| Value::String(s.clone()));
    let mut columns: Vec<(&str, Option<Value>)> = vec![
        ("displayName", text(&user.display_name)),
        ("name.familyName", text(&user.family_name)),
        ("name.givenName", text(&user.given_name)),
    ];
    if !user.emails.is_empty() {
        let emails = user
            .emails
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("value".to_owned(), Value::String(e.clone()));
                m.insert(
                    "primary".to_owned(),
                    Value::Bool(Some(e) == user.email.as_ref()),
                );
                Value::Object(m)
            })
            .collect();
        columns.push(("emails", Some(Value::Array(emails))));
    }
    columns.extend([
        ("title", text(&user.title)),
        (paths.department.as_str(), text(&user.department)),
        ("preferredLanguage", text(&user.preferred_language)),
        ("timezone", text(&user.timezone)),
        (paths.linking_id.as_str(), text(&user.downstream_id)),
    ]);
    for (path, value) in columns {
        if let Some(value) = value {
            set_path(&mut resource, path, value);
        }
    }
    Value::Object(resource)
}

/// Sets `urn:…:attr.sub` / `attr.sub` / `attr` in a resource, creating the objects on the way.
fn set_path(resource: &mut Map<String, Value>, path: &str, value: Value) {
    let is_urn = path
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    let (container, rest) = match path.rfind(':').filter(|_| is_urn) {
        Some(i) => (object_at(resource, &path[..i]), &path[i + 1..]),
        None => (Some(resource), path),
    };
    let Some(mut container) = container else {
        return;
    };
    let mut rest = rest;
    while let Some((head, tail)) = rest.split_once('.') {
        match object_at(container, head) {
            Some(child) => container = child,
            None => return,
        }
        rest = tail;
    }
    container.insert(rest.to_owned(), value);
}

/// The object under `key`, replacing whatever non-object is there.
fn object_at<'m>(m: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Map<String, Value>> {
    let entry = m
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut()
}

/// The SCIM Group a `groups.parquet` row and its membership rows were made from: `raw` with
/// `members` rebuilt as `{"value", "$ref", "display"}` (`$ref` only when the source named the
/// member differently from its key, `display` only when sent). Members without a key keep
/// their reference as `value`.
pub fn group_to_scim(group: &IidGroup, members: &[&Membership]) -> Result<Value, ScimJsonError> {
    let mut value = parse_raw(&group.raw, || format!("IID group {}", group.id))?;
    if !members.is_empty()
        && let Value::Object(obj) = &mut value
    {
        let list = members
            .iter()
            .filter_map(|m| {
                let key = m.member_key.as_deref().or(m.member_ref.as_deref())?;
                let mut member = Map::new();
                member.insert("value".to_owned(), Value::String(key.to_owned()));
                if let Some(r) = m.member_ref.as_deref().filter(|r| *r != key) {
                    member.insert("$ref".to_owned(), Value::String(r.to_owned()));
                }
                if let Some(d) = &m.member_display {
                    member.insert("display".to_owned(), Value::String(d.clone()));
                }
                Some(Value::Object(member))
            })
            .collect();
        obj.insert("members".to_owned(), Value::Array(list));
    }
    Ok(value)
}

fn parse_raw(raw: &str, who: impl Fn() -> String) -> Result<Value, ScimJsonError> {
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(other) => Err(ScimJsonError::BadRaw {
            resource: who(),
            reason: format!("found {}", type_name(&other)),
        }),
        Err(e) => Err(ScimJsonError::BadRaw {
            resource: who(),
            reason: e.to_string(),
        }),
    }
}

/// Looks an attribute up by its exact name, then case-insensitively (RFC 7643 §2.1).
fn get_ci<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn type_name(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn required_string(
    obj: &Map<String, Value>,
    attribute: &'static str,
    who: impl Fn() -> String,
) -> Result<String, ScimJsonError> {
    match get_ci(obj, attribute) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(ScimJsonError::Missing {
            resource: who(),
            attribute,
        }),
        Some(other) => Err(ScimJsonError::WrongType {
            resource: who(),
            attribute: attribute.to_owned(),
            expected: "a string",
            found: type_name(other),
        }),
    }
}

struct Ctx<'a> {
    who: &'a dyn Fn() -> String,
}

impl Ctx<'_> {
    fn wrong(&self, attribute: &str, expected: &'static str, found: &Value) -> ScimJsonError {
        ScimJsonError::WrongType {
            resource: (self.who)(),
            attribute: attribute.to_owned(),
            expected,
            found: type_name(found),
        }
    }

    fn opt_string(
        &self,
        obj: &Map<String, Value>,
        attribute: &str,
    ) -> Result<Option<String>, ScimJsonError> {
        match get_ci(obj, attribute) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(attribute, "a string", other)),
        }
    }

    fn object<'v>(
        &self,
        obj: &'v Map<String, Value>,
        attribute: &str,
    ) -> Result<Option<&'v Map<String, Value>>, ScimJsonError> {
        match get_ci(obj, attribute) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(other) => Err(self.wrong(attribute, "an object", other)),
        }
    }

    /// IIJ ID sends `""` for an unset externalId.
    fn external_id(&self, obj: &Map<String, Value>) -> Result<Option<String>, ScimJsonError> {
        Ok(self
            .opt_string(obj, "externalId")?
            .filter(|s| !s.is_empty()))
    }

    /// `emails[].value` in order, with their `primary` flag.
    fn emails(&self, obj: &Map<String, Value>) -> Result<Vec<(String, bool)>, ScimJsonError> {
        let items = match get_ci(obj, "emails") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(self.wrong("emails", "an array", other)),
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::Object(e) => {
                    let primary = matches!(get_ci(e, "primary"), Some(Value::Bool(true)));
                    if let Some(v) = self.opt_string(e, "value")? {
                        out.push((v, primary));
                    }
                }
                // A simple multi-valued form (`"emails": ["a@x"]`) is not SCIM, but loses
                // nothing to accept.
                Value::String(s) => out.push((s.clone(), false)),
                Value::Null => {}
                other => return Err(self.wrong("emails[]", "an object", other)),
            }
        }
        Ok(out)
    }

    fn meta_time(
        &self,
        meta: Option<&Map<String, Value>>,
        attribute: &'static str,
    ) -> Result<Option<DateTime<Utc>>, ScimJsonError> {
        let Some(meta) = meta else {
            return Ok(None);
        };
        let Some(text) = self.opt_string(meta, attribute)? else {
            return Ok(None);
        };
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| ScimJsonError::BadTimestamp {
                resource: (self.who)(),
                attribute: if attribute == "created" {
                    "meta.created"
                } else {
                    "meta.lastModified"
                },
                value: text,
                reason: e.to_string(),
            })
    }

    fn members(
        &self,
        group_id: &str,
        value: &Value,
        resolve: &dyn Fn(&str) -> Option<MemberKind>,
    ) -> Result<Vec<Membership>, ScimJsonError> {
        let items = match value {
            Value::Null => return Ok(Vec::new()),
            Value::Array(items) => items,
            other => return Err(self.wrong("members", "an array", other)),
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Value::Object(m) = item else {
                return Err(self.wrong("members[]", "an object", item));
            };
            let key = self.opt_string(m, "value")?;
            let reference = self.opt_string(m, "$ref")?;
            let declared = self
                .opt_string(m, "type")?
                .and_then(|t| kind_from_type(&t))
                .or_else(|| reference.as_deref().and_then(kind_from_ref));
            let resolved = key.as_deref().and_then(resolve);
            out.push(Membership {
                group_key: group_id.to_owned(),
                member_ref: reference.or_else(|| key.clone()),
                member_display: self.opt_string(m, "display")?,
                member_kind: resolved.or(declared).unwrap_or(MemberKind::Unknown),
                in_scope: resolved.is_some(),
                member_key: key,
            });
        }
        Ok(out)
    }
}

fn kind_from_type(t: &str) -> Option<MemberKind> {
    if t.eq_ignore_ascii_case("user") {
        Some(MemberKind::User)
    } else if t.eq_ignore_ascii_case("group") {
        Some(MemberKind::Group)
    } else {
        None
    }
}

fn kind_from_ref(r: &str) -> Option<MemberKind> {
    let path = r.trim_end_matches('/');
    let mut segments = path.rsplit('/');
    segments.next()?;
    match segments.next()? {
        "Users" => Some(MemberKind::User),
        "Groups" => Some(MemberKind::Group),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_resolve(_: &str) -> Option<MemberKind> {
        None
    }

    #[test]
    fn iij_sample_user_becomes_typed_row() {
        // Shaped like the GET /Users/{id} sample of api/19001059.
        let user = json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:oidfj:params:scim:schemas:extention:enterprisejp:2.0:User",
                "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User"
            ],
            "id": "abc01234-0000-4000-8000-000000000001",
            "externalId": "",
            "meta": {
                "resourceType": "User",
                "created": "2018-07-31T17:50:07+09:00",
                "lastModified": "2018-08-01T09:00:00+09:00",
                "location": "https://scim.auth.iij.jp/scim/v2/Users/abc01234-0000-4000-8000-000000000001"
            },
            "userName": "iij-taro@example.jp",
            "name": {"familyName": "IIJ", "givenName": "Taro"},
            "displayName": "IIJ Taro",
            "active": false,
            "emails": [{"value": "a@example.jp"}, {"value": "b@example.jp", "primary": true}],
            "urn:oidfj:params:scim:schemas:extention:enterprisejp:2.0:User": {"x": 1},
            "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User": {"downstreamId": "AAEC"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
        });
        let row = user_from_scim(&user).unwrap();
        assert_eq!(row.id, "abc01234-0000-4000-8000-000000000001");
        assert_eq!(row.user_name, "iij-taro@example.jp");
        assert_eq!(row.external_id, None);
        assert_eq!(row.downstream_id.as_deref(), Some("AAEC"));
        assert!(!row.active);
        assert_eq!(row.family_name.as_deref(), Some("IIJ"));
        assert_eq!(row.given_name.as_deref(), Some("Taro"));
        assert_eq!(row.email.as_deref(), Some("b@example.jp"));
        assert_eq!(row.emails, vec!["a@example.jp", "b@example.jp"]);
        assert_eq!(row.department.as_deref(), Some("Sales"));
        assert_eq!(
            row.meta_created.unwrap().to_rfc3339(),
            "2018-07-31T08:50:07+00:00"
        );
        assert_eq!(
            row.meta_last_modified.unwrap().to_rfc3339(),
            "2018-08-01T00:00:00+00:00"
        );
        assert!(!row.pending_deletion);
        // raw keeps the "" and the misspelt URN exactly.
        let back: Value = serde_json::from_str(&row.raw).unwrap();
        assert_eq!(back, user);
        assert!(row.raw.contains("extention:enterprisejp"));
    }

    #[test]
    fn active_defaults_to_true_and_first_email_when_none_primary() {
        let row = user_from_scim(&json!({
            "id": "1", "userName": "x", "emails": [{"value": "p@x"}, {"value": "q@x"}]
        }))
        .unwrap();
        assert!(row.active);
        assert_eq!(row.email.as_deref(), Some("p@x"));
        assert_eq!(row.external_id, None);
    }

    #[test]
    fn a_user_rebuilt_from_columns_reads_back_as_the_same_row() {
        let user = IidUser {
            id: "u-1".into(),
            user_name: "taro@example.co.jp".into(),
            external_id: None,
            downstream_id: Some("AAE=".into()),
            active: false,
            family_name: Some("山田".into()),
            email: Some("b@x".into()),
            emails: vec!["a@x".into(), "b@x".into()],
            department: Some("営業".into()),
            ..IidUser::default()
        };
        let json = user_from_columns(&user, &ColumnPaths::default());
        assert_eq!(
            json.to_string(),
            format!(
                r#"{{"id":"u-1","userName":"taro@example.co.jp","externalId":"","active":false,"name":{{"familyName":"山田"}},"emails":[{{"value":"a@x","primary":false}},{{"value":"b@x","primary":true}}],"{URN_ENTERPRISE_USER}":{{"department":"営業"}},"{URN_IIJ_ENTERPRISEJP_USER}":{{"downstreamId":"AAE="}}}}"#
            )
        );
        let back = user_from_scim(&json).unwrap();
        assert_eq!(
            (back.downstream_id, back.department, back.email, back.active),
            (
                user.downstream_id.clone(),
                user.department.clone(),
                user.email.clone(),
                user.active
            )
        );
        // A core attribute as the linking ID's path.
        let paths = ColumnPaths {
            linking_id: "employeeNumber".into(),
            ..ColumnPaths::default()
        };
        assert_eq!(user_from_columns(&user, &paths)["employeeNumber"], "AAE=");
    }

    #[test]
    fn linking_id_path_is_switchable() {
        let user = json!({"id": "1", "userName": "x", "employeeNumber": "E1",
            "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User": {"downstreamId": "D"}});
        let opts = UserOptions {
            linking_id: LinkingIdPath::parse("employeeNumber"),
            pending_deletion: true,
        };
        let row = user_from_scim_with(&user, &opts).unwrap();
        assert_eq!(row.downstream_id.as_deref(), Some("E1"));
        assert!(row.pending_deletion);
        assert_eq!(
            LinkingIdPath::parse(
                "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId"
            ),
            LinkingIdPath::default()
        );
    }

    #[test]
    fn bad_input_names_resource_and_attribute() {
        let err = user_from_scim(&json!({"id": "u9", "userName": 5})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SCIM User u9: attribute userName: expected a string, found number 5"
        );
        let err = user_from_scim(&json!({"id": "u9"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SCIM User u9: required attribute userName is missing"
        );
        let err = user_from_scim(&json!({"id": "u9", "userName": "a",
            "meta": {"created": "yesterday"}}))
        .unwrap_err();
        assert!(matches!(
            err,
            ScimJsonError::BadTimestamp {
                attribute: "meta.created",
                ..
            }
        ));
        assert!(
            err.to_string()
                .starts_with("SCIM User u9: attribute meta.created: \"yesterday\"")
        );
        let err = group_from_scim(
            &json!({"id": "g1", "displayName": "G", "members": {}}),
            &no_resolve,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SCIM Group g1: attribute members: expected an array, found an object"
        );
        assert!(matches!(
            user_from_scim(&json!([])),
            Err(ScimJsonError::NotAnObject { .. })
        ));
    }

    #[test]
    fn group_members_become_rows_and_raw_drops_them() {
        let group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "g1",
            "externalId": "ext-1",
            "displayName": "Sales",
            "members": [
                {"value": "u1", "$ref": "https://scim.auth.iij.jp/scim/v2/Users/u1", "display": "Taro"},
                {"value": "g2", "type": "Group"},
                {"value": "zz", "$ref": "https://h/scim/v2/Users/zz"},
                {"value": "qq"}
            ],
            "urn:iij:params:scim:schemas:extension:enterprise:2.0:Group": {"description": "d", "groupType": "security"},
            "meta": {"created": "2020-01-01T09:00:00+09:00"}
        });
        let resolve = |k: &str| (k == "u1").then_some(MemberKind::User);
        let (row, members) = group_from_scim(&group, &resolve).unwrap();
        assert_eq!(row.display_name, "Sales");
        assert_eq!(row.external_id.as_deref(), Some("ext-1"));
        assert_eq!(row.description.as_deref(), Some("d"));
        assert_eq!(
            row.meta_created.unwrap().to_rfc3339(),
            "2020-01-01T00:00:00+00:00"
        );
        let raw: Value = serde_json::from_str(&row.raw).unwrap();
        assert!(raw.get("members").is_none());
        assert_eq!(raw["displayName"], "Sales");
        assert_eq!(members.len(), 4);
        assert_eq!(members[0].member_key.as_deref(), Some("u1"));
        assert_eq!(
            members[0].member_ref.as_deref(),
            Some("https://scim.auth.iij.jp/scim/v2/Users/u1")
        );
        assert_eq!(members[0].member_display.as_deref(), Some("Taro"));
        assert_eq!(members[0].member_kind, MemberKind::User);
        assert!(members[0].in_scope);
        assert_eq!(members[1].member_kind, MemberKind::Group);
        assert!(!members[1].in_scope);
        assert_eq!(members[1].member_ref.as_deref(), Some("g2"));
        assert_eq!(members[2].member_kind, MemberKind::User);
        assert_eq!(members[3].member_kind, MemberKind::Unknown);
        assert!(members.iter().all(|m| m.group_key == "g1"));
    }

    #[test]
    fn group_round_trips_through_rows() {
        let group = json!({
            "id": "g1", "displayName": "Sales", "externalId": "",
            "meta": {"resourceType": "Group"},
            "members": [
                {"value": "u1", "$ref": "https://h/Users/u1", "display": "Taro"},
                {"value": "u2"}
            ]
        });
        let resolve = |_: &str| Some(MemberKind::User);
        let (row, members) = group_from_scim(&group, &resolve).unwrap();
        let refs: Vec<&Membership> = members.iter().collect();
        let back = group_to_scim(&row, &refs).unwrap();
        let (row2, members2) = group_from_scim(&back, &resolve).unwrap();
        assert_eq!(row2, row);
        assert_eq!(members2, members);
        assert_eq!(back["members"][1], json!({"value": "u2"}));
    }

    #[test]
    fn user_round_trips_through_raw() {
        let user =
            json!({"id": "1", "userName": "x", "zExtra": {"kept": [1, 2]}, "externalId": ""});
        let row = user_from_scim(&user).unwrap();
        assert_eq!(user_to_scim(&row).unwrap(), user);
        let bad = IidUser {
            id: "1".into(),
            raw: "[1]".into(),
            ..IidUser::default()
        };
        assert_eq!(
            user_to_scim(&bad).unwrap_err().to_string(),
            "IID user 1: the raw column is not a JSON object: found an array"
        );
    }

    #[test]
    fn attribute_names_match_case_insensitively() {
        let row = user_from_scim(&json!({"ID": "1", "username": "x", "EXTERNALID": "E"})).unwrap();
        assert_eq!(row.user_name, "x");
        assert_eq!(row.external_id.as_deref(), Some("E"));
    }
}
