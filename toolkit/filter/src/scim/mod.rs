//! SCIM 2.0 filters (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2).
//!
//! * [`parse`] turns filter text into a [`Filter`] AST; [`PatchPath::parse`] parses PATCH
//!   `path` values.
//! * `Display` on [`Filter`], [`AttrPath`] and [`PatchPath`] prints text that parses back
//!   to an equal value.
//! * [`Filter::matches`] evaluates a filter against a SCIM resource (a User or Group as
//!   JSON), using an [`AttributeSchema`] to decide which attributes compare case-exactly.
//!
//! `and`/`or` chains are n-ary: `a and b and c` parses to `And(vec![a, b, c])`, while
//! explicit grouping is kept (`(a and b) and c` is `And(vec![And(vec![a, b]), c])`).
//!
//! ```
//! use dirsnap_filter::scim::{self, AttrPath, CompareOp, CompareValue, Filter};
//!
//! let f = scim::parse(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department EQ "Sales""#)?;
//! assert_eq!(
//!     f,
//!     Filter::Compare {
//!         path: AttrPath {
//!             urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
//!             name: "department".into(),
//!             sub: None,
//!         },
//!         op: CompareOp::Eq,
//!         value: CompareValue::String("Sales".into()),
//!     }
//! );
//! let err = scim::parse(r#"userName equals "x""#).unwrap_err();
//! assert_eq!(err.position(), 9);
//! assert_eq!(err.scim_type(), "invalidFilter");
//! # Ok::<(), scim::ScimFilterError>(())
//! ```

mod eval;
mod lexer;
mod parser;
mod patch_path;
mod print;

use std::fmt;
use std::str::FromStr;

pub use eval::{AttributeSchema, DefaultSchema};
pub use patch_path::PatchPath;

/// A parsed SCIM filter.
///
/// Paths inside a [`Filter::ValuePath`]'s `filter` are relative to the complex attribute
/// (`emails[type eq "work"]` has inner path `type`).
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// All sub-filters match (`a and b and ...`). The parser always produces 2 or more.
    And(Vec<Filter>),
    /// At least one sub-filter matches (`a or b or ...`). The parser always produces 2 or more.
    Or(Vec<Filter>),
    /// `not (filter)`.
    Not(Box<Filter>),
    /// `attrPath op value`.
    Compare {
        /// Attribute being compared.
        path: AttrPath,
        /// Comparison operator (never [`CompareOp::Pr`]; presence is [`Filter::Present`]).
        op: CompareOp,
        /// Literal on the right-hand side.
        value: CompareValue,
    },
    /// `attrPath pr`.
    Present {
        /// Attribute tested for presence.
        path: AttrPath,
    },
    /// `attrPath[valFilter]`: some element of a (multi-valued) complex attribute matches.
    ValuePath {
        /// The complex attribute (never has a `sub` when produced by the parser).
        path: AttrPath,
        /// Filter applied to each element; its paths are relative to the element.
        filter: Box<Filter>,
    },
}

/// An attribute path: `[urn ":"] name ["." sub]`.
///
/// The URN is everything before the last `:`; names compare case-insensitively.
///
/// ```
/// use dirsnap_filter::scim::AttrPath;
/// let p: AttrPath = "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName".parse()?;
/// assert_eq!(p.urn.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
/// assert_eq!(p.name, "name");
/// assert_eq!(p.sub.as_deref(), Some("familyName"));
/// assert_eq!(AttrPath::new("userName"), "userName".parse()?);
/// # Ok::<(), dirsnap_filter::scim::ScimFilterError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// Schema URN prefix, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub urn: Option<String>,
    /// Attribute name, e.g. `emails`.
    pub name: String,
    /// Sub-attribute name, e.g. `value` in `emails.value`.
    pub sub: Option<String>,
}

impl AttrPath {
    /// A path with just an attribute name (no URN, no sub-attribute).
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: None,
        }
    }
}

impl FromStr for AttrPath {
    type Err = ScimFilterError;

    /// Parses a bare attribute path (no surrounding whitespace, no filter).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parser::parse_attr_path(s, 0, ErrorKind::Filter)
    }
}

/// SCIM comparison operators (keywords are case-insensitive in filter text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co` (contains)
    Co,
    /// `sw` (starts with)
    Sw,
    /// `ew` (ends with)
    Ew,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
    /// `pr` (present). Only appears via [`Filter::Present`] from the parser.
    Pr,
}

impl CompareOp {
    /// The lowercase keyword, e.g. `"eq"`.
    pub fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
            CompareOp::Pr => "pr",
        }
    }

    /// Parses a keyword case-insensitively (`"EQ"` → `Eq`).
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        const ALL: [CompareOp; 10] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
            CompareOp::Pr,
        ];
        ALL.into_iter()
            .find(|op| op.keyword().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// The literal on the right-hand side of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum CompareValue {
    /// A JSON string (escapes already decoded).
    String(String),
    /// A JSON number (integer or decimal).
    Number(serde_json::Number),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// Which SCIM construct was being parsed; decides the RFC 7644 `scimType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Filter,
    Path,
}

/// A SCIM filter or PATCH path syntax error.
///
/// Displays as e.g. `expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) at
/// position 9, found "equals"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}{}{}", context.as_deref().unwrap_or_default(), found_suffix(found.as_deref()))]
pub struct ScimFilterError {
    message: String,
    position: usize,
    /// What the expected thing is for, placed after the position so that two positions
    /// never run together ("… at position 0 at position 16").
    context: Option<String>,
    found: Option<String>,
    kind: ErrorKind,
}

fn found_suffix(found: Option<&str>) -> String {
    found.map(|f| format!(", found {f}")).unwrap_or_default()
}

impl ScimFilterError {
    pub(crate) fn new(
        kind: ErrorKind,
        position: usize,
        message: impl Into<String>,
        found: Option<String>,
    ) -> Self {
        ScimFilterError {
            message: message.into(),
            position,
            context: None,
            found,
            kind,
        }
    }

    /// The same error, saying which opening bracket (`open`, at byte `at`) it fails to close.
    pub(crate) fn closing(mut self, open: &str, at: usize) -> Self {
        self.context = Some(format!(" to close the \"{open}\" at position {at}"));
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

    /// Description of what was found at [`position`](Self::position), if relevant
    /// (e.g. `"equals"` or `end of input`).
    pub fn found(&self) -> Option<&str> {
        self.found.as_deref()
    }

    /// The RFC 7644 §3.12 `scimType` for this error: `"invalidFilter"` for filters,
    /// `"invalidPath"` for PATCH paths.
    pub fn scim_type(&self) -> &'static str {
        match self.kind {
            ErrorKind::Filter => "invalidFilter",
            ErrorKind::Path => "invalidPath",
        }
    }
}

/// Parses a SCIM filter (RFC 7644 §3.4.2.2).
///
/// ```
/// let f = dirsnap_filter::scim::parse(r#"emails[type eq "work" and value co "@example.com"]"#)?;
/// assert_eq!(f.to_string(), r#"emails[type eq "work" and value co "@example.com"]"#);
/// # Ok::<(), dirsnap_filter::scim::ScimFilterError>(())
/// ```
pub fn parse(input: &str) -> Result<Filter, ScimFilterError> {
    parser::parse_filter(input)
}

impl FromStr for Filter {
    type Err = ScimFilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}
