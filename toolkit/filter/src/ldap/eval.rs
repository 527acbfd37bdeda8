//! Evaluation of LDAP filters with RFC 4511 §4.5.1.7 three-valued logic.
//!
//! Matching is an approximation of Active Directory's per-attribute matching rules,
//! chosen because the snapshot does not carry the AD schema:
//!
//! * attribute names are case-insensitive (the entry implementation must honour that);
//! * equality, substring and approximate matches on text are case-insensitive (Unicode
//!   lowercase), which is AD's behaviour for almost every string and DN attribute;
//!   non-UTF-8 values fall back to ASCII case folding;
//! * approximate match (`~=`) additionally collapses runs of whitespace;
//! * `>=`/`<=` compare numerically when both sides parse as integers, otherwise
//!   case-insensitively byte-wise (this orders GeneralizedTime values correctly);
//! * `(objectCategory=person)` also matches an `objectCategory` DN whose first RDN value
//!   is `person`, mirroring AD's expansion of short objectCategory values;
//! * extensible matches support `1.2.840.113556.1.4.803` (bitwise AND),
//!   `1.2.840.113556.1.4.804` (bitwise OR), `1.2.840.113556.1.4.1941` (in chain, via
//!   [`LdapEntry::in_chain`]), and the standard `caseIgnoreMatch`, `caseExactMatch`,
//!   `caseIgnoreIA5Match`, `caseExactIA5Match`, `distinguishedNameMatch`,
//!   `octetStringMatch` and `integerMatch` (by name or OID). Other rules are Undefined.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::{LdapFilter, MATCHING_RULE_BIT_AND, MATCHING_RULE_BIT_OR, MATCHING_RULE_IN_CHAIN};

/// An entry a filter can be evaluated against.
///
/// ```
/// use dirsnap_filter::ldap::{self, LdapEntry};
///
/// struct User { dn: String, cn: Vec<u8>, groups: Vec<String> }
/// impl LdapEntry for User {
///     fn values(&self, attr: &str) -> Vec<&[u8]> {
///         if attr.eq_ignore_ascii_case("cn") { vec![self.cn.as_slice()] } else { Vec::new() }
///     }
///     fn dn(&self) -> &str { &self.dn }
///     fn in_chain(&self, attr: &str, target_dn: &str) -> bool {
///         // A real implementation walks the snapshot's membership graph transitively.
///         attr.eq_ignore_ascii_case("memberOf")
///             && self.groups.iter().any(|g| g.eq_ignore_ascii_case(target_dn))
///     }
/// }
///
/// let u = User { dn: "CN=a,DC=example,DC=local".into(), cn: b"a".to_vec(),
///                groups: vec!["CN=G,DC=example,DC=local".into()] };
/// assert!(ldap::parse("memberOf:1.2.840.113556.1.4.1941:=cn=g,dc=example,dc=local")?.matches(&u));
/// assert!(!ldap::parse("!(cn=*)")?.matches(&u));
/// # Ok::<(), ldap::LdapFilterError>(())
/// ```
pub trait LdapEntry {
    /// All values of `attr` (an attribute type, compared case-insensitively; options such
    /// as `;binary` are stripped before the call). Empty when the attribute is absent.
    fn values(&self, attr: &str) -> Vec<&[u8]>;

    /// The entry's distinguished name.
    fn dn(&self) -> &str;

    /// `LDAP_MATCHING_RULE_IN_CHAIN` (1.2.840.113556.1.4.1941): whether this entry
    /// reaches `target_dn` by following `attr` links transitively (e.g. `memberOf`
    /// through nested groups). DN comparison is up to the implementation (AD compares
    /// case-insensitively).
    fn in_chain(&self, attr: &str, target_dn: &str) -> bool;
}

/// Result of evaluating a filter (RFC 4511 §4.5.1.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Truth {
    /// The filter matches.
    True,
    /// The filter does not match.
    False,
    /// The filter cannot be evaluated (e.g. unknown matching rule). Not a match, and
    /// `!` of Undefined is still Undefined.
    Undefined,
}

impl Truth {
    fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Undefined => Truth::Undefined,
        }
    }
}

