//! The schemas the mock serves (`/Schemas`, `/ResourceTypes`) and enforces: RFC 7643's User,
//! Group and enterprise User, plus IIJ ID's extensions with their URNs spelled exactly.
//!
//! The same definitions drive input validation (types, read-only attributes, the required
//! `userName` / `displayName`), attribute-name canonicalisation (names are case-insensitive,
//! RFC 7643 §2.1) and `caseExact` in filters.

use crate::error::ScimError;
use dirsnap_filter::scim::{AttrPath, AttributeSchema};
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub const URN_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const URN_RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const URN_SPC: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const URN_LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const URN_PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const URN_SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The two resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
    pub fn core_urn(self) -> &'static str {
        match self {
            Kind::User => dirsnap_model::URN_CORE_USER,
            Kind::Group => dirsnap_model::URN_CORE_GROUP,
        }
    }
    /// The attribute that must be present and unique by name.
    pub fn name_attribute(self) -> &'static str {
        match self {
            Kind::User => "userName",
            Kind::Group => "displayName",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Reference,
    Complex,
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    ReadOnly,
    #[default]
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    Always,
    Never,
    #[default]
    Default,
    Request,
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttrDef {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttrType,
    #[serde(default)]
    pub multi_valued: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub case_exact: bool,
    #[serde(default)]
    pub mutability: Mutability,
    #[serde(default)]
    pub returned: Returned,
    #[serde(default)]
    pub sub_attributes: Vec<AttrDef>,
}

impl AttrDef {
    pub fn sub(&self, name: &str) -> Option<&AttrDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// One schema: its definitions and the JSON served at `/Schemas/{id}`.
#[derive(Debug, Clone)]
pub struct SchemaDef {
    pub id: String,
    pub attributes: Vec<AttrDef>,
    json: Value,
}

impl SchemaDef {
    pub fn attr(&self, name: &str) -> Option<&AttrDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Deserialize)]
struct RawSchema {
    id: String,
    attributes: Vec<AttrDef>,
}

/// Every schema and resource type the mock knows.
#[derive(Debug, Clone)]
pub struct Registry {
    schemas: Vec<SchemaDef>,
    user_extensions: Vec<String>,
    group_extensions: Vec<String>,
}

const SCHEMAS_JSON: &str = include_str!("discovery/schemas.json");

impl Registry {
    /// The built-in schemas (RFC 7643 §8.7.1 plus IIJ ID's extensions).
    pub fn builtin() -> Registry {
        // The embedded file is part of the build and covered by tests; an error here is a
        // programming error, reported as an empty registry rather than a panic.
        let values: Vec<Value> = serde_json::from_str(SCHEMAS_JSON).unwrap_or_default();
        let schemas = values
            .into_iter()
            .filter_map(|json| {
                let raw: RawSchema = serde_json::from_value(json.clone()).ok()?;
                Some(SchemaDef {
                    id: raw.id,
                    attributes: raw.attributes,
                    json,
                })
            })
            .collect();
        Registry {
            schemas,
            user_extensions: vec![
                dirsnap_model::URN_ENTERPRISE_USER.to_owned(),
                dirsnap_model::URN_OIDFJ_ENTERPRISEJP_USER.to_owned(),
                dirsnap_model::URN_IIJ_ENTERPRISEJP_USER.to_owned(),
            ],
            group_extensions: vec![dirsnap_model::URN_IIJ_ENTERPRISE_GROUP.to_owned()],
        }
    }

    pub fn schema(&self, urn: &str) -> Option<&SchemaDef> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    pub fn extensions(&self, kind: Kind) -> &[String] {
        match kind {
            Kind::User => &self.user_extensions,
            Kind::Group => &self.group_extensions,
        }
    }

    /// The canonical spelling of an extension URN of `kind`, matched case-insensitively.
    pub fn extension(&self, kind: Kind, urn: &str) -> Option<&str> {
        self.extensions(kind)
            .iter()
            .find(|u| u.eq_ignore_ascii_case(urn))
            .map(String::as_str)
    }

    /// The definition of an attribute of `kind`, in the core schema (`urn` none or the core
    /// URN) or an extension.
    pub fn attr(&self, kind: Kind, urn: Option<&str>, name: &str) -> Option<&AttrDef> {
        let schema = match urn {
            None => kind.core_urn(),
            Some(u) if u.eq_ignore_ascii_case(kind.core_urn()) => kind.core_urn(),
            Some(u) => self.extension(kind, u)?,
        };
        self.schema(schema)?.attr(name)
    }

    pub fn schemas_json(&self, base_url: &str) -> Vec<Value> {
        self.schemas
            .iter()
            .map(|s| {
                let mut v = s.json.clone();
                if let Value::Object(o) = &mut v {
                    o.insert(
                        "meta".into(),
                        json!({"resourceType": "Schema", "location": format!("{base_url}Schemas/{}", s.id)}),
                    );
                }
                v
            })
            .collect()
    }

    pub fn schema_json(&self, base_url: &str, id: &str) -> Option<Value> {
        self.schemas_json(base_url)
            .into_iter()
            .find(|s| s["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
    }

    pub fn resource_types_json(&self, base_url: &str) -> Vec<Value> {
        [Kind::User, Kind::Group]
            .into_iter()
            .map(|kind| {
                let extensions: Vec<Value> = self
                    .extensions(kind)
                    .iter()
                    .map(|u| json!({"schema": u, "required": false}))
                    .collect();
                json!({
                    "schemas": [URN_RESOURCE_TYPE],
                    "id": kind.name(),
                    "name": kind.name(),
                    "endpoint": format!("/{}", kind.endpoint()),
                    "description": match kind { Kind::User => "User Account", Kind::Group => "Group" },
                    "schema": kind.core_urn(),
                    "schemaExtensions": extensions,
                    "meta": {
                        "resourceType": "ResourceType",
                        "location": format!("{base_url}ResourceTypes/{}", kind.name()),
                    },
                })
            })
            .collect()
    }

    /// Validates and canonicalises the attributes a client sent for `kind` (POST/PUT body, or
    /// a resource after PATCH). `id`, `meta`, `schemas` and read-only attributes are dropped
    /// (RFC 7643 §2.2: "SHALL be ignored"); write-only attributes are checked and dropped;
    /// `null` and `[]` mean unassigned and are dropped. Attributes no schema defines are kept
    /// as sent.
    pub fn normalize(
        &self,
        kind: Kind,
        input: &Map<String, Value>,
        reject_empty_password: bool,
    ) -> Result<Map<String, Value>, ScimError> {
        let mut out = Map::with_capacity(input.len());
        for (key, value) in input {
            if ["id", "meta", "schemas"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(key))
            {
                continue;
            }
            if key.eq_ignore_ascii_case("externalId") {
                match value {
                    Value::Null => {}
                    Value::String(_) => {
                        out.insert("externalId".into(), value.clone());
                    }
                    other => return Err(wrong_type("externalId", "a string", other)),
                }
                continue;
            }
            if let Some(urn) = self.extension(kind, key) {
                match value {
                    Value::Null => {}
                    Value::Object(ext) => {
                        let schema = self.schema(urn);
                        let mut norm = Map::with_capacity(ext.len());
                        for (k, v) in ext {
                            match schema.and_then(|s| s.attr(k)) {
                                Some(def) => {
                                    let label = format!("{urn}:{}", def.name);
                                    if let Some(v) = check_attr(def, v, &label, false)? {
                                        norm.insert(def.name.clone(), v);
                                    }
                                }
                                None => {
                                    norm.insert(k.clone(), v.clone());
                                }
                            }
                        }
                        out.insert(urn.to_owned(), Value::Object(norm));
                    }
                    other => return Err(wrong_type(urn, "an object", other)),
                }
                continue;
            }
            match self.attr(kind, None, key) {
                Some(def) => {
                    if def.mutability == Mutability::WriteOnly {
                        if reject_empty_password && value.as_str() == Some("") {
                            return Err(ScimError::invalid_value(format!(
                                "{} must not be an empty string",
                                def.name
                            )));
                        }
                        if !(value.is_null() || value.is_string()) {
                            return Err(wrong_type(&def.name, "a string", value));
                        }
                        continue;
                    }
                    if let Some(v) = check_attr(def, value, &def.name, false)? {
                        out.insert(def.name.clone(), v);
                    }
                }
                None => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        let name = kind.name_attribute();
        match out.get(name) {
            Some(Value::String(s)) if !s.is_empty() => {}
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "{name} is required and must be a non-empty string"
                )));
            }
        }
        Ok(out)
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn wrong_type(attr: &str, expected: &str, found: &Value) -> ScimError {
    ScimError::invalid_value(format!(
        "attribute {attr}: expected {expected}, found {}",
        describe(found)
    ))
}

/// Checks one attribute value against its definition; `None` means unassigned (drop it).
fn check_attr(
    def: &AttrDef,
    value: &Value,
    label: &str,
    element: bool,
) -> Result<Option<Value>, ScimError> {
    if def.mutability == Mutability::ReadOnly {
        return Ok(None);
    }
    if value.is_null() {
        return Ok(None);
    }
    if def.multi_valued && !element {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = check_attr(def, item, label, true)? {
                out.push(v);
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    let ok = match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => value.is_string(),
        AttrType::Boolean => value.is_boolean(),
        AttrType::Integer => value.is_i64() || value.is_u64(),
        AttrType::Decimal => value.is_number(),
        AttrType::DateTime => value
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        AttrType::Complex => value.is_object(),
    };
    if !ok {
        let expected = match def.ty {
            AttrType::String | AttrType::Reference | AttrType::Binary => "a string",
            AttrType::Boolean => "a boolean",
            AttrType::Integer => "an integer",
            AttrType::Decimal => "a number",
            AttrType::DateTime => "an RFC 3339 date-time string",
            AttrType::Complex => "an object",
        };
        return Err(wrong_type(label, expected, value));
    }
    if let (AttrType::Complex, Value::Object(sub)) = (def.ty, value) {
        let mut out = Map::with_capacity(sub.len());
        for (k, v) in sub {
            match def.sub(k) {
                Some(sd) => {
                    let l = format!("{label}.{}", sd.name);
                    if let Some(v) = check_attr(sd, v, &l, false)? {
                        out.insert(sd.name.clone(), v);
                    }
                }
                None => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        return Ok(Some(Value::Object(out)));
    }
    Ok(Some(value.clone()))
}

/// `caseExact` of the attributes of one resource type, for filters and sorting.
#[derive(Debug, Clone, Copy)]
pub struct KindSchema<'r> {
    pub registry: &'r Registry,
    pub kind: Kind,
}

impl AttributeSchema for KindSchema<'_> {
    fn case_exact(&self, path: &AttrPath) -> bool {
        let core = path
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(self.kind.core_urn()));
        if core && path.sub.is_none() {
            let n = path.name.as_str();
            if n.eq_ignore_ascii_case("id") || n.eq_ignore_ascii_case("externalId") {
                return true;
            }
        }
        if core && path.name.eq_ignore_ascii_case("meta") {
            return path
                .sub
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("version"));
        }
        let Some(def) = self
            .registry
            .attr(self.kind, path.urn.as_deref(), &path.name)
        else {
            return false;
        };
        match path.sub.as_deref() {
            None => def.case_exact,
            Some(sub) => def.sub(sub).is_some_and(|s| s.case_exact),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_registry_has_iij_extensions() {
        let r = Registry::builtin();
        assert!(r.schema(dirsnap_model::URN_CORE_USER).is_some());
        assert!(r.schema(dirsnap_model::URN_CORE_GROUP).is_some());
        assert!(r.schema(dirsnap_model::URN_ENTERPRISE_USER).is_some());
        assert!(
            r.schema(dirsnap_model::URN_OIDFJ_ENTERPRISEJP_USER)
                .is_some()
        );
        assert!(r.schema(dirsnap_model::URN_IIJ_ENTERPRISE_GROUP).is_some());
        let d = r
            .attr(
                Kind::User,
                Some(dirsnap_model::URN_IIJ_ENTERPRISEJP_USER),
                "DOWNSTREAMID",
            )
            .unwrap();
        assert_eq!(d.name, "downstreamId");
        assert!(d.case_exact);
        assert_eq!(r.schemas_json("http://x/").len(), 6);
        assert_eq!(r.resource_types_json("http://x/").len(), 2);
    }

    #[test]
    fn normalize_canonicalises_and_validates() {
        let r = Registry::builtin();
        let input = serde_json::json!({
            "id": "client-chosen", "meta": {"x": 1},
            "USERNAME": "a@example.jp",
            "Active": false,
            "password": "secret",
            "groups": [{"value": "g"}],
            "emails": {"value": "a@example.jp"},
            "phoneNumbers": [],
            "nickName": null,
            "zUnknown": 1,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "Sales", "manager": {"value": "m", "displayName": "ro"}},
        });
        let out = r
            .normalize(Kind::User, input.as_object().unwrap(), true)
            .unwrap();
        let keys: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            vec![
                "userName",
                "active",
                "emails",
                "zUnknown",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ]
        );
        assert_eq!(
            out["emails"],
            serde_json::json!([{"value": "a@example.jp"}])
        );
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            serde_json::json!({"department": "Sales", "manager": {"value": "m"}})
        );

        let bad = serde_json::json!({"userName": "a", "active": "yes"});
        let err = r
            .normalize(Kind::User, bad.as_object().unwrap(), true)
            .unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(
            err.detail,
            "attribute active: expected a boolean, found string \"yes\""
        );
        let missing = serde_json::json!({"displayName": "x"});
        let err = r
            .normalize(Kind::User, missing.as_object().unwrap(), true)
            .unwrap_err();
        assert_eq!(
            err.detail,
            "userName is required and must be a non-empty string"
        );
        let empty_pw = serde_json::json!({"userName": "a", "password": ""});
        assert!(
            r.normalize(Kind::User, empty_pw.as_object().unwrap(), true)
                .is_err()
        );
        assert!(
            r.normalize(Kind::User, empty_pw.as_object().unwrap(), false)
                .is_ok()
        );
    }

    #[test]
    fn case_exact_follows_the_schema() {
        let r = Registry::builtin();
        let s = KindSchema {
            registry: &r,
            kind: Kind::User,
        };
        assert!(s.case_exact(&"externalId".parse().unwrap()));
        assert!(s.case_exact(&"id".parse().unwrap()));
        assert!(!s.case_exact(&"userName".parse().unwrap()));
        assert!(
            s.case_exact(
                &"urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId"
                    .parse()
                    .unwrap()
            )
        );
        assert!(s.case_exact(&"meta.version".parse().unwrap()));
    }
}
