//! Byte-level parser for RFC 4515 filters, with or without outer parentheses.
//!
//! Nesting is handled with an explicit stack (capped at [`MAX_DEPTH`](crate::MAX_DEPTH)),
//! so the parser's own stack use does not grow with the input.

use super::{LdapFilter, LdapFilterError};
use crate::MAX_DEPTH;

pub(crate) fn parse(input: &str) -> Result<LdapFilter, LdapFilterError> {
    let bytes = input.as_bytes();
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    if start >= end {
        return Err(LdapFilterError::new(0, "empty filter", None));
    }
    let mut p = Parser {
        input,
        s: bytes,
        pos: start,
        end,
        base_depth: 0,
    };
    let f = if p.peek() == Some(b'(') {
        p.parse_parenthesized()?
    } else {
        p.parse_bare()?
    };
    p.skip_ws();
    if p.pos < p.end {
        let msg = if p.peek() == Some(b')') {
            "unbalanced \")\" (no matching \"(\")"
        } else {
            "unexpected text after the end of the filter"
        };
        return Err(p.err_here(msg));
    }
    Ok(f)
}

struct Parser<'a> {
    input: &'a str,
    s: &'a [u8],
    pos: usize,
    end: usize,
    /// Levels already used outside the parenthesized part: a bare `!(...)` prints as
    /// `(!(...))`, so it must count as one level for the printed form to stay parseable.
    base_depth: usize,
}

#[derive(Clone, Copy)]
enum GroupKind {
    And,
    Or,
    Not,
}

/// An open `(&`, `(|` or `(!` whose children are being collected.
struct Group {
    kind: GroupKind,
    open: usize,
    items: Vec<LdapFilter>,
}

impl Group {
    fn finish(mut self) -> LdapFilter {
        match self.kind {
            GroupKind::And => LdapFilter::And(self.items),
            GroupKind::Or => LdapFilter::Or(self.items),
            GroupKind::Not => LdapFilter::Not(Box::new(
                self.items.pop().unwrap_or(LdapFilter::And(Vec::new())),
            )),
        }
    }
}

/// Where the value of a filter item stops.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Inside `( ... )`: an unescaped `)` ends the value.
    Parens,
    /// Bare item: the value runs to the end of the input.
    Bare,
}