impl LdapFilter {
    /// Evaluates the filter with three-valued logic.
    ///
    /// ```
    /// use dirsnap_filter::ldap::{self, LdapEntry, Truth};
    /// struct E;
    /// impl LdapEntry for E {
    ///     fn values(&self, _: &str) -> Vec<&[u8]> { Vec::new() }
    ///     fn dn(&self) -> &str { "" }
    ///     fn in_chain(&self, _: &str, _: &str) -> bool { false }
    /// }
    /// let f = ldap::parse("(!(sn:dn:2.4.6.8.10:=Barney Rubble))")?;
    /// assert_eq!(f.evaluate(&E), Truth::Undefined);
    /// assert!(!f.matches(&E));
    /// # Ok::<(), ldap::LdapFilterError>(())
    /// ```
    pub fn evaluate(&self, entry: &dyn LdapEntry) -> Truth {
        match self {
            LdapFilter::And(items) => {
                let mut result = Truth::True;
                for item in items {
                    match item.evaluate(entry) {
                        Truth::False => return Truth::False,
                        Truth::Undefined => result = Truth::Undefined,
                        Truth::True => {}
                    }
                }
                result
            }
            LdapFilter::Or(items) => {
                let mut result = Truth::False;
                for item in items {
                    match item.evaluate(entry) {
                        Truth::True => return Truth::True,
                        Truth::Undefined => result = Truth::Undefined,
                        Truth::False => {}
                    }
                }
                result
            }
            LdapFilter::Not(inner) => inner.evaluate(entry).not(),
            LdapFilter::Equality { attr, value } => {
                let vals = entry.values(attribute_type(attr));
                let hit = vals.iter().any(|v| eq_ignore_case(v, value))
                    || (attribute_type(attr).eq_ignore_ascii_case("objectCategory")
                        && object_category_short_match(&vals, value));
                Truth::from_bool(hit)
            }
            LdapFilter::Substrings {
                attr,
                initial,
                any,
                final_,
            } => Truth::from_bool(
                entry
                    .values(attribute_type(attr))
                    .iter()
                    .any(|v| substrings_match(v, initial.as_deref(), any, final_.as_deref())),
            ),
            LdapFilter::GreaterOrEqual { attr, value } => Truth::from_bool(
                entry
                    .values(attribute_type(attr))
                    .iter()
                    .any(|v| ordering(v, value) != Ordering::Less),
            ),
            LdapFilter::LessOrEqual { attr, value } => Truth::from_bool(
                entry
                    .values(attribute_type(attr))
                    .iter()
                    .any(|v| ordering(v, value) != Ordering::Greater),
            ),
            LdapFilter::Present { attr } => {
                Truth::from_bool(!entry.values(attribute_type(attr)).is_empty())
            }
            LdapFilter::Approx { attr, value } => {
                let want = approx_normalize(value);
                Truth::from_bool(
                    entry
                        .values(attribute_type(attr))
                        .iter()
                        .any(|v| approx_normalize(v) == want),
                )
            }
            LdapFilter::Extensible {
                attr,
                dn_attributes,
                rule,
                value,
            } => eval_extensible(
                entry,
                attr.as_deref().map(attribute_type),
                *dn_attributes,
                rule.as_deref(),
                value,
            ),
        }
    }

    /// Whether the entry matches, i.e. [`evaluate`](Self::evaluate) is [`Truth::True`].
    pub fn matches(&self, entry: &dyn LdapEntry) -> bool {
        self.evaluate(entry) == Truth::True
    }
}

/// The attribute type of a description: `member;range=0-1499` → `member`.
fn attribute_type(desc: &str) -> &str {
    desc.split(';').next().unwrap_or(desc)
}

fn lower(b: &[u8]) -> Cow<'_, [u8]> {
    match std::str::from_utf8(b) {
        Ok(s) if s.bytes().any(|c| c.is_ascii_uppercase()) || !s.is_ascii() => {
            Cow::Owned(s.to_lowercase().into_bytes())
        }
        Ok(_) => Cow::Borrowed(b),
        Err(_) => Cow::Owned(b.to_ascii_lowercase()),
    }
}

fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b) || lower(a) == lower(b)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn substrings_match(
    value: &[u8],
    initial: Option<&[u8]>,
    any: &[Vec<u8>],
    final_: Option<&[u8]>,
) -> bool {
    let value = lower(value);
    let mut rest: &[u8] = &value;
    if let Some(i) = initial {
        let i = lower(i);
        match rest.strip_prefix(&*i) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    for a in any {
        let a = lower(a);
        let Some(r) = find(rest, &a).and_then(|p| rest.get(p + a.len()..)) else {
            return false;
        };
        rest = r;
    }
    match final_ {
        Some(f) => rest.ends_with(&lower(f)),
        None => true,
    }
}

fn parse_int(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.trim().parse().ok()
}

fn ordering(value: &[u8], assertion: &[u8]) -> Ordering {
    match (parse_int(value), parse_int(assertion)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => lower(value).cmp(&lower(assertion)),
    }
}

fn approx_normalize(b: &[u8]) -> Vec<u8> {
    let l = lower(b);
    let mut out = Vec::with_capacity(l.len());
    for word in l
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
    out
}

/// AD accepts `(objectCategory=person)` for the DN `CN=Person,CN=Schema,...`.
fn object_category_short_match(values: &[&[u8]], assertion: &[u8]) -> bool {
    if assertion.contains(&b'=') {
        return false;
    }
    values.iter().any(|v| {
        std::str::from_utf8(v).ok().is_some_and(|dn| {
            dn_components(dn)
                .first()
                .is_some_and(|(_, first)| eq_ignore_case(first, assertion))
        })
    })
}

/// An integer as AD prints it, as a 64-bit bit pattern; negative values are 32-bit
/// two's complement (`userAccountControl`, `groupType` can be printed as negative i32).
fn parse_flags(b: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(b).ok()?.trim();
    if let Ok(v) = s.parse::<i64>() {
        return Some(if v < 0 {
            (v as u64) & 0xFFFF_FFFF
        } else {
            v as u64
        });
    }
    s.parse::<u64>().ok()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    CaseIgnore,
    CaseExact,
    Integer,
    BitAnd,
    BitOr,
    InChain,
}

fn lookup_rule(rule: &str) -> Option<Rule> {
    const TABLE: &[(&str, Rule)] = &[
        ("2.5.13.2", Rule::CaseIgnore),
        ("caseIgnoreMatch", Rule::CaseIgnore),
        ("1.3.6.1.4.1.1466.109.114.2", Rule::CaseIgnore),
        ("caseIgnoreIA5Match", Rule::CaseIgnore),
        ("2.5.13.1", Rule::CaseIgnore),
        ("distinguishedNameMatch", Rule::CaseIgnore),
        ("2.5.13.5", Rule::CaseExact),
        ("caseExactMatch", Rule::CaseExact),
        ("1.3.6.1.4.1.1466.109.114.1", Rule::CaseExact),
        ("caseExactIA5Match", Rule::CaseExact),
        ("2.5.13.17", Rule::CaseExact),
        ("octetStringMatch", Rule::CaseExact),
        ("2.5.13.14", Rule::Integer),
        ("integerMatch", Rule::Integer),
        (MATCHING_RULE_BIT_AND, Rule::BitAnd),
        (MATCHING_RULE_BIT_OR, Rule::BitOr),
        (MATCHING_RULE_IN_CHAIN, Rule::InChain),
    ];
    TABLE
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(rule))
        .map(|&(_, r)| r)
}

