//! PATCH operation `path` values (RFC 7644 §3.5.2):
//! `attrPath`, `attrPath[valFilter]` and `attrPath[valFilter].subAttr`.
//!
//! Unlike filters, a sub-attribute may follow the closing `]` here.

use std::fmt;
use std::str::FromStr;

use super::lexer::Tok;
use super::parser::{Parser, parse_attr_path};
use super::{AttrPath, ErrorKind, Filter, ScimFilterError};

/// A parsed PATCH `path`.
///
/// ```
/// use dirsnap_filter::scim::PatchPath;
/// let p = PatchPath::parse(r#"emails[type eq "work"].value"#)?;
/// assert_eq!(p.attr.name, "emails");
/// assert!(p.filter.is_some());
/// assert_eq!(p.sub.as_deref(), Some("value"));
/// assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);
///
/// let p = PatchPath::parse("urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId")?;
/// assert_eq!(p.attr.urn.as_deref(), Some("urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User"));
/// assert_eq!(p.attr.name, "downstreamId");
///
/// let err = PatchPath::parse("emails[").unwrap_err();
/// assert_eq!(err.scim_type(), "invalidPath");
/// # Ok::<(), dirsnap_filter::scim::ScimFilterError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PatchPath {
    /// The attribute (may carry a `sub` only when there is no `filter`: `name.givenName`).
    pub attr: AttrPath,
    /// The value filter between `[` and `]`; its paths are relative to `attr`.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]` (`.value` in `emails[type eq "work"].value`).
    pub sub: Option<String>,
}

impl PatchPath {
    /// Parses a PATCH path. Errors report `scim_type() == "invalidPath"`.
    pub fn parse(input: &str) -> Result<PatchPath, ScimFilterError> {
        let kind = ErrorKind::Path;
        let mut p = Parser::new(input, kind);
        let t = p.lex.next()?;
        let Tok::Word(word) = &t.tok else {
            return Err(p.err_at(&t, "expected an attribute path"));
        };
        let attr = parse_attr_path(word, t.pos, kind)?;
        let mut filter = None;
        let mut sub = None;
        if p.lex.peek()?.tok == Tok::LBracket {
            let open = p.lex.next()?;
            if attr.sub.is_some() {
                return Err(p.err_at(
                    &open,
                    "a value filter \"[...]\" cannot follow a sub-attribute",
                ));
            }
            filter = Some(p.parse_bracket_body(open.pos)?);
            let next = p.lex.peek()?.clone();
            if let Tok::Word(w) = &next.tok
                && let Some(name) = w.strip_prefix('.')
            {
                p.lex.next()?;
                // Reuse attribute-path validation; a URN or second dot is not allowed here.
                let parsed = parse_attr_path(name, next.pos + 1, kind)?;
                if parsed.urn.is_some() || parsed.sub.is_some() {
                    return Err(
                        p.err_at(&next, "expected a single sub-attribute name after \"].\"")
                    );
                }
                sub = Some(parsed.name);
            }
        }
        let end = p.lex.next()?;
        if end.tok != Tok::Eof {
            return Err(p.err_at(&end, "expected end of path"));
        }
        Ok(PatchPath { attr, filter, sub })
    }
}

impl FromStr for PatchPath {
    type Err = ScimFilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PatchPath::parse(s)
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}
