//! PATCH (RFC 7644 §3.5.2) applied to a resource held as a JSON object.
//!
//! Supported: `add`, `remove`, `replace` (operation names case-insensitive, as some clients
//! send `Replace`); paths `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, with schema
//! URN prefixes (`urn:…:User:department`) and bare extension URNs; operations without a path
//! whose value holds attributes, extension objects or URN-prefixed attribute paths. A remove
//! whose filter matches nothing is a no-op, so retried removals stay idempotent.

use crate::error::ScimError;
use crate::schema::{AttrDef, AttrType, Kind, KindSchema, Mutability, Registry};
use dirsnap_filter::scim::{AttrPath, Filter, PatchPath};
use serde_json::{Map, Value};

/// Where an operation points.
#[derive(Debug)]
enum Target {
    /// A whole extension object (`urn:…:enterprise:2.0:User`).
    Extension(String),
    Attr {
        /// `None`: top level; `Some(urn)`: inside that extension object.
        container: Option<String>,
        name: String,
        /// `name.sub`, or the `.sub` after `]`.
        sub: Option<String>,
        filter: Option<Box<Filter>>,
        /// The definition when the schema knows the attribute.
        def: Option<Box<AttrDef>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Replace,
}

/// Applies the operations of a PatchOp body to `resource` (which holds no `id`, `meta` or
/// `schemas`). Validation of the result is the caller's job (the same as for PUT).
pub fn apply(
    registry: &Registry,
    kind: Kind,
    resource: &mut Map<String, Value>,
    body: &Value,
) -> Result<(), ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body must be a JSON object"))?;
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ScimError::invalid_syntax(
                "a PATCH body needs an \"Operations\" array (RFC 7644 §3.5.2)",
            )
        })?;
    for (i, op) in ops.iter().enumerate() {
        let op_obj = op.as_object().ok_or_else(|| {
            ScimError::invalid_syntax(format!("Operations[{i}] is not an object"))
        })?;
        let name = get_ci(op_obj, "op").and_then(Value::as_str).unwrap_or("");
        let kind_of_op = if name.eq_ignore_ascii_case("add") {
            Op::Add
        } else if name.eq_ignore_ascii_case("remove") {
            Op::Remove
        } else if name.eq_ignore_ascii_case("replace") {
            Op::Replace
        } else {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{i}].op must be \"add\", \"remove\" or \"replace\", found {name:?}"
            )));
        };
        let value = get_ci(op_obj, "value");
        let path = match get_ci(op_obj, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.trim().is_empty() => None,
            Some(Value::String(p)) => Some(p.as_str()),
            Some(_) => {
                return Err(ScimError::invalid_path(format!(
                    "Operations[{i}].path must be a string"
                )));
            }
        };
        match (kind_of_op, path) {
            (Op::Remove, None) => {
                return Err(ScimError::no_target(format!(
                    "Operations[{i}]: remove needs a path"
                )));
            }
            (_, Some(p)) => {
                let target = resolve(registry, kind, p)?;
                apply_one(registry, kind, resource, kind_of_op, &target, value)?;
            }
            (_, None) => {
                let Some(Value::Object(attrs)) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "Operations[{i}]: without a path, value must be an object of attributes"
                    )));
                };
                for (k, v) in attrs {
                    let target = resolve(registry, kind, k)?;
                    apply_one(registry, kind, resource, kind_of_op, &target, Some(v))?;
                }
            }
        }
    }
    Ok(())
}

