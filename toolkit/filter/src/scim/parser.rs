//! Parser for SCIM filters (RFC 7644 §3.4.2.2 ABNF), shared with PATCH paths.
//!
//! Precedence is `not` > `and` > `or`. The parser keeps open `(`, `not (` and `[` groups
//! on an explicit stack (capped at [`MAX_DEPTH`](crate::MAX_DEPTH)) rather than
//! recursing, and collects `and`/`or` chains into n-ary nodes, so neither deep nesting
//! nor long chains can exhaust the Rust stack.

use super::lexer::{Lexer, Tok, Token, is_word_byte};
use super::{AttrPath, CompareOp, CompareValue, ErrorKind, Filter, ScimFilterError};
use crate::MAX_DEPTH;

const EXPECTED_OPERATOR: &str = "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)";

pub(crate) fn parse_filter(input: &str) -> Result<Filter, ScimFilterError> {
    let mut p = Parser::new(input, ErrorKind::Filter);
    let f = p.parse_expr(false)?;
    let t = p.lex.next()?;
    match t.tok {
        Tok::Eof => Ok(f),
        Tok::RParen => Err(p.err_at(&t, "unbalanced \")\" (no matching \"(\")")),
        Tok::RBracket => Err(p.err_at(&t, "unbalanced \"]\" (no matching \"[\")")),
        _ => Err(p.err_at(&t, "expected \"and\", \"or\" or end of filter")),
    }
}

pub(crate) struct Parser<'a> {
    pub(crate) lex: Lexer<'a>,
    kind: ErrorKind,
}

enum GroupKind {
    Top,
    Paren,
    Not,
    Bracket(AttrPath),
}

/// An open `(`, `not (` or `[` whose contents are being collected.
struct Group {
    kind: GroupKind,
    open_pos: usize,
    in_brackets: bool,
    or_items: Vec<Filter>,
    and_items: Vec<Filter>,
}

fn collapse(mut items: Vec<Filter>, wrap: fn(Vec<Filter>) -> Filter) -> Option<Filter> {
    match items.len() {
        0 => None,
        1 => items.pop(),
        _ => Some(wrap(items)),
    }
}

impl Group {
    fn new(kind: GroupKind, open_pos: usize, in_brackets: bool) -> Self {
        Group {
            kind,
            open_pos,
            in_brackets,
            or_items: Vec::new(),
            and_items: Vec::new(),
        }
    }

    fn end_and_chain(&mut self) {
        if let Some(f) = collapse(std::mem::take(&mut self.and_items), Filter::And) {
            self.or_items.push(f);
        }
    }

    /// Closes the group; it always holds at least one operand when this is called.
    fn finish(mut self) -> (GroupKind, Filter) {
        self.end_and_chain();
        let f = collapse(self.or_items, Filter::Or).unwrap_or(Filter::And(Vec::new()));
        (self.kind, f)
    }
}

impl<'a> Parser<'a> {
    pub(crate) fn new(input: &'a str, kind: ErrorKind) -> Self {
        Parser {
            lex: Lexer::new(input, kind),
            kind,
        }
    }

    pub(crate) fn err_at(&self, t: &Token, msg: impl Into<String>) -> ScimFilterError {
        ScimFilterError::new(self.kind, t.pos, msg, Some(t.describe()))
    }

    fn enter(&self, stack: &[Group], pos: usize) -> Result<(), ScimFilterError> {
        if stack.len() + 1 > MAX_DEPTH {
            return Err(ScimFilterError::new(
                self.kind,
                pos,
                format!("filter nested too deeply (more than {MAX_DEPTH} levels)"),
                None,
            ));
        }
        Ok(())
    }

    fn expect_close(
        &mut self,
        want: Tok,
        open: &str,
        open_pos: usize,
    ) -> Result<(), ScimFilterError> {
        let t = self.lex.next()?;
        if t.tok == want {
            return Ok(());
        }
        let close = if want == Tok::RParen { ")" } else { "]" };
        Err(self
            .err_at(&t, format!("expected \"{close}\""))
            .closing(open, open_pos))
    }

