//! A small strict JSON reader (RFC 8259) for the rule set input: bounded size and depth,
//! duplicate object keys refused, integers only (no fractions or exponents: nothing the
//! rule set holds is fractional, and money never travels as a JSON number).
//!
//! Why not `serde_json`: it silently keeps the last of duplicate keys (a signed rule set
//! must mean one thing), and the crate stays free of a dependency it would use for one
//! small input.

use crate::Error;

/// Nesting depth of arrays and objects.
const DEPTH_MAX: usize = 16;

/// A parsed JSON value. Objects keep their members in input order (keys unique).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Integer(i64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The member `key` of an object.
    pub(crate) fn member(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Parses `text` as one JSON value (whitespace around it allowed). Errors are
/// [`Error::Malformed`] with `what` and the byte offset.
pub(crate) fn parse(what: &'static str, text: &str) -> Result<Value, Error> {
    let mut p = Parser {
        what,
        bytes: text.as_bytes(),
        offset: 0,
    };
    p.skip_space();
    let value = p.value(0)?;
    p.skip_space();
    if p.offset != p.bytes.len() {
        return Err(p.error("trailing characters after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    what: &'static str,
    bytes: &'a [u8],
    offset: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> Error {
        Error::Malformed {
            what: self.what,
            offset: self.offset,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.offset).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.offset += 1;
        }
    }

    fn expect_word(&mut self, word: &[u8], value: Value) -> Result<Value, Error> {
        if self.bytes[self.offset..].starts_with(word) {
            self.offset += word.len();
            Ok(value)
        } else {
            Err(self.error("not a JSON value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, Error> {
        if depth > DEPTH_MAX {
            return Err(self.error("nested too deeply"));
        }
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some(b'n') => self.expect_word(b"null", Value::Null),
            Some(b't') => self.expect_word(b"true", Value::Bool(true)),
            Some(b'f') => self.expect_word(b"false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'[') => {
                self.offset += 1;
                let mut items = Vec::new();
                self.skip_space();
                if self.peek() == Some(b']') {
                    self.offset += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    self.skip_space();
                    items.push(self.value(depth + 1)?);
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.offset += 1,
                        Some(b']') => {
                            self.offset += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return Err(self.error("expected `,` or `]`")),
                    }
                }
            }
            Some(b'{') => {
                self.offset += 1;
                let mut members: Vec<(String, Value)> = Vec::new();
                self.skip_space();
                if self.peek() == Some(b'}') {
                    self.offset += 1;
                    return Ok(Value::Object(members));
                }
                loop {
                    self.skip_space();
                    if self.peek() != Some(b'"') {
                        return Err(self.error("expected a member name"));
                    }
                    let key_offset = self.offset;
                    let key = self.string()?;
                    if members.iter().any(|(k, _)| *k == key) {
                        self.offset = key_offset;
                        return Err(self.error("duplicate member name"));
                    }
                    self.skip_space();
                    if self.peek() != Some(b':') {
                        return Err(self.error("expected `:`"));
                    }
                    self.offset += 1;
                    self.skip_space();
                    let value = self.value(depth + 1)?;
                    members.push((key, value));
                    self.skip_space();
                    match self.peek() {
                        Some(b',') => self.offset += 1,
                        Some(b'}') => {
                            self.offset += 1;
                            return Ok(Value::Object(members));
                        }
                        _ => return Err(self.error("expected `,` or `}`")),
                    }
                }
            }
            Some(_) => Err(self.error("not a JSON value")),
        }
    }

    fn integer(&mut self) -> Result<Value, Error> {
        let start = self.offset;
        if self.peek() == Some(b'-') {
            self.offset += 1;
        }
        let digits_start = self.offset;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.offset += 1;
        }
        let digits = &self.bytes[digits_start..self.offset];
        if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
            return Err(self.error("not a JSON number"));
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return Err(self.error("only integers are allowed"));
        }
        // ASCII digits and an optional sign: valid UTF-8.
        core::str::from_utf8(&self.bytes[start..self.offset])
            .ok()
            .and_then(|t| t.parse().ok())
            .map(Value::Integer)
            .ok_or_else(|| self.error("integer out of range"))
    }

    fn string(&mut self) -> Result<String, Error> {
        self.offset += 1; // the opening quote
        let mut out = String::new();
        loop {
            let rest = &self.bytes[self.offset..];
            let run = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .ok_or_else(|| self.error("unterminated string"))?;
            // The input is a &str and the run stops at an ASCII byte: a char boundary.
            out.push_str(core::str::from_utf8(&rest[..run]).map_err(|_| self.error("not UTF-8"))?);
            self.offset += run;
            match self.peek() {
                Some(b'"') => {
                    self.offset += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.offset += 1;
                    let escaped = self
                        .peek()
                        .ok_or_else(|| self.error("unterminated string"))?;
                    self.offset += 1;
                    let c = match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("bad escape")),
                    };
                    out.push(c);
                }
                _ => return Err(self.error("control character in string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self
            .bytes
            .get(self.offset..self.offset + 4)
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit))
            .ok_or_else(|| self.error("bad \\u escape"))?;
        self.offset += 4;
        Ok(digits.iter().fold(0, |acc, &d| {
            acc * 16 + char::from(d).to_digit(16).unwrap_or(0)
        }))
    }

    fn unicode_escape(&mut self) -> Result<char, Error> {
        let high = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&high) {
            if !self.bytes[self.offset..].starts_with(b"\\u") {
                return Err(self.error("lone surrogate"));
            }
            self.offset += 2;
            let low = self.hex4()?;
            if !(0xdc00..0xe000).contains(&low) {
                return Err(self.error("lone surrogate"));
            }
            0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| self.error("lone surrogate"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Value {
        parse("test", text).unwrap()
    }

    fn err(text: &str) -> &'static str {
        match parse("test", text) {
            Err(Error::Malformed { reason, .. }) => reason,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn parses_values() {
        assert_eq!(ok(" null "), Value::Null);
        assert_eq!(ok("-3"), Value::Integer(-3));
        assert_eq!(ok("0"), Value::Integer(0));
        assert_eq!(
            ok(r#""a\u00e9\ud83d\ude00\n""#),
            Value::String("aé😀\n".into())
        );
        assert_eq!(
            ok(r#"{"a": [1, true, false], "b": {}}"#),
            Value::Object(vec![
                (
                    "a".into(),
                    Value::Array(vec![
                        Value::Integer(1),
                        Value::Bool(true),
                        Value::Bool(false)
                    ])
                ),
                ("b".into(), Value::Object(vec![])),
            ])
        );
    }

    #[test]
    fn refuses_what_is_not_strict_json() {
        assert_eq!(err(r#"{"a": 1, "a": 2}"#), "duplicate member name");
        assert_eq!(err("1.5"), "only integers are allowed");
        assert_eq!(err("01"), "not a JSON number");
        assert_eq!(err("[1,]"), "not a JSON value");
        assert_eq!(err("[1"), "expected `,` or `]`");
        assert_eq!(err("\"a"), "unterminated string");
        assert_eq!(err("\"\u{1}\""), "control character in string");
        assert_eq!(err(r#""\ud800""#), "lone surrogate");
        assert_eq!(err("nul"), "not a JSON value");
        assert_eq!(err("1 2"), "trailing characters after the JSON value");
        assert_eq!(err("99999999999999999999"), "integer out of range");
        assert_eq!(err(&"[".repeat(40)), "nested too deeply");
        assert_eq!(err(""), "unexpected end of input");
    }
}