fn get_ci<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn key_ci(obj: &Map<String, Value>, key: &str) -> Option<String> {
    if obj.contains_key(key) {
        return Some(key.to_owned());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

fn resolve(registry: &Registry, kind: Kind, path: &str) -> Result<Target, ScimError> {
    let trimmed = path.trim();
    if let Some(urn) = registry.extension(kind, trimmed) {
        return Ok(Target::Extension(urn.to_owned()));
    }
    let parsed = PatchPath::parse(trimmed)
        .map_err(|e| ScimError::invalid_path(format!("invalid path {trimmed:?}: {e}")))?;
    let container = match parsed.attr.urn.as_deref() {
        None => None,
        Some(u) if u.eq_ignore_ascii_case(kind.core_urn()) => None,
        Some(u) => Some(
            registry
                .extension(kind, u)
                .map(str::to_owned)
                .unwrap_or_else(|| u.to_owned()),
        ),
    };
    let name_given = parsed.attr.name.clone();
    for ro in ["id", "meta", "schemas"] {
        if container.is_none() && name_given.eq_ignore_ascii_case(ro) {
            return Err(ScimError::mutability(format!("{ro} cannot be modified")));
        }
    }
    let def = registry
        .attr(kind, container.as_deref(), &name_given)
        .cloned()
        .map(Box::new);
    if let Some(d) = &def
        && d.mutability == Mutability::ReadOnly
    {
        return Err(ScimError::mutability(format!("{} is read-only", d.name)));
    }
    let name = if container.is_none() && name_given.eq_ignore_ascii_case("externalId") {
        "externalId".to_owned()
    } else {
        def.as_ref().map(|d| d.name.clone()).unwrap_or(name_given)
    };
    let sub = parsed.attr.sub.clone().or(parsed.sub.clone()).map(|s| {
        def.as_ref()
            .and_then(|d| d.sub(&s))
            .map(|sd| sd.name.clone())
            .unwrap_or(s)
    });
    Ok(Target::Attr {
        container,
        name,
        sub,
        filter: parsed.filter.map(Box::new),
        def,
    })
}

fn is_multi(def: Option<&AttrDef>, existing: Option<&Value>, value: Option<&Value>) -> bool {
    match def {
        Some(d) => d.multi_valued,
        None => matches!(existing, Some(Value::Array(_))) || matches!(value, Some(Value::Array(_))),
    }
}

fn is_complex_single(def: Option<&AttrDef>, existing: Option<&Value>) -> bool {
    match def {
        Some(d) => d.ty == AttrType::Complex && !d.multi_valued,
        None => matches!(existing, Some(Value::Object(_))),
    }
}

fn need_value(value: Option<&Value>) -> Result<&Value, ScimError> {
    value.ok_or_else(|| ScimError::invalid_value("add and replace operations need a value"))
}

fn apply_one(
    registry: &Registry,
    kind: Kind,
    resource: &mut Map<String, Value>,
    op: Op,
    target: &Target,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match target {
        Target::Extension(urn) => {
            if op == Op::Remove {
                if let Some(k) = key_ci(resource, urn) {
                    resource.remove(&k);
                }
                return Ok(());
            }
            let Value::Object(attrs) = need_value(value)? else {
                return Err(ScimError::invalid_value(format!(
                    "the value for {urn} must be an object"
                )));
            };
            let key = key_ci(resource, urn).unwrap_or_else(|| urn.clone());
            let ext = resource
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            if let Value::Object(ext) = ext {
                for (k, v) in attrs {
                    let def = registry.attr(kind, Some(urn), k);
                    let name = def.map(|d| d.name.clone()).unwrap_or_else(|| k.clone());
                    set_attr(ext, &name, def, v, op);
                }
            }
            Ok(())
        }
        Target::Attr {
            container,
            name,
            sub,
            filter,
            def,
        } => {
            let holder: &mut Map<String, Value> = match container {
                None => resource,
                Some(urn) => {
                    let key = key_ci(resource, urn).unwrap_or_else(|| urn.clone());
                    if op == Op::Remove && !resource.contains_key(&key) {
                        return Ok(());
                    }
                    let ext = resource
                        .entry(key)
                        .or_insert_with(|| Value::Object(Map::new()));
                    if !ext.is_object() {
                        *ext = Value::Object(Map::new());
                    }
                    match ext {
                        Value::Object(m) => m,
                        _ => return Ok(()),
                    }
                }
            };
            match filter {
                Some(f) => {
                    let at = Located {
                        name,
                        sub: sub.as_deref(),
                        def: def.as_deref(),
                    };
                    apply_filtered(registry, kind, holder, op, &at, f, value)
                }
                None => apply_plain(holder, op, name, sub.as_deref(), def.as_deref(), value),
            }
        }
    }
}

/// `add`/`replace` of a whole attribute value at `name` in `holder`.
fn set_attr(
    holder: &mut Map<String, Value>,
    name: &str,
    def: Option<&AttrDef>,
    value: &Value,
    op: Op,
) {
    let key = key_ci(holder, name).unwrap_or_else(|| name.to_owned());
    let existing = holder.get(&key);
    if is_multi(def, existing, Some(value)) {
        let incoming: Vec<Value> = match value {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            single => vec![single.clone()],
        };
        if op == Op::Replace {
            holder.insert(key, Value::Array(incoming));
            return;
        }
        let mut items = match holder.remove(&key) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![other],
        };
        for v in incoming {
            if !items.iter().any(|e| same_element(e, &v)) {
                items.push(v);
            }
        }
        holder.insert(key, Value::Array(items));
        return;
    }
    if is_complex_single(def, existing)
        && let (Some(Value::Object(_)), Value::Object(new)) = (existing, value)
    {
        if let Some(Value::Object(old)) = holder.get_mut(&key) {
            for (k, v) in new {
                let sk = key_ci(old, k).unwrap_or_else(|| k.clone());
                old.insert(sk, v.clone());
            }
        }
        return;
    }
    holder.insert(key, value.clone());
}

/// Two elements of a multi-valued attribute are the same when equal, or when both are
/// objects with the same `value` (a member added twice is one member).
fn same_element(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => match (get_ci(x, "value"), get_ci(y, "value")) {
            (Some(vx), Some(vy)) => vx == vy && !vx.is_null(),
            _ => false,
        },
        _ => false,
    }
}