    /// Parses `filter` up to (not including) a closing `]` or the end of input.
    ///
    /// Works with an explicit stack of open groups instead of recursion, so the Rust
    /// stack use is constant whatever the input; [`MAX_DEPTH`] then only bounds the depth
    /// of the resulting AST (which the printer and evaluator walk recursively).
    pub(crate) fn parse_expr(&mut self, in_brackets: bool) -> Result<Filter, ScimFilterError> {
        let mut stack: Vec<Group> = Vec::new();
        let mut cur = Group::new(GroupKind::Top, 0, in_brackets);
        loop {
            // Expect an operand, opening groups as needed.
            let operand = loop {
                let t = self.lex.next()?;
                match &t.tok {
                    Tok::LParen => {
                        self.enter(&stack, t.pos)?;
                        let inner = Group::new(GroupKind::Paren, t.pos, cur.in_brackets);
                        stack.push(std::mem::replace(&mut cur, inner));
                    }
                    // `not` is only an operator when followed by `(`; otherwise it is an
                    // attribute that happens to be named "not".
                    Tok::Word(w)
                        if w.eq_ignore_ascii_case("not") && self.lex.peek()?.tok == Tok::LParen =>
                    {
                        let open = self.lex.next()?;
                        self.enter(&stack, t.pos)?;
                        let inner = Group::new(GroupKind::Not, open.pos, cur.in_brackets);
                        stack.push(std::mem::replace(&mut cur, inner));
                    }
                    Tok::Word(w) => {
                        let path = parse_attr_path(w, t.pos, self.kind)?;
                        let next = self.lex.next()?;
                        match &next.tok {
                            Tok::LBracket => {
                                if cur.in_brackets {
                                    return Err(self.err_at(
                                        &next,
                                        "value filters (\"[...]\") cannot be nested",
                                    ));
                                }
                                if path.sub.is_some() {
                                    return Err(self.err_at(
                                        &next,
                                        "a value filter \"[...]\" cannot follow a sub-attribute",
                                    ));
                                }
                                self.enter(&stack, next.pos)?;
                                let inner = Group::new(GroupKind::Bracket(path), next.pos, true);
                                stack.push(std::mem::replace(&mut cur, inner));
                            }
                            Tok::Word(op) => match CompareOp::from_keyword(op) {
                                Some(CompareOp::Pr) => break Filter::Present { path },
                                Some(op) => {
                                    let value = self.parse_value()?;
                                    break Filter::Compare { path, op, value };
                                }
                                None => return Err(self.err_at(&next, EXPECTED_OPERATOR)),
                            },
                            _ => return Err(self.err_at(&next, EXPECTED_OPERATOR)),
                        }
                    }
                    _ => {
                        return Err(
                            self.err_at(&t, "expected an attribute path, \"(\" or \"not (\"")
                        );
                    }
                }
            };
            let mut operand = operand;
            // After an operand: continue the chain, or close groups.
            loop {
                cur.and_items.push(operand);
                let next = self.lex.peek()?;
                if next.is_word("and") {
                    self.lex.next()?;
                    break;
                }
                if next.is_word("or") {
                    self.lex.next()?;
                    cur.end_and_chain();
                    break;
                }
                let open_pos = cur.open_pos;
                let (kind, finished) = cur.finish();
                let Some(parent) = stack.pop() else {
                    return Ok(finished);
                };
                cur = parent;
                operand = match kind {
                    GroupKind::Top => finished,
                    GroupKind::Paren => {
                        self.expect_close(Tok::RParen, "(", open_pos)?;
                        finished
                    }
                    GroupKind::Not => {
                        self.expect_close(Tok::RParen, "(", open_pos)?;
                        Filter::Not(Box::new(finished))
                    }
                    GroupKind::Bracket(path) => {
                        self.expect_close(Tok::RBracket, "[", open_pos)?;
                        if self.kind == ErrorKind::Filter {
                            let next = self.lex.peek()?;
                            if matches!(&next.tok, Tok::Word(w) if w.starts_with('.')) {
                                let next = next.clone();
                                return Err(self.err_at(
                                    &next,
                                    "a sub-attribute after \"]\" (as in emails[type eq \"work\"].value) is only valid in PATCH paths, not in filters",
                                ));
                            }
                        }
                        Filter::ValuePath {
                            path,
                            filter: Box::new(finished),
                        }
                    }
                };
            }
        }
    }

    /// Parses `valFilter "]"` after a `[` at `open_pos` has been consumed.
    pub(crate) fn parse_bracket_body(
        &mut self,
        open_pos: usize,
    ) -> Result<Filter, ScimFilterError> {
        let inner = self.parse_expr(true)?;
        self.expect_close(Tok::RBracket, "[", open_pos)?;
        Ok(inner)
    }

