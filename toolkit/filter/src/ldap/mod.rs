//! LDAP search filters (RFC 4515): parse, print, evaluate.
//!
//! * [`parse`] accepts the parenthesized RFC 4515 form (`(&(objectClass=user)(cn=a*))`)
//!   and the bare form IIJ ID Directory Sync writes in its settings
//!   (`memberOf:1.2.840.113556.1.4.1941:=CN=Group,OU=Groups,DC=example,DC=local`,
//!   `!(cn=*)`): without outer parentheses the whole string is one filter item, so its
//!   value may contain unescaped spaces, commas and `=`.
//! * `Display` prints the canonical parenthesized form with values escaped; it parses back
//!   to an equal [`LdapFilter`].
//! * [`LdapFilter::evaluate`] / [`LdapFilter::matches`] evaluate against an [`LdapEntry`]
//!   with the three-valued logic of RFC 4511 §4.5.1.7.
//!
//! Values are byte strings (`\xx` escapes can produce any bytes); attribute descriptions
//! are kept as written, including options such as `;binary` or `;range=0-1499`.
//!
//! ```
//! use dirsnap_filter::ldap::{self, LdapFilter};
//!
//! let f = ldap::parse("!(cn=*)")?;
//! assert_eq!(f, LdapFilter::Not(Box::new(LdapFilter::Present { attr: "cn".into() })));
//! assert_eq!(f.to_string(), "(!(cn=*))");
//!
//! let f = ldap::parse("memberOf:1.2.840.113556.1.4.1941:=CN=IID_IDaaS user group,OU=IID_Groups,DC=example,DC=local")?;
//! assert_eq!(
//!     f.to_string(),
//!     "(memberOf:1.2.840.113556.1.4.1941:=CN=IID_IDaaS user group,OU=IID_Groups,DC=example,DC=local)"
//! );
//!
//! let err = ldap::parse("(cn=a").unwrap_err();
//! assert_eq!(err.position(), 5);
//! # Ok::<(), ldap::LdapFilterError>(())
//! ```

mod eval;
mod parser;
mod print;

use std::str::FromStr;

pub use eval::{LdapEntry, Truth};
pub use print::escape_value;

/// Well-known matching rule OID: `LDAP_MATCHING_RULE_BIT_AND` (Active Directory).
pub const MATCHING_RULE_BIT_AND: &str = "1.2.840.113556.1.4.803";
/// Well-known matching rule OID: `LDAP_MATCHING_RULE_BIT_OR` (Active Directory).
pub const MATCHING_RULE_BIT_OR: &str = "1.2.840.113556.1.4.804";
/// Well-known matching rule OID: `LDAP_MATCHING_RULE_IN_CHAIN` (Active Directory).
pub const MATCHING_RULE_IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// A parsed LDAP filter (RFC 4511 §4.5.1 `Filter`).
///
/// `attr` strings are attribute descriptions as written (`cn`, `member;range=0-1499`,
/// `1.3.6.1.4.1.1466.0`); values are raw bytes with escapes decoded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LdapFilter {
    /// `(&...)`. An empty list (`(&)`, RFC 4526) is always true.
    And(Vec<LdapFilter>),
    /// `(|...)`. An empty list (`(|)`, RFC 4526) is always false.
    Or(Vec<LdapFilter>),
    /// `(!filter)`.
    Not(Box<LdapFilter>),
    /// `(attr=value)`.
    Equality {
        /// Attribute description.
        attr: String,
        /// Assertion value.
        value: Vec<u8>,
    },
    /// `(attr=initial*any1*any2*final)`; at least one part is present and no part is
    /// empty when produced by the parser.
    Substrings {
        /// Attribute description.
        attr: String,
        /// Leading part (before the first `*`).
        initial: Option<Vec<u8>>,
        /// Middle parts, in order.
        any: Vec<Vec<u8>>,
        /// Trailing part (after the last `*`).
        final_: Option<Vec<u8>>,
    },
    /// `(attr>=value)`.
    GreaterOrEqual {
        /// Attribute description.
        attr: String,
        /// Assertion value.
        value: Vec<u8>,
    },
    /// `(attr<=value)`.
    LessOrEqual {
        /// Attribute description.
        attr: String,
        /// Assertion value.
        value: Vec<u8>,
    },
    /// `(attr=*)`.
    Present {
        /// Attribute description.
        attr: String,
    },
    /// `(attr~=value)`.
    Approx {
        /// Attribute description.
        attr: String,
        /// Assertion value.
        value: Vec<u8>,
    },
    /// `(attr:dn:rule:=value)`; at least one of `attr` and `rule` is present.
    Extensible {
        /// Attribute description, if any.
        attr: Option<String>,
        /// `:dn` — also match the attribute values of the entry's DN.
        dn_attributes: bool,
        /// Matching rule (OID or name such as `caseExactMatch`), if any.
        rule: Option<String>,
        /// Assertion value.
        value: Vec<u8>,
    },
}

/// An LDAP filter syntax error.
///
/// Displays as e.g. `expected ")" at position 5 to close the "(" at position 0, found end of
/// input`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}{}{}", context.as_deref().unwrap_or_default(), found_suffix(found.as_deref()))]
pub struct LdapFilterError {
    message: String,
    position: usize,
    /// What the expected thing is for, placed after the position so that two positions
    /// never run together ("… at position 0 at position 5").
    context: Option<String>,
    found: Option<String>,
}

fn found_suffix(found: Option<&str>) -> String {
    found.map(|f| format!(", found {f}")).unwrap_or_default()
}

impl LdapFilterError {
    pub(crate) fn new(position: usize, message: impl Into<String>, found: Option<String>) -> Self {
        LdapFilterError {
            message: message.into(),
            position,
            context: None,
            found,
        }
    }

    /// The same error, saying which opening parenthesis (at byte `open`) it fails to close.
    pub(crate) fn closing(mut self, open: usize) -> Self {
        self.context = Some(format!(" to close the \"(\" at position {open}"));
        self
    }

    /// Byte offset in the input where the problem was detected.
    pub fn position(&self) -> usize {
        self.position
    }

    /// What was expected or what is wrong, without position and "found" parts.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Description of what was found at [`position`](Self::position), if relevant.
    pub fn found(&self) -> Option<&str> {
        self.found.as_deref()
    }
}

/// Parses an RFC 4515 filter, with or without outer parentheses.
///
/// Leading and trailing whitespace is ignored (use `\20` for a significant trailing
/// space). Whitespace between the components of `&`, `|` and `!` is tolerated.
///
/// ```
/// use dirsnap_filter::ldap::{self, LdapFilter};
/// assert_eq!(
///     ldap::parse("cn=Babs Jensen, Jr.")?,
///     LdapFilter::Equality { attr: "cn".into(), value: b"Babs Jensen, Jr.".to_vec() }
/// );
/// assert_eq!(ldap::parse(r"(o=Parens R Us \28for all your parenthetical needs\29)")?.to_string(),
///            r"(o=Parens R Us \28for all your parenthetical needs\29)");
/// # Ok::<(), ldap::LdapFilterError>(())
/// ```
pub fn parse(input: &str) -> Result<LdapFilter, LdapFilterError> {
    parser::parse(input)
}

impl FromStr for LdapFilter {
    type Err = LdapFilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}
