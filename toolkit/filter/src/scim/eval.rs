//! Evaluation of SCIM filters against resources in their JSON representation.
//!
//! Semantics follow RFC 7644 §3.4.2.2 and RFC 7643 §2 where they are specific, and
//! document a choice where they are not:
//!
//! * Attribute names and schema URNs match case-insensitively.
//! * A URN-prefixed path looks inside the extension object keyed by that URN; a core
//!   schema URN (`urn:ietf:params:scim:schemas:core:...`) with no such key refers to the
//!   top-level attributes. Paths without a URN only see top-level attributes.
//! * A comparison on a multi-valued attribute matches when any value matches; comparing
//!   a complex value without a sub-attribute compares its `value` sub-attribute.
//! * An attribute that is absent, `null` or `[]` has no values: `eq null` and `ne <v>`
//!   are true for it, every other comparison is false.
//! * Strings compare case-insensitively unless [`AttributeSchema::case_exact`] says
//!   otherwise. When both sides of `eq ne gt ge lt le` parse as RFC 3339 date-times they
//!   compare as instants (so `+09:00` offsets work).
//! * Numbers compare numerically; booleans support only `eq`/`ne`; comparisons between
//!   different JSON types are false.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::{Map, Value};

use super::{AttrPath, CompareOp, CompareValue, Filter};

/// Schema knowledge the evaluator needs: which attributes are `caseExact` (RFC 7643 §2.2).
pub trait AttributeSchema {
    /// Whether string comparisons on `path` are case-sensitive.
    ///
    /// Inside a value filter (`emails[type eq "work"]`) the path passed here is the full
    /// path (`emails.type`, with the outer URN if any).
    fn case_exact(&self, path: &AttrPath) -> bool;
}

/// RFC 7643 defaults: `id`, `externalId` and `meta.version` are caseExact (in the core
/// schema, i.e. with no URN or a `urn:ietf:params:scim:schemas:core:` URN); every other
/// attribute is case-insensitive.
///
/// ```
/// use dirsnap_filter::scim::{self, DefaultSchema};
/// let user = serde_json::json!({"externalId": "AbC", "userName": "AbC"});
/// assert!(!scim::parse(r#"externalId eq "abc""#)?.matches(&user, &DefaultSchema));
/// assert!(scim::parse(r#"userName eq "abc""#)?.matches(&user, &DefaultSchema));
/// # Ok::<(), scim::ScimFilterError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultSchema;

impl AttributeSchema for DefaultSchema {
    fn case_exact(&self, path: &AttrPath) -> bool {
        if path.urn.as_deref().is_some_and(|u| !is_core_urn(u)) {
            return false;
        }
        let name = path.name.as_str();
        match path.sub.as_deref() {
            None => name.eq_ignore_ascii_case("id") || name.eq_ignore_ascii_case("externalId"),
            Some(sub) => name.eq_ignore_ascii_case("meta") && sub.eq_ignore_ascii_case("version"),
        }
    }
}

const CORE_URN_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";

fn is_core_urn(urn: &str) -> bool {
    urn.get(..CORE_URN_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(CORE_URN_PREFIX))
}

impl Filter {
    /// Whether `resource` (a SCIM resource as JSON) matches this filter.
    ///
    /// ```
    /// use dirsnap_filter::scim::{self, DefaultSchema};
    /// let user = serde_json::json!({
    ///     "userName": "bjensen",
    ///     "emails": [{"type": "work", "value": "bjensen@example.com"}],
    ///     "meta": {"lastModified": "2011-05-13T13:42:34+09:00"},
    /// });
    /// let f = scim::parse(r#"emails[type eq "WORK" and value co "@example.com"]"#)?;
    /// assert!(f.matches(&user, &DefaultSchema));
    /// let f = scim::parse(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#)?;
    /// assert!(f.matches(&user, &DefaultSchema));
    /// # Ok::<(), scim::ScimFilterError>(())
    /// ```
    pub fn matches(&self, resource: &Value, schema: &dyn AttributeSchema) -> bool {
        eval(self, resource, schema, None)
    }
}

impl AttrPath {
    /// Every value at this path in `resource`, found the way filters find them (URN prefix
    /// selects the extension object, names match case-insensitively, a multi-valued
    /// attribute contributes each element). For sorting (`sortBy`) and projections.
    ///
    /// ```
    /// use dirsnap_filter::scim::AttrPath;
    /// let user = serde_json::json!({"emails": [{"value": "a@x"}, {"value": "b@x"}]});
    /// let p: AttrPath = "EMAILS.value".parse()?;
    /// assert_eq!(p.values(&user), vec!["a@x", "b@x"]);
    /// # Ok::<(), dirsnap_filter::scim::ScimFilterError>(())
    /// ```
    pub fn values<'v>(&self, resource: &'v Value) -> Vec<&'v Value> {
        raw_values(resource, self)
    }
}