    fn parse_value(&mut self) -> Result<CompareValue, ScimFilterError> {
        let t = self.lex.next()?;
        match t.tok {
            Tok::Str(s) => Ok(CompareValue::String(s)),
            Tok::Num(n) => Ok(CompareValue::Number(n)),
            Tok::Word(ref w) if w.eq_ignore_ascii_case("true") => Ok(CompareValue::Bool(true)),
            Tok::Word(ref w) if w.eq_ignore_ascii_case("false") => Ok(CompareValue::Bool(false)),
            Tok::Word(ref w) if w.eq_ignore_ascii_case("null") => Ok(CompareValue::Null),
            _ => Err(self.err_at(
                &t,
                "expected a value (a \"quoted string\", a number, true, false or null)",
            )),
        }
    }
}

/// Validates an ATTRNAME (`ALPHA *(ALPHA / DIGIT / "-" / "_")`, plus `$ref`-style names).
fn check_name(name: &str, pos: usize, kind: ErrorKind, what: &str) -> Result<(), ScimFilterError> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'$');
    if first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Ok(());
    }
    Err(ScimFilterError::new(
        kind,
        pos,
        format!(
            "invalid {what} (must start with a letter and contain only letters, digits, \"-\" and \"_\")"
        ),
        Some(format!("\"{name}\"")),
    ))
}

/// Splits `[urn ":"] name ["." sub]`; `pos` is the byte offset of `text` in the input.
///
/// URNs contain dots (`...:2.0:User`), so the URN ends at the *last* colon and only the
/// remainder is split on `.`.
pub(crate) fn parse_attr_path(
    text: &str,
    pos: usize,
    kind: ErrorKind,
) -> Result<AttrPath, ScimFilterError> {
    if let Some((i, c)) = text
        .char_indices()
        .find(|&(_, c)| !c.is_ascii() || !is_word_byte(c as u8))
    {
        return Err(ScimFilterError::new(
            kind,
            pos + i,
            "unexpected character in attribute path",
            Some(format!("{c:?}")),
        ));
    }
    let (urn, rest, rest_pos) = match text.rfind(':') {
        Some(i) => {
            let urn = text.get(..i).unwrap_or_default();
            let rest = text.get(i + 1..).unwrap_or_default();
            if !urn.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
                return Err(ScimFilterError::new(
                    kind,
                    pos,
                    "a schema prefix in an attribute path must be a URN starting with \"urn:\"",
                    Some(format!("\"{text}\"")),
                ));
            }
            (Some(urn.to_owned()), rest, pos + i + 1)
        }
        None => (None, text, pos),
    };
    let mut parts = rest.splitn(3, '.');
    let name = parts.next().unwrap_or_default();
    let sub = parts.next();
    if parts.next().is_some() {
        return Err(ScimFilterError::new(
            kind,
            pos,
            "too many \".\" in attribute path (only attribute.subAttribute is allowed)",
            Some(format!("\"{text}\"")),
        ));
    }
    check_name(name, rest_pos, kind, "attribute name")?;
    if let Some(sub) = sub {
        check_name(sub, rest_pos + name.len() + 1, kind, "sub-attribute name")?;
    }
    Ok(AttrPath {
        urn,
        name: name.to_owned(),
        sub: sub.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> AttrPath {
        parse_attr_path(text, 0, ErrorKind::Filter).unwrap()
    }

    #[test]
    fn urn_ends_at_last_colon() {
        let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(
            p.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(
            (p.name.as_str(), p.sub.as_deref()),
            ("manager", Some("value"))
        );
        let p = path("urn:oidfj:params:scim:schemas:extention:enterprisejp:2.0:User:x_y-z");
        assert_eq!(p.name, "x_y-z");
        assert_eq!(p.sub, None);
        let p = path("members.$ref");
        assert_eq!(p.sub.as_deref(), Some("$ref"));
    }

    #[test]
    fn bad_paths_report_the_offending_part() {
        let e = parse_attr_path("urn:a:2.0", 10, ErrorKind::Path).unwrap_err();
        assert_eq!(e.position(), 16);
        assert_eq!(e.scim_type(), "invalidPath");
        let e = parse_attr_path("name.9x", 0, ErrorKind::Filter).unwrap_err();
        assert_eq!(e.position(), 5);
        assert!(parse_attr_path("a..b", 0, ErrorKind::Filter).is_err());
        assert!(parse_attr_path("a.", 0, ErrorKind::Filter).is_err());
        assert!(parse_attr_path("x:name", 0, ErrorKind::Filter).is_err());
    }
}
