//! Response representations: `attributes` / `excludedAttributes` projections (RFC 7644
//! §3.4.2.5) and list responses.

use crate::error::ScimError;
use crate::schema::{Kind, Registry, Returned, URN_LIST};
use dirsnap_filter::scim::AttrPath;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Which attributes to return.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub attributes: Vec<Target>,
    pub excluded: Vec<Target>,
}

/// One entry of an `attributes` list.
#[derive(Debug, Clone)]
pub enum Target {
    /// A whole extension object.
    Extension(String),
    Attr(AttrPath),
}

impl Projection {
    /// Parses the comma-separated `attributes` and `excludedAttributes` values.
    pub fn parse(
        registry: &Registry,
        kinds: &[Kind],
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, ScimError> {
        Ok(Projection {
            attributes: parse_list(registry, kinds, attributes)?,
            excluded: parse_list(registry, kinds, excluded)?,
        })
    }

    pub fn from_lists(
        registry: &Registry,
        kinds: &[Kind],
        attributes: &[String],
        excluded: &[String],
    ) -> Result<Projection, ScimError> {
        let join = |v: &[String]| (!v.is_empty()).then(|| v.join(","));
        Projection::parse(
            registry,
            kinds,
            join(attributes).as_deref(),
            join(excluded).as_deref(),
        )
    }

    pub fn is_identity(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// [`Projection::apply`] to a resource the caller gives away: no copy when nothing is
    /// projected away.
    pub fn apply_owned(&self, registry: &Registry, kind: Kind, resource: Value) -> Value {
        if self.is_identity() {
            return resource;
        }
        self.apply(registry, kind, &resource).into_owned()
    }

    /// The resource as this projection shows it.
    pub fn apply<'v>(
        &self,
        registry: &Registry,
        kind: Kind,
        resource: &'v Value,
    ) -> Cow<'v, Value> {
        if self.is_identity() {
            return Cow::Borrowed(resource);
        }
        let Some(obj) = resource.as_object() else {
            return Cow::Borrowed(resource);
        };
        if !self.attributes.is_empty() {
            let mut out = Map::new();
            for (k, v) in obj {
                let always = ["schemas", "id"].contains(&k.as_str())
                    || registry
                        .attr(kind, None, k)
                        .is_some_and(|d| d.returned == Returned::Always);
                if always {
                    out.insert(k.clone(), v.clone());
                }
            }
            for t in &self.attributes {
                copy_target(obj, &mut out, t);
            }
            return Cow::Owned(Value::Object(out));
        }
        let mut out = obj.clone();
        for t in &self.excluded {
            remove_target(&mut out, t);
        }
        Cow::Owned(Value::Object(out))
    }
}

fn parse_list(
    registry: &Registry,
    kinds: &[Kind],
    list: Option<&str>,
) -> Result<Vec<Target>, ScimError> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(urn) = kinds.iter().find_map(|k| registry.extension(*k, item)) {
            out.push(Target::Extension(urn.to_owned()));
            continue;
        }
        let path: AttrPath = item.parse().map_err(|e| {
            ScimError::invalid_value(format!("invalid attribute path {item:?}: {e}"))
        })?;
        out.push(Target::Attr(path));
    }
    Ok(out)
}

