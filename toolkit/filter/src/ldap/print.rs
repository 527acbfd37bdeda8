//! Canonical RFC 4515 text form: always parenthesized, values escaped so that the output
//! parses back to an equal filter.

use std::fmt::{self, Write as _};

use super::LdapFilter;

/// Escapes a value for use in an LDAP filter (RFC 4515 §3).
///
/// `*`, `(`, `)`, `\`, NUL and other control characters become `\xx`; bytes that are not
/// valid UTF-8 are escaped too, so the result is always a valid UTF-8 string. Everything
/// else (including non-ASCII text, `,` and `=`) is kept as is.
///
/// ```
/// use dirsnap_filter::ldap::escape_value;
/// assert_eq!(escape_value(b"a*b(c)\\"), r"a\2ab\28c\29\5c");
/// assert_eq!(escape_value("CN=山田 太郎,OU=x".as_bytes()), "CN=山田 太郎,OU=x");
/// assert_eq!(escape_value(&[0x04, 0x02, 0xff]), r"\04\02\ff");
/// ```
pub fn escape_value(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for chunk in value.utf8_chunks() {
        for c in chunk.valid().chars() {
            if matches!(c, '*' | '(' | ')' | '\\') || c.is_ascii_control() {
                let _ = write!(out, "\\{:02x}", u32::from(c));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\{b:02x}");
        }
    }
    out
}

/// Prints the canonical parenthesized form.
///
/// Walks the tree with an explicit stack so deep filters need no deep recursion.
/// Escapes a value written right after `attr=`.
///
/// The parser reads `member;range=0-1499=x` as the ranged attribute `member;range=0-1499`,
/// so a value that starts with a digit after an attribute whose last option is `range`
/// gets its first digit escaped to keep the text unambiguous.
fn escape_after_equals(attr: &str, value: &[u8]) -> String {
    let last_option_is_range = attr
        .rsplit_once(';')
        .is_some_and(|(_, opt)| opt.eq_ignore_ascii_case("range"));
    match value.split_first() {
        Some((first, rest)) if last_option_is_range && first.is_ascii_digit() => {
            format!("\\{first:02x}{}", escape_value(rest))
        }
        _ => escape_value(value),
    }
}

impl fmt::Display for LdapFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        enum Task<'a> {
            Node(&'a LdapFilter),
            Close,
        }
        let mut stack = vec![Task::Node(self)];
        while let Some(task) = stack.pop() {
            let node = match task {
                Task::Close => {
                    f.write_str(")")?;
                    continue;
                }
                Task::Node(node) => node,
            };
            match node {
                LdapFilter::And(items) | LdapFilter::Or(items) => {
                    f.write_str(if matches!(node, LdapFilter::And(_)) {
                        "(&"
                    } else {
                        "(|"
                    })?;
                    stack.push(Task::Close);
                    stack.extend(items.iter().rev().map(Task::Node));
                }
                LdapFilter::Not(inner) => {
                    f.write_str("(!")?;
                    stack.push(Task::Close);
                    stack.push(Task::Node(inner));
                }
                leaf => write_item(f, leaf)?,
            }
        }
        Ok(())
    }
}

fn write_item(f: &mut fmt::Formatter<'_>, item: &LdapFilter) -> fmt::Result {
    match item {
        LdapFilter::And(_) | LdapFilter::Or(_) | LdapFilter::Not(_) => Ok(()),
        LdapFilter::Equality { attr, value } => {
            write!(f, "({attr}={})", escape_after_equals(attr, value))
        }
        LdapFilter::Substrings {
            attr,
            initial,
            any,
            final_,
        } => {
            write!(f, "({attr}=")?;
            if let Some(i) = initial {
                f.write_str(&escape_after_equals(attr, i))?;
            }
            f.write_str("*")?;
            for a in any {
                write!(f, "{}*", escape_value(a))?;
            }
            if let Some(fin) = final_ {
                f.write_str(&escape_value(fin))?;
            }
            f.write_str(")")
        }
        LdapFilter::GreaterOrEqual { attr, value } => {
            write!(f, "({attr}>={})", escape_value(value))
        }
        LdapFilter::LessOrEqual { attr, value } => write!(f, "({attr}<={})", escape_value(value)),
        LdapFilter::Present { attr } => write!(f, "({attr}=*)"),
        LdapFilter::Approx { attr, value } => write!(f, "({attr}~={})", escape_value(value)),
        LdapFilter::Extensible {
            attr,
            dn_attributes,
            rule,
            value,
        } => {
            f.write_str("(")?;
            if let Some(a) = attr {
                f.write_str(a)?;
            }
            if *dn_attributes {
                f.write_str(":dn")?;
            }
            if let Some(r) = rule {
                write!(f, ":{r}")?;
            }
            write!(f, ":={})", escape_value(value))
        }
    }
}