fn rule_matches(rule: Rule, value: &[u8], assertion: &[u8]) -> bool {
    match rule {
        Rule::CaseExact => value == assertion,
        Rule::Integer => match (parse_int(value), parse_int(assertion)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        _ => eq_ignore_case(value, assertion),
    }
}

fn eval_extensible(
    entry: &dyn LdapEntry,
    attr: Option<&str>,
    dn_attributes: bool,
    rule: Option<&str>,
    value: &[u8],
) -> Truth {
    let rule = match rule {
        None => Rule::CaseIgnore,
        Some(r) => match lookup_rule(r) {
            Some(r) => r,
            None => return Truth::Undefined,
        },
    };
    match rule {
        Rule::BitAnd | Rule::BitOr => {
            let (Some(attr), Some(mask)) = (attr, parse_flags(value)) else {
                return Truth::Undefined;
            };
            let mut result = Truth::False;
            for v in entry.values(attr) {
                match parse_flags(v) {
                    Some(bits) => {
                        let hit = if rule == Rule::BitAnd {
                            bits & mask == mask
                        } else {
                            bits & mask != 0
                        };
                        if hit {
                            return Truth::True;
                        }
                    }
                    None => result = Truth::Undefined,
                }
            }
            result
        }
        Rule::InChain => match (attr, std::str::from_utf8(value)) {
            (Some(attr), Ok(target)) => Truth::from_bool(entry.in_chain(attr, target)),
            _ => Truth::Undefined,
        },
        Rule::CaseIgnore | Rule::CaseExact | Rule::Integer => {
            if let Some(a) = attr
                && entry.values(a).iter().any(|v| rule_matches(rule, v, value))
            {
                return Truth::True;
            }
            if dn_attributes
                && dn_components(entry.dn()).iter().any(|(t, v)| {
                    attr.is_none_or(|a| t.eq_ignore_ascii_case(a)) && rule_matches(rule, v, value)
                })
            {
                return Truth::True;
            }
            // Without an attribute, RFC 4511 asks to try every attribute of the entry,
            // which `LdapEntry` cannot enumerate.
            if attr.is_none() {
                Truth::Undefined
            } else {
                Truth::False
            }
        }
    }
}

/// Splits a DN into `(type, value)` pairs (RFC 4514 escapes decoded, multi-valued RDNs
/// flattened). Lenient: malformed parts are kept as best as possible.
fn dn_components(dn: &str) -> Vec<(String, Vec<u8>)> {
    let bytes = dn.as_bytes();
    let mut out = Vec::new();
    let mut ty = Vec::new();
    let mut val = Vec::new();
    let mut in_value = false;
    let mut i = 0;
    let finish = |ty: &mut Vec<u8>, val: &mut Vec<u8>, out: &mut Vec<(String, Vec<u8>)>| {
        let t = String::from_utf8_lossy(ty).trim().to_owned();
        let v = val.trim_ascii().to_vec();
        if !t.is_empty() {
            out.push((t, v));
        }
        ty.clear();
        val.clear();
    };
    while let Some(&b) = bytes.get(i) {
        if !in_value {
            if b == b'=' {
                in_value = true;
            } else {
                ty.push(b);
            }
            i += 1;
            continue;
        }
        match b {
            b'\\' => {
                let hex = |j: usize| bytes.get(j).and_then(|&c| (c as char).to_digit(16));
                if let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) {
                    val.push(u8::try_from(h * 16 + l).unwrap_or(0));
                    i += 3;
                } else if let Some(&next) = bytes.get(i + 1) {
                    val.push(next);
                    i += 2;
                } else {
                    i += 1;
                }
            }
            b',' | b'+' | b';' => {
                finish(&mut ty, &mut val, &mut out);
                in_value = false;
                i += 1;
            }
            other => {
                val.push(other);
                i += 1;
            }
        }
    }
    if in_value {
        finish(&mut ty, &mut val, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_components_decode_escapes() {
        let c = dn_components(r"CN=Smith\, John+UID=js,OU=Sales\2c East, DC=example");
        assert_eq!(
            c,
            vec![
                ("CN".to_owned(), b"Smith, John".to_vec()),
                ("UID".to_owned(), b"js".to_vec()),
                ("OU".to_owned(), b"Sales, East".to_vec()),
                ("DC".to_owned(), b"example".to_vec()),
            ]
        );
    }

    #[test]
    fn flags_mask_negative_to_u32() {
        assert_eq!(parse_flags(b"-2147483646"), Some(0x8000_0002));
        assert_eq!(parse_flags(b"514"), Some(514));
        assert_eq!(parse_flags(b"x"), None);
    }

    #[test]
    fn substrings_do_not_overlap() {
        assert!(substrings_match(b"abcabc", Some(b"abc"), &[], Some(b"abc")));
        assert!(!substrings_match(b"abc", Some(b"ab"), &[], Some(b"bc")));
        assert!(substrings_match(
            b"University of Michigan",
            Some(b"univ"),
            &[b"of".to_vec(), b"mich".to_vec()],
            None
        ));
        assert!(!substrings_match(
            b"of univ mich",
            Some(b"univ"),
            &[b"of".to_vec()],
            None
        ));
    }
}