fn eval(
    filter: &Filter,
    res: &Value,
    schema: &dyn AttributeSchema,
    parent: Option<&AttrPath>,
) -> bool {
    match filter {
        Filter::And(items) => items.iter().all(|f| eval(f, res, schema, parent)),
        Filter::Or(items) => items.iter().any(|f| eval(f, res, schema, parent)),
        Filter::Not(inner) => !eval(inner, res, schema, parent),
        Filter::Present { path } => raw_values(res, path).into_iter().any(is_non_empty),
        Filter::Compare { path, op, value } => {
            let case_exact = schema.case_exact(&full_path(parent, path));
            compare(res, path, *op, value, case_exact)
        }
        Filter::ValuePath { path, filter } => {
            let full = full_path(parent, path);
            raw_values(res, path)
                .into_iter()
                .any(|element| match element {
                    Value::Object(_) => eval(filter, element, schema, Some(&full)),
                    Value::Null => false,
                    // A simple multi-valued attribute: its elements act as `{"value": v}`.
                    other => {
                        let mut wrapped = Map::new();
                        wrapped.insert("value".to_owned(), other.clone());
                        eval(filter, &Value::Object(wrapped), schema, Some(&full))
                    }
                })
        }
    }
}

/// The path as seen from the resource root, for schema queries inside `[...]`.
fn full_path(parent: Option<&AttrPath>, path: &AttrPath) -> AttrPath {
    match parent {
        Some(p) if p.sub.is_none() => AttrPath {
            urn: p.urn.clone(),
            name: p.name.clone(),
            sub: Some(path.name.clone()),
        },
        _ => path.clone(),
    }
}

fn get_ci<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn base_object<'v>(resource: &'v Value, urn: Option<&str>) -> Option<&'v Map<String, Value>> {
    let obj = resource.as_object()?;
    let Some(urn) = urn else {
        return Some(obj);
    };
    match get_ci(obj, urn) {
        Some(Value::Object(ext)) => Some(ext),
        _ if is_core_urn(urn) => Some(obj),
        _ => None,
    }
}

fn push_flat<'v>(out: &mut Vec<&'v Value>, v: &'v Value) {
    match v {
        Value::Array(items) => out.extend(items.iter()),
        other => out.push(other),
    }
}

/// All values at `path`, arrays flattened one level (`emails.type` collects the `type`
/// of every email).
fn raw_values<'v>(resource: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let mut out = Vec::new();
    let Some(base) = base_object(resource, path.urn.as_deref()) else {
        return out;
    };
    let Some(v) = get_ci(base, &path.name) else {
        return out;
    };
    match path.sub.as_deref() {
        None => push_flat(&mut out, v),
        Some(sub) => {
            let mut parents = Vec::new();
            push_flat(&mut parents, v);
            for p in parents {
                if let Some(sv) = p.as_object().and_then(|o| get_ci(o, sub)) {
                    push_flat(&mut out, sv);
                }
            }
        }
    }
    out
}

fn is_non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_non_empty),
        Value::Object(o) => o.values().any(is_non_empty),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare(
    res: &Value,
    path: &AttrPath,
    op: CompareOp,
    value: &CompareValue,
    case_exact: bool,
) -> bool {
    let mut candidates = Vec::new();
    for v in raw_values(res, path) {
        match v {
            Value::Null => {}
            // RFC 7644: comparing a complex value without a sub-attribute compares its
            // `value` sub-attribute (`emails co "example.com"`).
            Value::Object(o) if path.sub.is_none() => {
                if let Some(inner) = get_ci(o, "value") {
                    let mut flat = Vec::new();
                    push_flat(&mut flat, inner);
                    candidates.extend(flat.into_iter().filter(|x| !x.is_null()));
                }
            }
            other => candidates.push(other),
        }
    }
    if *value == CompareValue::Null {
        return match op {
            CompareOp::Eq => candidates.is_empty(),
            CompareOp::Ne => !candidates.is_empty(),
            _ => false,
        };
    }
    if candidates.is_empty() {
        return op == CompareOp::Ne;
    }
    candidates
        .into_iter()
        .any(|c| compare_one(c, op, value, case_exact))
}

fn ordering_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew | CompareOp::Pr => false,
    }
}

fn compare_one(actual: &Value, op: CompareOp, value: &CompareValue, case_exact: bool) -> bool {
    if op == CompareOp::Pr {
        return is_non_empty(actual);
    }
    match (actual, value) {
        (Value::String(a), CompareValue::String(b)) => compare_strings(a, b, op, case_exact),
        (Value::Number(a), CompareValue::Number(b)) => {
            compare_numbers(a, b).is_some_and(|ord| ordering_matches(op, ord))
        }
        (Value::Bool(a), CompareValue::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => false,
        },
        _ => false,
    }
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn compare_strings(a: &str, b: &str, op: CompareOp, case_exact: bool) -> bool {
    if matches!(
        op,
        CompareOp::Eq
            | CompareOp::Ne
            | CompareOp::Gt
            | CompareOp::Ge
            | CompareOp::Lt
            | CompareOp::Le
    ) && let (Ok(da), Ok(db)) = (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        return ordering_matches(op, da.cmp(&db));
    }
    let (a, b) = if case_exact {
        (a.to_owned(), b.to_owned())
    } else {
        (a.to_lowercase(), b.to_lowercase())
    };
    match op {
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        _ => ordering_matches(op, a.cmp(&b)),
    }
}