fn apply_plain(
    holder: &mut Map<String, Value>,
    op: Op,
    name: &str,
    sub: Option<&str>,
    def: Option<&AttrDef>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let key = key_ci(holder, name).unwrap_or_else(|| name.to_owned());
    match (op, sub) {
        (Op::Remove, None) => {
            match (value, holder.get_mut(&key)) {
                // Remove the listed values from a multi-valued attribute (a form several
                // clients use for members).
                (Some(v), Some(Value::Array(items))) if !v.is_null() => {
                    let gone: Vec<Value> = match v {
                        Value::Array(xs) => xs.clone(),
                        one => vec![one.clone()],
                    };
                    items.retain(|e| !gone.iter().any(|g| same_element(e, g)));
                    if items.is_empty() {
                        holder.remove(&key);
                    }
                }
                _ => {
                    holder.remove(&key);
                }
            }
            Ok(())
        }
        (Op::Remove, Some(s)) => {
            match holder.get_mut(&key) {
                Some(Value::Object(o)) => {
                    if let Some(k) = key_ci(o, s) {
                        o.remove(&k);
                    }
                    if o.is_empty() {
                        holder.remove(&key);
                    }
                }
                Some(Value::Array(items)) => {
                    for e in items.iter_mut() {
                        if let Value::Object(o) = e
                            && let Some(k) = key_ci(o, s)
                        {
                            o.remove(&k);
                        }
                    }
                    items.retain(|e| !matches!(e, Value::Object(o) if o.is_empty()));
                    if items.is_empty() {
                        holder.remove(&key);
                    }
                }
                _ => {}
            }
            Ok(())
        }
        (_, None) => {
            set_attr(holder, name, def, need_value(value)?, op);
            Ok(())
        }
        (_, Some(s)) => {
            let v = need_value(value)?.clone();
            let slot = holder
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            match slot {
                Value::Array(items) => {
                    for e in items.iter_mut() {
                        if let Value::Object(o) = e {
                            let sk = key_ci(o, s).unwrap_or_else(|| s.to_owned());
                            o.insert(sk, v.clone());
                        }
                    }
                }
                Value::Object(o) => {
                    let sk = key_ci(o, s).unwrap_or_else(|| s.to_owned());
                    o.insert(sk, v);
                }
                other => {
                    let mut o = Map::new();
                    o.insert(s.to_owned(), v);
                    *other = Value::Object(o);
                }
            }
            Ok(())
        }
    }
}