fn is_keychar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        if self.pos < self.end {
            self.s.get(self.pos).copied()
        } else {
            None
        }
    }

    fn rest_starts_with(&self, prefix: &[u8]) -> bool {
        self.s
            .get(self.pos..self.end)
            .is_some_and(|r| r.starts_with(prefix))
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn describe_here(&self) -> String {
        if self.pos >= self.end {
            return "end of input".into();
        }
        let ch = self
            .input
            .get(self.pos..)
            .and_then(|s| s.chars().next())
            .unwrap_or('\u{fffd}');
        format!("{:?}", ch.to_string())
    }

    fn err_here(&self, msg: impl Into<String>) -> LdapFilterError {
        LdapFilterError::new(self.pos, msg, Some(self.describe_here()))
    }

    /// A filter that starts with `(` at the current position.
    ///
    /// Open `&`, `|` and `!` groups live on an explicit stack rather than the Rust call
    /// stack, so hostile nesting cannot overflow it; [`MAX_DEPTH`] bounds the AST depth
    /// for the (recursive) printer and evaluator.
    fn parse_parenthesized(&mut self) -> Result<LdapFilter, LdapFilterError> {
        let mut stack: Vec<Group> = Vec::new();
        loop {
            // At a `(`: open a group or parse a whole item.
            let open = self.pos;
            if stack.len() + self.base_depth >= MAX_DEPTH {
                return Err(LdapFilterError::new(
                    open,
                    format!("filter nested too deeply (more than {MAX_DEPTH} levels)"),
                    None,
                ));
            }
            self.pos += 1;
            self.skip_ws();
            let kind = match self.peek() {
                Some(b'&') => Some(GroupKind::And),
                Some(b'|') => Some(GroupKind::Or),
                Some(b'!') => Some(GroupKind::Not),
                _ => None,
            };
            let mut done = match kind {
                Some(kind) => {
                    self.pos += 1;
                    stack.push(Group {
                        kind,
                        open,
                        items: Vec::new(),
                    });
                    None
                }
                None => {
                    let item = self.parse_item(Context::Parens)?;
                    self.expect_close(open)?;
                    Some(item)
                }
            };
            // Attach finished filters to their group and close groups until the next
            // child `(` is due.
            loop {
                if let Some(f) = done.take() {
                    match stack.last_mut() {
                        None => return Ok(f),
                        Some(g) => g.items.push(f),
                    }
                }
                let Some(top) = stack.last() else {
                    return Err(self.err_here("internal parser state error"));
                };
                self.skip_ws();
                let wants_child = match top.kind {
                    GroupKind::And | GroupKind::Or => self.peek() == Some(b'('),
                    GroupKind::Not if top.items.is_empty() => {
                        if self.peek() != Some(b'(') {
                            return Err(self.err_here("expected \"(\" after \"!\""));
                        }
                        true
                    }
                    GroupKind::Not => false,
                };
                if wants_child {
                    break;
                }
                let Some(group) = stack.pop() else {
                    return Err(self.err_here("internal parser state error"));
                };
                self.expect_close(group.open)?;
                done = Some(group.finish());
            }
        }
    }

    fn expect_close(&mut self, open: usize) -> Result<(), LdapFilterError> {
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(self.err_here("expected \")\"").closing(open));
        }
        self.pos += 1;
        Ok(())
    }

    fn parse_not_operand(&mut self) -> Result<LdapFilter, LdapFilterError> {
        self.skip_ws();
        if self.peek() != Some(b'(') {
            return Err(self.err_here("expected \"(\" after \"!\""));
        }
        self.parse_parenthesized()
    }

    fn parse_list(&mut self) -> Result<Vec<LdapFilter>, LdapFilterError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() != Some(b'(') {
                return Ok(items);
            }
            items.push(self.parse_parenthesized()?);
        }
    }

    /// A filter without outer parentheses: `&(..)(..)`, `|(..)`, `!(..)` or one item
    /// whose value runs to the end of the input.
    fn parse_bare(&mut self) -> Result<LdapFilter, LdapFilterError> {
        self.base_depth = 1;
        match self.peek() {
            Some(b'&') => {
                self.pos += 1;
                let items = self.parse_list()?;
                self.expect_end_of_list()?;
                Ok(LdapFilter::And(items))
            }
            Some(b'|') => {
                self.pos += 1;
                let items = self.parse_list()?;
                self.expect_end_of_list()?;
                Ok(LdapFilter::Or(items))
            }
            Some(b'!') => {
                self.pos += 1;
                Ok(LdapFilter::Not(Box::new(self.parse_not_operand()?)))
            }
            _ => self.parse_item(Context::Bare),
        }
    }

    fn expect_end_of_list(&mut self) -> Result<(), LdapFilterError> {
        self.skip_ws();
        if self.pos < self.end {
            return Err(self.err_here("expected \"(\" or end of filter"));
        }
        Ok(())
    }

    /// `attr filtertype value` (or an extensible match that starts with `:`).
    fn parse_item(&mut self, ctx: Context) -> Result<LdapFilter, LdapFilterError> {
        let item_start = self.pos;
        let attr = if self.peek() == Some(b':') {
            None
        } else {
            Some(self.parse_attr_description()?)
        };
        let op_pos = self.pos;
        match (self.peek(), &attr) {
            (Some(b':'), _) => self.parse_extensible(attr, item_start, ctx),
            (Some(b'='), Some(a)) => {
                self.pos += 1;
                let mut parts = self.parse_value(ctx, true)?;
                let attr = a.clone();
                if parts.len() == 1 {
                    return Ok(LdapFilter::Equality {
                        attr,
                        value: parts.pop().unwrap_or_default(),
                    });
                }
                if parts.iter().all(Vec::is_empty) {
                    return Ok(LdapFilter::Present { attr });
                }
                let last = parts.len() - 1;
                let mut initial = None;
                let mut final_ = None;
                let mut any = Vec::new();
                for (i, part) in parts.into_iter().enumerate() {
                    if part.is_empty() {
                        continue;
                    }
                    if i == 0 {
                        initial = Some(part);
                    } else if i == last {
                        final_ = Some(part);
                    } else {
                        any.push(part);
                    }
                }
                Ok(LdapFilter::Substrings {
                    attr,
                    initial,
                    any,
                    final_,
                })
            }
            (Some(op @ (b'~' | b'>' | b'<')), Some(a))
                if self.s.get(self.pos + 1) == Some(&b'=') =>
            {
                self.pos += 2;
                let value = self.parse_value(ctx, false)?.pop().unwrap_or_default();
                let attr = a.clone();
                Ok(match op {
                    b'~' => LdapFilter::Approx { attr, value },
                    b'>' => LdapFilter::GreaterOrEqual { attr, value },
                    _ => LdapFilter::LessOrEqual { attr, value },
                })
            }
            _ => {
                self.pos = op_pos;
                Err(self.err_here(
                    "expected a filter type (\"=\", \"~=\", \">=\", \"<=\" or an extensible match \":=\")",
                ))
            }
        }
    }

    /// `attributetype *(";" option)`; attributetype is a descr or a numeric OID.
    fn parse_attr_description(&mut self) -> Result<String, LdapFilterError> {
        let start = self.pos;
        self.parse_oid("an attribute description")?;
        while self.peek() == Some(b';') {
            self.pos += 1;
            if !self.try_range_option() {
                let opt_start = self.pos;
                while self.peek().is_some_and(is_keychar) {
                    self.pos += 1;
                }
                if self.pos == opt_start {
                    return Err(self.err_here("expected an attribute option after \";\""));
                }
            }
        }
        Ok(self
            .input
            .get(start..self.pos)
            .unwrap_or_default()
            .to_owned())
    }

    /// Consumes `range=<digits>-<digits|*>` (AD ranged retrieval) when it is directly
    /// followed by a filter type, so `member;range=0-1499=x` splits at the last `=`.
    fn try_range_option(&mut self) -> bool {
        if !self
            .s
            .get(self.pos..self.pos + 6)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"range="))
        {
            return false;
        }
        let mut p = self.pos + 6;
        let at = |p: usize| {
            if p < self.end {
                self.s.get(p).copied()
            } else {
                None
            }
        };
        let digits_from = |mut p: usize| {
            let s = p;
            while at(p).is_some_and(|b| b.is_ascii_digit()) {
                p += 1;
            }
            (p > s).then_some(p)
        };
        let Some(after_low) = digits_from(p) else {
            return false;
        };
        p = after_low;
        if at(p) != Some(b'-') {
            return false;
        }
        p += 1;
        if at(p) == Some(b'*') {
            p += 1;
        } else if let Some(after_high) = digits_from(p) {
            p = after_high;
        } else {
            return false;
        }
        if matches!(at(p), Some(b'=' | b'~' | b'>' | b'<' | b':')) {
            self.pos = p;
            return true;
        }
        false
    }

    /// A descr (`ALPHA *keychar`) or numeric OID (`number 1*("." number)`).
    fn parse_oid(&mut self, what: &str) -> Result<&str, LdapFilterError> {
        let start = self.pos;
        match self.peek() {
            Some(b) if b.is_ascii_digit() => loop {
                while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.pos += 1;
                }
                if self.peek() == Some(b'.')
                    && self.s.get(self.pos + 1).is_some_and(u8::is_ascii_digit)
                    && self.pos + 1 < self.end
                {
                    self.pos += 1;
                } else {
                    break;
                }
            },
            Some(b) if b.is_ascii_alphabetic() => {
                while self.peek().is_some_and(is_keychar) {
                    self.pos += 1;
                }
            }
            _ => return Err(self.err_here(format!("expected {what}"))),
        }
        Ok(self.input.get(start..self.pos).unwrap_or_default())
    }

    /// After the optional attribute, at `:`: `[":dn"] [":" rule] ":=" value`.
    fn parse_extensible(
        &mut self,
        attr: Option<String>,
        item_start: usize,
        ctx: Context,
    ) -> Result<LdapFilter, LdapFilterError> {
        let mut dn_attributes = false;
        let mut rule: Option<String> = None;
        loop {
            if self.rest_starts_with(b":=") {
                self.pos += 2;
                break;
            }
            if self.peek() != Some(b':') {
                return Err(self.err_here("expected \":\" or \":=\" in extensible match"));
            }
            self.pos += 1;
            let word_pos = self.pos;
            let word = self
                .parse_oid("\"dn\", a matching rule or \"=\" in extensible match")?
                .to_owned();
            if word.eq_ignore_ascii_case("dn") && !dn_attributes && rule.is_none() {
                dn_attributes = true;
            } else if rule.is_none() {
                rule = Some(word);
            } else {
                return Err(LdapFilterError::new(
                    word_pos,
                    "expected \":=\" after the matching rule",
                    Some(format!("{word:?}")),
                ));
            }
        }
        if attr.is_none() && rule.is_none() {
            return Err(LdapFilterError::new(
                item_start,
                "an extensible match without an attribute needs a matching rule (\":dn:rule:=value\")",
                None,
            ));
        }
        let value = self.parse_value(ctx, false)?.pop().unwrap_or_default();
        Ok(LdapFilter::Extensible {
            attr,
            dn_attributes,
            rule,
            value,
        })
    }

    /// Decodes an assertion value; with `allow_star` the value is split at unescaped `*`
    /// into substring parts (always at least one part).
    fn parse_value(
        &mut self,
        ctx: Context,
        allow_star: bool,
    ) -> Result<Vec<Vec<u8>>, LdapFilterError> {
        let mut parts = Vec::new();
        let mut cur = Vec::new();
        while let Some(b) = self.peek() {
            match b {
                b')' if ctx == Context::Parens => break,
                b')' => {
                    return Err(self.err_here(
                        "unescaped \")\" in value (write it as \\29, or put the whole filter in parentheses)",
                    ));
                }
                b'(' => return Err(self.err_here("unescaped \"(\" in value (write it as \\28)")),
                0 => return Err(self.err_here("NUL in value (write it as \\00)")),
                b'*' if allow_star => {
                    parts.push(std::mem::take(&mut cur));
                    self.pos += 1;
                }
                b'*' => {
                    return Err(self.err_here(
                        "unescaped \"*\" is only allowed in equality and substring filters (write it as \\2a)",
                    ));
                }
                b'\\' => {
                    let hex = |i: usize| {
                        if i < self.end {
                            self.s.get(i).and_then(|&c| (c as char).to_digit(16))
                        } else {
                            None
                        }
                    };
                    let (Some(hi), Some(lo)) = (hex(self.pos + 1), hex(self.pos + 2)) else {
                        let found = self
                            .input
                            .get(self.pos..self.end)
                            .map(|s| s.chars().take(3).collect::<String>())
                            .unwrap_or_default();
                        return Err(LdapFilterError::new(
                            self.pos,
                            "invalid escape: \"\\\" must be followed by two hex digits",
                            Some(format!("{found:?}")),
                        ));
                    };
                    cur.push(u8::try_from(hi * 16 + lo).unwrap_or(0));
                    self.pos += 3;
                }
                other => {
                    cur.push(other);
                    self.pos += 1;
                }
            }
        }
        parts.push(cur);
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr_of(text: &str) -> String {
        match parse(text).unwrap() {
            LdapFilter::Equality { attr, .. }
            | LdapFilter::Present { attr }
            | LdapFilter::GreaterOrEqual { attr, .. }
            | LdapFilter::Substrings { attr, .. } => attr,
            LdapFilter::Extensible {
                attr: Some(attr), ..
            } => attr,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn range_option_is_part_of_the_description_only_before_a_filter_type() {
        assert_eq!(attr_of("(member;range=0-1499=*)"), "member;range=0-1499");
        assert_eq!(attr_of("(member;Range=10-*>=a)"), "member;Range=10-*");
        assert_eq!(attr_of("(member;range=0-1:=a)"), "member;range=0-1");
        assert_eq!(attr_of("(member;range=0-x)"), "member;range");
        assert_eq!(attr_of("(member;range=0-1)"), "member;range");
        assert_eq!(attr_of("(member;range=*)"), "member;range");
        assert_eq!(attr_of("(cn;lang-ja;binary=x)"), "cn;lang-ja;binary");
    }

    #[test]
    fn numeric_oids() {
        assert_eq!(attr_of("(2.5.4.3=x)"), "2.5.4.3");
        assert!(parse("(2.5.=x)").is_err());
        assert!(parse("(.2=x)").is_err());
    }

    #[test]
    fn substring_parts() {
        let LdapFilter::Substrings {
            initial,
            any,
            final_,
            ..
        } = parse("(cn=a**b*)").unwrap()
        else {
            panic!()
        };
        assert_eq!(initial.as_deref(), Some(&b"a"[..]));
        assert_eq!(any, vec![b"b".to_vec()]);
        assert_eq!(final_, None);
        assert_eq!(
            parse("(cn=**)").unwrap(),
            LdapFilter::Present { attr: "cn".into() }
        );
    }
}