fn key_ci(obj: &Map<String, Value>, key: &str) -> Option<String> {
    if obj.contains_key(key) {
        return Some(key.to_owned());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// The object holding `path`'s attribute: the resource itself (`Some(None)`), an extension
/// object (`Some(Some(key))`), or nothing.
fn container_key(obj: &Map<String, Value>, path: &AttrPath) -> Option<Option<String>> {
    match path.urn.as_deref() {
        None => Some(None),
        Some(u)
            if u.to_ascii_lowercase()
                .starts_with("urn:ietf:params:scim:schemas:core:") =>
        {
            Some(None)
        }
        Some(u) => key_ci(obj, u).map(Some),
    }
}

fn copy_target(src: &Map<String, Value>, out: &mut Map<String, Value>, t: &Target) {
    match t {
        Target::Extension(urn) => {
            if let Some(k) = key_ci(src, urn)
                && let Some(v) = src.get(&k)
            {
                out.insert(k, v.clone());
            }
        }
        Target::Attr(path) => {
            let Some(container) = container_key(src, path) else {
                return;
            };
            let (from, to): (&Map<String, Value>, &mut Map<String, Value>) = match &container {
                None => (src, out),
                Some(ck) => {
                    let Some(Value::Object(ext)) = src.get(ck) else {
                        return;
                    };
                    let slot = out
                        .entry(ck.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    let Value::Object(slot) = slot else { return };
                    (ext, slot)
                }
            };
            let Some(k) = key_ci(from, &path.name) else {
                return;
            };
            let Some(v) = from.get(&k) else { return };
            match path.sub.as_deref() {
                None => {
                    to.insert(k, v.clone());
                }
                Some(sub) => {
                    if let Some(p) = pick_sub(v, sub) {
                        match (to.get_mut(&k), p) {
                            (Some(Value::Object(have)), Value::Object(add)) => have.extend(add),
                            (_, p) => {
                                to.insert(k, p);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Keeps only `sub` of a complex value (or of each element of a multi-valued one).
fn pick_sub(v: &Value, sub: &str) -> Option<Value> {
    match v {
        Value::Object(o) => {
            let k = key_ci(o, sub)?;
            let mut m = Map::new();
            m.insert(k.clone(), o.get(&k)?.clone());
            Some(Value::Object(m))
        }
        Value::Array(items) => Some(Value::Array(
            items.iter().filter_map(|e| pick_sub(e, sub)).collect(),
        )),
        _ => None,
    }
}

fn remove_target(obj: &mut Map<String, Value>, t: &Target) {
    match t {
        Target::Extension(urn) => {
            if let Some(k) = key_ci(obj, urn) {
                obj.remove(&k);
            }
        }
        Target::Attr(path) => {
            if path.urn.is_none()
                && path.sub.is_none()
                && ["id", "schemas"]
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&path.name))
            {
                return;
            }
            let Some(container) = container_key(obj, path) else {
                return;
            };
            let holder = match &container {
                None => obj,
                Some(ck) => match obj.get_mut(ck) {
                    Some(Value::Object(ext)) => ext,
                    _ => return,
                },
            };
            let Some(k) = key_ci(holder, &path.name) else {
                return;
            };
            match path.sub.as_deref() {
                None => {
                    holder.remove(&k);
                }
                Some(sub) => match holder.get_mut(&k) {
                    Some(Value::Object(o)) => {
                        if let Some(sk) = key_ci(o, sub) {
                            o.remove(&sk);
                        }
                    }
                    Some(Value::Array(items)) => {
                        for e in items {
                            if let Value::Object(o) = e
                                && let Some(sk) = key_ci(o, sub)
                            {
                                o.remove(&sk);
                            }
                        }
                    }
                    _ => {}
                },
            }
        }
    }
}

/// A `ListResponse` (RFC 7644 §3.4.2) serialized straight from borrowed resources.
pub fn list_response(
    total: usize,
    start_index: usize,
    resources: &[Cow<'_, Value>],
) -> Result<Vec<u8>, serde_json::Error> {
    #[derive(serde::Serialize)]
    struct ListResponse<'a> {
        schemas: [&'static str; 1],
        #[serde(rename = "totalResults")]
        total_results: usize,
        #[serde(rename = "itemsPerPage")]
        items_per_page: usize,
        #[serde(rename = "startIndex")]
        start_index: usize,
        #[serde(rename = "Resources")]
        resources: &'a [Cow<'a, Value>],
    }
    serde_json::to_vec(&ListResponse {
        schemas: [URN_LIST],
        total_results: total,
        items_per_page: resources.len(),
        start_index,
        resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_keep_id_and_the_named_paths() {
        let r = Registry::builtin();
        let ent = dirsnap_model::URN_ENTERPRISE_USER;
        let user = json!({
            "schemas": [], "id": "1", "userName": "a", "title": "t",
            "name": {"givenName": "G", "familyName": "F"},
            "emails": [{"value": "a@x", "type": "work"}],
            ent: {"department": "D", "costCenter": "C"},
            "meta": {"resourceType": "User"}
        });
        let p = Projection::parse(
            &r,
            &[Kind::User],
            Some(&format!(
                "userName,name.givenName,emails.value,{ent}:department"
            )),
            None,
        )
        .unwrap();
        let out = p.apply(&r, Kind::User, &user).into_owned();
        assert_eq!(
            out,
            json!({"schemas": [], "id": "1", "userName": "a", "name": {"givenName": "G"},
                   "emails": [{"value": "a@x"}], ent: {"department": "D"}})
        );
        let p = Projection::parse(
            &r,
            &[Kind::User],
            None,
            Some(&format!("title,id,{ent},name.familyName")),
        )
        .unwrap();
        let out = p.apply(&r, Kind::User, &user).into_owned();
        assert!(out.get("title").is_none());
        assert!(out.get(ent).is_none());
        assert_eq!(out["id"], "1");
        assert_eq!(out["name"], json!({"givenName": "G"}));
    }
}