/// The attribute a filtered operation works on.
struct Located<'a> {
    name: &'a str,
    sub: Option<&'a str>,
    def: Option<&'a AttrDef>,
}

fn apply_filtered(
    registry: &Registry,
    kind: Kind,
    holder: &mut Map<String, Value>,
    op: Op,
    at: &Located<'_>,
    filter: &Filter,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let name = at.name;
    let key = key_ci(holder, name).unwrap_or_else(|| name.to_owned());
    let schema = KindSchema { registry, kind };
    // The filter's paths are relative to the element: evaluate `name[filter]` on a
    // one-element resource.
    let probe = Filter::ValuePath {
        path: AttrPath::new(name),
        filter: Box::new(filter.clone()),
    };
    let matches_element = |e: &Value| {
        let mut wrapper = Map::new();
        wrapper.insert(name.to_owned(), Value::Array(vec![e.clone()]));
        probe.matches(&Value::Object(wrapper), &schema)
    };
    let Some(Value::Array(items)) = holder.get_mut(&key) else {
        return match op {
            Op::Remove => Ok(()),
            _ => Err(ScimError::no_target(format!(
                "{name}[{filter}] matches no value"
            ))),
        };
    };
    let hits: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, e)| matches_element(e))
        .map(|(i, _)| i)
        .collect();
    match op {
        Op::Remove => {
            if let Some(s) = at.sub {
                for &i in &hits {
                    if let Some(Value::Object(o)) = items.get_mut(i)
                        && let Some(k) = key_ci(o, s)
                    {
                        o.remove(&k);
                    }
                }
            } else {
                let mut i = 0;
                items.retain(|_| {
                    let keep = !hits.contains(&i);
                    i += 1;
                    keep
                });
            }
            if items.is_empty() {
                holder.remove(&key);
            }
            Ok(())
        }
        Op::Add | Op::Replace => {
            if hits.is_empty() {
                return Err(ScimError::no_target(format!(
                    "{name}[{filter}] matches no value"
                )));
            }
            let v = need_value(value)?;
            for &i in &hits {
                let Some(slot) = items.get_mut(i) else {
                    continue;
                };
                match (at.sub, slot) {
                    (Some(s), Value::Object(o)) => {
                        let sd = at.def.and_then(|d| d.sub(s));
                        let sk = key_ci(o, s)
                            .or_else(|| sd.map(|d| d.name.clone()))
                            .unwrap_or_else(|| s.to_owned());
                        o.insert(sk, v.clone());
                    }
                    (Some(_), _) => {}
                    (None, slot) => match (op, slot, v) {
                        (Op::Add, Value::Object(o), Value::Object(new)) => {
                            for (k, nv) in new {
                                let sk = key_ci(o, k).unwrap_or_else(|| k.clone());
                                o.insert(sk, nv.clone());
                            }
                        }
                        (_, slot, v) => *slot = v.clone(),
                    },
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(kind: Kind, start: Value, ops: Value) -> Result<Value, ScimError> {
        let r = Registry::builtin();
        let mut m = start.as_object().unwrap().clone();
        apply(
            &r,
            kind,
            &mut m,
            &json!({"schemas": [crate::schema::URN_PATCH], "Operations": ops}),
        )?;
        Ok(Value::Object(m))
    }

    #[test]
    fn add_remove_replace_simple_and_complex() {
        let out = patch(
            Kind::User,
            json!({"userName": "a", "name": {"givenName": "T"}}),
            json!([
                {"op": "add", "path": "title", "value": "Eng"},
                {"op": "Replace", "path": "name.familyName", "value": "Y"},
                {"op": "replace", "path": "name", "value": {"givenName": "U"}},
                {"op": "add", "path": "emails", "value": [{"value": "a@x", "type": "work"}]},
                {"op": "add", "path": "emails", "value": [{"value": "a@x", "type": "work"}, {"value": "b@x"}]},
            ]),
        )
        .unwrap();
        assert_eq!(out["title"], "Eng");
        assert_eq!(out["name"], json!({"givenName": "U", "familyName": "Y"}));
        assert_eq!(out["emails"].as_array().unwrap().len(), 2);
        let out = patch(Kind::User, out, json!([{"op": "remove", "path": "title"}])).unwrap();
        assert!(out.get("title").is_none());
    }

    #[test]
    fn value_path_filters_select_elements() {
        let start = json!({"userName": "a", "emails": [
            {"value": "a@work", "type": "work"}, {"value": "a@home", "type": "home"}]});
        let out = patch(
            Kind::User,
            start.clone(),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@work"}]),
        )
        .unwrap();
        assert_eq!(out["emails"][0]["value"], "new@work");
        assert_eq!(out["emails"][1]["value"], "a@home");
        let out = patch(
            Kind::User,
            start.clone(),
            json!([{"op": "remove", "path": "emails[type eq \"HOME\"]"}]),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([{"value": "a@work", "type": "work"}]));
        let err = patch(
            Kind::User,
            start,
            json!([{"op": "replace", "path": "emails[type eq \"fax\"].value", "value": "x"}]),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some("noTarget"));
    }

    #[test]
    fn members_add_remove_by_filter_and_by_value() {
        let start = json!({"displayName": "G", "members": [{"value": "u1"}, {"value": "u2"}]});
        let out = patch(
            Kind::Group,
            start,
            json!([
                {"op": "add", "path": "members", "value": [{"value": "u2"}, {"value": "u3"}]},
                {"op": "remove", "path": "members[value eq \"u1\"]"},
                {"op": "remove", "path": "members[value eq \"absent\"]"},
                {"op": "remove", "path": "members", "value": [{"value": "u3"}]},
            ]),
        )
        .unwrap();
        assert_eq!(out["members"], json!([{"value": "u2"}]));
        let out = patch(
            Kind::Group,
            out,
            json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]),
        )
        .unwrap();
        assert!(out.get("members").is_none());
    }

    #[test]
    fn extension_paths_and_pathless_values() {
        let iij = dirsnap_model::URN_IIJ_ENTERPRISEJP_USER;
        let ent = dirsnap_model::URN_ENTERPRISE_USER;
        let out = patch(
            Kind::User,
            json!({"userName": "a"}),
            json!([
                {"op": "add", "path": format!("{iij}:downstreamId"), "value": "D1"},
                {"op": "add", "value": {ent: {"department": "Sales"}, "displayName": "A"}},
                {"op": "replace", "value": {format!("{ent}:department"): "Ops"}},
            ]),
        )
        .unwrap();
        assert_eq!(out[iij]["downstreamId"], "D1");
        assert_eq!(out[ent]["department"], "Ops");
        assert_eq!(out["displayName"], "A");
        let out = patch(Kind::User, out, json!([{"op": "remove", "path": ent}])).unwrap();
        assert!(out.get(ent).is_none());
    }

    #[test]
    fn bad_operations_are_scim_errors() {
        let u = || json!({"userName": "a"});
        let e = patch(Kind::User, u(), json!([{"op": "move", "path": "x"}])).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidSyntax"));
        let e = patch(Kind::User, u(), json!([{"op": "remove"}])).unwrap_err();
        assert_eq!(e.scim_type, Some("noTarget"));
        let e = patch(
            Kind::User,
            u(),
            json!([{"op": "add", "path": "emails[", "value": 1}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some("invalidPath"));
        let e = patch(
            Kind::User,
            u(),
            json!([{"op": "replace", "path": "id", "value": "x"}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some("mutability"));
        let e = patch(
            Kind::User,
            u(),
            json!([{"op": "add", "path": "groups", "value": []}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some("mutability"));
    }
}
