//! Tokenizer for SCIM filter and PATCH path text.
//!
//! Attribute paths, keywords and `true`/`false`/`null` are all lexed as one `Word`
//! kind; the parser decides what a word means from where it appears, so an attribute
//! that happens to be called `not` or `and` still works.

use super::{ErrorKind, ScimFilterError};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Str(String),
    Num(serde_json::Number),
    Word(String),
    Eof,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

impl Token {
    /// Human-readable description for "found ..." in error messages.
    pub(crate) fn describe(&self) -> String {
        match &self.tok {
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Str(s) => format!("string {}", super::print::json_string(s)),
            Tok::Num(n) => format!("number {n}"),
            Tok::Word(w) => format!("\"{w}\""),
            Tok::Eof => "end of input".into(),
        }
    }

    pub(crate) fn is_word(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

/// Characters that may appear in an attribute path word: ATTRNAME characters plus the
/// URN separators `:` and `.`, and `$` for `$ref`.
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$' | b'.' | b':')
}

pub(crate) struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    kind: ErrorKind,
    peeked: Option<Token>,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a str, kind: ErrorKind) -> Self {
        Lexer {
            input,
            pos: 0,
            kind,
            peeked: None,
        }
    }

    pub(crate) fn peek(&mut self) -> Result<&Token, ScimFilterError> {
        if self.peeked.is_none() {
            let t = self.lex()?;
            self.peeked = Some(t);
        }
        match &self.peeked {
            Some(t) => Ok(t),
            None => Err(self.err(self.pos, "internal lexer state error", None)),
        }
    }

    pub(crate) fn next(&mut self) -> Result<Token, ScimFilterError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex(),
        }
    }

    fn err(&self, pos: usize, msg: impl Into<String>, found: Option<String>) -> ScimFilterError {
        ScimFilterError::new(self.kind, pos, msg, found)
    }

    fn bytes(&self) -> &'a [u8] {
        self.input.as_bytes()
    }

    fn lex(&mut self) -> Result<Token, ScimFilterError> {
        let bytes = self.bytes();
        while bytes.get(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&b) = bytes.get(start) else {
            return Ok(Token {
                tok: Tok::Eof,
                pos: start,
            });
        };
        let single = |tok| Token { tok, pos: start };
        let tok = match b {
            b'(' => {
                self.pos += 1;
                single(Tok::LParen)
            }
            b')' => {
                self.pos += 1;
                single(Tok::RParen)
            }
            b'[' => {
                self.pos += 1;
                single(Tok::LBracket)
            }
            b']' => {
                self.pos += 1;
                single(Tok::RBracket)
            }
            b'"' => single(Tok::Str(self.lex_string()?)),
            b'-' | b'0'..=b'9' => single(Tok::Num(self.lex_number()?)),
            _ if is_word_byte(b) => {
                while bytes.get(self.pos).is_some_and(|&c| is_word_byte(c)) {
                    self.pos += 1;
                }
                let word = self.input.get(start..self.pos).unwrap_or_default();
                single(Tok::Word(word.to_owned()))
            }
            _ => {
                let ch = self
                    .input
                    .get(start..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('\u{fffd}');
                return Err(self.err(start, "unexpected character", Some(format!("{ch:?}"))));
            }
        };
        Ok(tok)
    }

    /// Lexes a JSON string starting at the opening quote (RFC 8259 §7).
    fn lex_string(&mut self) -> Result<String, ScimFilterError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = self.input.get(self.pos..).unwrap_or_default();
            let mut chars = rest.chars();
            let Some(c) = chars.next() else {
                return Err(self.err(open, "unterminated string", None));
            };
            match c {
                '"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                '\\' => {
                    let esc_pos = self.pos;
                    let Some(e) = chars.next() else {
                        return Err(self.err(open, "unterminated string", None));
                    };
                    self.pos += 2;
                    let decoded = match e {
                        '"' => '"',
                        '\\' => '\\',
                        '/' => '/',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'u' => self.lex_unicode_escape(esc_pos)?,
                        other => {
                            return Err(self.err(
                                esc_pos,
                                "invalid escape in string (JSON allows \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
                                Some(format!("\"\\{other}\"")),
                            ));
                        }
                    };
                    out.push(decoded);
                }
                c if u32::from(c) < 0x20 => {
                    return Err(self.err(
                        self.pos,
                        "control character in string must be escaped",
                        Some(format!("{c:?}")),
                    ));
                }
                c => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn hex4(&mut self, esc_pos: usize) -> Result<u32, ScimFilterError> {
        let digits = self
            .input
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.err(esc_pos, "expected four hex digits after \\u", None))?;
        let v = u32::from_str_radix(digits, 16)
            .map_err(|_| self.err(esc_pos, "expected four hex digits after \\u", None))?;
        self.pos += 4;
        Ok(v)
    }

    /// Decodes the part after `\u`, joining UTF-16 surrogate pairs.
    fn lex_unicode_escape(&mut self, esc_pos: usize) -> Result<char, ScimFilterError> {
        let hi = self.hex4(esc_pos)?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            let low_pos = self.pos;
            if self.input.get(self.pos..self.pos + 2) != Some("\\u") {
                return Err(self.err(esc_pos, "unpaired UTF-16 surrogate in \\u escape", None));
            }
            self.pos += 2;
            let lo = self.hex4(low_pos)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.err(esc_pos, "unpaired UTF-16 surrogate in \\u escape", None));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code)
            .ok_or_else(|| self.err(esc_pos, "unpaired UTF-16 surrogate in \\u escape", None))
    }

    /// Lexes a JSON number: `-?digits[.digits][(e|E)[+-]digits]`.
    fn lex_number(&mut self) -> Result<serde_json::Number, ScimFilterError> {
        let bytes = self.bytes();
        let start = self.pos;
        let digits = |p: &mut usize| {
            let s = *p;
            while bytes.get(*p).is_some_and(u8::is_ascii_digit) {
                *p += 1;
            }
            *p > s
        };
        let mut p = start;
        if bytes.get(p) == Some(&b'-') {
            p += 1;
        }
        let int_start = p;
        let mut ok = digits(&mut p);
        // JSON forbids leading zeros (`007`).
        if ok && bytes.get(int_start) == Some(&b'0') && p - int_start > 1 {
            ok = false;
        }
        let mut is_int = true;
        if ok && bytes.get(p) == Some(&b'.') {
            p += 1;
            ok = digits(&mut p);
            is_int = false;
        }
        if ok && matches!(bytes.get(p), Some(b'e' | b'E')) {
            p += 1;
            if matches!(bytes.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            ok = digits(&mut p);
            is_int = false;
        }
        // A number glued to letters (`12abc`) is neither a number nor a name.
        if ok && bytes.get(p).is_some_and(|&b| is_word_byte(b)) {
            ok = false;
            while bytes.get(p).is_some_and(|&b| is_word_byte(b)) {
                p += 1;
            }
        }
        let text = self.input.get(start..p).unwrap_or_default();
        self.pos = p.max(start + 1);
        if !ok {
            return Err(self.err(
                start,
                "invalid number",
                Some(format!(
                    "\"{}\"",
                    self.input.get(start..self.pos).unwrap_or(text)
                )),
            ));
        }
        // std's float parser is correctly rounded, so printed numbers (shortest
        // round-trip form) parse back to the same f64; serde_json's default is not.
        let int = if !is_int {
            None
        } else if text.starts_with('-') {
            text.parse::<i64>().ok().map(serde_json::Number::from)
        } else {
            text.parse::<u64>().ok().map(serde_json::Number::from)
        };
        int.or_else(|| {
            text.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
        })
        .ok_or_else(|| {
            self.err(
                start,
                "invalid number (out of range)",
                Some(format!("\"{text}\"")),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_all(input: &str) -> Result<Vec<Tok>, ScimFilterError> {
        let mut lx = Lexer::new(input, ErrorKind::Filter);
        let mut out = Vec::new();
        loop {
            let t = lx.next()?;
            if t.tok == Tok::Eof {
                return Ok(out);
            }
            out.push(t.tok);
        }
    }

    fn num(text: &str) -> serde_json::Number {
        match lex_all(text).unwrap().as_slice() {
            [Tok::Num(n)] => n.clone(),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(num("0"), serde_json::Number::from(0u64));
        assert_eq!(num("-12"), serde_json::Number::from(-12i64));
        assert_eq!(
            num("18446744073709551615"),
            serde_json::Number::from(u64::MAX)
        );
        assert_eq!(
            num("18446744073709551616").as_f64(),
            Some(1.8446744073709552e19)
        );
        assert_eq!(
            num("-9223372036854775809").as_f64(),
            Some(-9.223372036854776e18)
        );
        assert_eq!(num("1.5").as_f64(), Some(1.5));
        assert_eq!(num("2E+3").as_f64(), Some(2000.0));
        assert_eq!(num("2e-3").as_f64(), Some(0.002));
        // Correctly rounded, so the shortest printed form round-trips.
        let x = 0.1 + 0.2;
        assert_eq!(
            num(&serde_json::Number::from_f64(x).unwrap().to_string()).as_f64(),
            Some(x)
        );
        for bad in ["01", "1.", "1e", "-", "1.2.3", "1e999", "12ab", "-x"] {
            assert!(lex_all(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strings_and_words() {
        assert_eq!(
            lex_all(r#"a.b:c[ "x\ty" ]()"#).unwrap(),
            vec![
                Tok::Word("a.b:c".into()),
                Tok::LBracket,
                Tok::Str("x\ty".into()),
                Tok::RBracket,
                Tok::LParen,
                Tok::RParen,
            ]
        );
        assert_eq!(
            lex_all(r#""\u00E9\uD83D\uDE00""#).unwrap(),
            vec![Tok::Str("é😀".into())]
        );
        assert!(lex_all("\"a\nb\"").is_err());
        assert!(lex_all(r#""\uDE00""#).is_err());
        assert!(lex_all(r#""\uD83Dx""#).is_err());
        assert!(lex_all(r#""\uD83D\u0041""#).is_err());
        assert!(lex_all("\"abc\\").is_err());
    }
}
