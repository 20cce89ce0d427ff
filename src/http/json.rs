//! Request bodies as Elasticsearch reads them: a JSON reader that remembers where each token
//! starts (line and byte column, 1-based, as Elasticsearch prints `[line:col]` in its parse
//! errors), refuses duplicate keys and nesting deeper than Elasticsearch allows, and hands
//! the operations a tree they can check field by field (see `request`).

use std::fmt;

use serde_json::{Map, Number, Value};

/// Elasticsearch's limit on nesting (Jackson's `StreamReadConstraints` as Elasticsearch sets it).
pub const MAX_DEPTH: usize = 1000;

/// Where a token starts, as `[line:column]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}:{}]", self.line, self.column)
    }
}

/// A JSON value, where it starts and, for an object or an array, where it ends (its closing
/// bracket, where Elasticsearch reports what is missing from an object).
#[derive(Debug, Clone, PartialEq)]
pub struct Json {
    pub at: Location,
    pub end: Location,
    pub value: JsonValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    /// Keys in the order written, each with where it starts.
    Object(Vec<(Key, Json)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub at: Location,
}

impl Json {
    /// The token name Elasticsearch uses in its messages.
    pub fn token(&self) -> &'static str {
        match &self.value {
            JsonValue::Null => "VALUE_NULL",
            JsonValue::Bool(_) => "VALUE_BOOLEAN",
            JsonValue::Number(_) => "VALUE_NUMBER",
            JsonValue::String(_) => "VALUE_STRING",
            JsonValue::Array(_) => "START_ARRAY",
            JsonValue::Object(_) => "START_OBJECT",
        }
    }

    pub fn to_value(&self) -> Value {
        match &self.value {
            JsonValue::Null => Value::Null,
            JsonValue::Bool(b) => Value::Bool(*b),
            JsonValue::Number(n) => Value::Number(n.clone()),
            JsonValue::String(s) => Value::String(s.clone()),
            JsonValue::Array(items) => Value::Array(items.iter().map(Json::to_value).collect()),
            JsonValue::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| (key.name.clone(), value.to_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, JsonValue::Null)
    }
}

/// Why a body could not be read as JSON; the message follows Jackson's wording, which
/// Elasticsearch passes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: Location,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.at, self.message)
    }
}

/// Reads one JSON document; anything but whitespace after it is an error.
pub fn parse(bytes: &[u8]) -> Result<Json, SyntaxError> {
    let mut reader = Reader {
        bytes,
        pos: 0,
        line: 1,
        line_start: 0,
    };
    reader.skip_whitespace();
    if reader.pos == bytes.len() {
        return Err(reader.error_here("No content to map due to end-of-input"));
    }
    let value = reader.value()?;
    reader.skip_whitespace();
    if reader.pos < bytes.len() {
        let found = reader.describe_current();
        return Err(reader.error_here(&format!("Unexpected character ({found}): expected end-of-input")));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
}

/// An array or object whose end has not been read yet.
enum Open {
    Array {
        at: Location,
        items: Vec<Json>,
    },
    /// `key` is the name whose value is being read.
    Object {
        at: Location,
        entries: Vec<(Key, Json)>,
        key: Key,
    },
}

impl Open {
    fn close(self, end: Location) -> Json {
        match self {
            Self::Array { at, items } => Json {
                at,
                end,
                value: JsonValue::Array(items),
            },
            Self::Object { at, entries, .. } => Json {
                at,
                end,
                value: JsonValue::Object(entries),
            },
        }
    }
}

impl Reader<'_> {
    fn location(&self) -> Location {
        Location {
            line: self.line,
            column: self.pos - self.line_start + 1,
        }
    }

    fn error_here(&self, message: &str) -> SyntaxError {
        SyntaxError {
            at: self.location(),
            message: message.to_owned(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn describe_current(&self) -> String {
        match self.peek() {
            None => "end-of-input".to_owned(),
            Some(byte) if byte.is_ascii_graphic() => format!("'{}' (code {byte})", byte as char),
            Some(byte) => format!("CTRL-CHAR, code {byte}"),
        }
    }

    /// Skips whitespace and comments (`//` to the end of the line, `/* ... */`), which
    /// Elasticsearch's reader allows.
    fn skip_whitespace(&mut self) {
        while let Some(byte) = self.peek() {
            match byte {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' => self.newline(),
                b'/' if self.bytes.get(self.pos + 1) == Some(&b'/') => {
                    while self.peek().is_some_and(|byte| byte != b'\n') {
                        self.pos += 1;
                    }
                }
                b'/' if self.bytes.get(self.pos + 1) == Some(&b'*') => {
                    self.pos += 2;
                    while self.pos < self.bytes.len() && !self.bytes[self.pos..].starts_with(b"*/") {
                        if self.peek() == Some(b'\n') {
                            self.newline();
                        } else {
                            self.pos += 1;
                        }
                    }
                    self.pos = (self.pos + 2).min(self.bytes.len());
                }
                _ => break,
            }
        }
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// One value, read without recursion (an explicit stack of the open arrays and objects),
    /// so that nesting is bounded by `MAX_DEPTH`, not by the thread's stack.
    fn value(&mut self) -> Result<Json, SyntaxError> {
        let mut open: Vec<Open> = Vec::new();
        loop {
            self.skip_whitespace();
            let at = self.location();
            let mut done = match self.peek() {
                Some(b'{' | b'[') => {
                    if open.len() >= MAX_DEPTH {
                        return Err(self.error_here(&format!(
                            "Document nesting depth ({}) exceeds the maximum allowed ({MAX_DEPTH}, from `StreamReadConstraints.getMaxNestingDepth()`)",
                            open.len() + 1
                        )));
                    }
                    let object = self.peek() == Some(b'{');
                    self.pos += 1;
                    self.skip_whitespace();
                    match (object, self.peek()) {
                        (true, Some(b'}')) => {
                            let end = self.location();
                            self.pos += 1;
                            Some(Json {
                                at,
                                end,
                                value: JsonValue::Object(Vec::new()),
                            })
                        }
                        (false, Some(b']')) => {
                            let end = self.location();
                            self.pos += 1;
                            Some(Json {
                                at,
                                end,
                                value: JsonValue::Array(Vec::new()),
                            })
                        }
                        (true, _) => {
                            let key = self.key(&[])?;
                            open.push(Open::Object {
                                at,
                                entries: Vec::new(),
                                key,
                            });
                            None
                        }
                        (false, _) => {
                            open.push(Open::Array {
                                at,
                                items: Vec::new(),
                            });
                            None
                        }
                    }
                }
                _ => Some(Json {
                    at,
                    end: at,
                    value: self.scalar()?,
                }),
            };
            // Hand the value to the innermost open container, closing containers that end here.
            while let Some(value) = done.take() {
                let Some(container) = open.last_mut() else {
                    return Ok(value);
                };
                self.skip_whitespace();
                let next = self.peek();
                let closes = match container {
                    Open::Array { items, .. } => {
                        items.push(value);
                        match next {
                            Some(b',') => false,
                            Some(b']') => true,
                            _ => {
                                let found = self.describe_current();
                                return Err(self.error_here(&format!(
                                    "Unexpected character ({found}): was expecting comma to separate Array entries"
                                )));
                            }
                        }
                    }
                    Open::Object { entries, key, .. } => {
                        entries.push((key.clone(), value));
                        match next {
                            Some(b',') => {
                                self.pos += 1;
                                *key = self.key(entries)?;
                                continue;
                            }
                            Some(b'}') => true,
                            _ => {
                                let found = self.describe_current();
                                return Err(self.error_here(&format!(
                                    "Unexpected character ({found}): was expecting comma to separate Object entries"
                                )));
                            }
                        }
                    }
                };
                let end = self.location();
                self.pos += 1;
                if closes {
                    done = open.pop().map(|container| container.close(end));
                }
            }
        }
    }

    /// A field name and its colon; a name already in `entries` is refused.
    fn key(&mut self, entries: &[(Key, Json)]) -> Result<Key, SyntaxError> {
        self.skip_whitespace();
        let at = self.location();
        if self.peek() != Some(b'"') {
            let found = self.describe_current();
            return Err(self.error_here(&format!(
                "Unexpected character ({found}): was expecting double-quote to start field name"
            )));
        }
        let name = self.string()?;
        if entries.iter().any(|(key, _)| key.name == name) {
            return Err(SyntaxError {
                at,
                message: format!("Duplicate field '{name}'"),
            });
        }
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            let found = self.describe_current();
            return Err(self.error_here(&format!(
                "Unexpected character ({found}): was expecting a colon to separate field name and value"
            )));
        }
        self.pos += 1;
        Ok(Key { name, at })
    }

    fn scalar(&mut self) -> Result<JsonValue, SyntaxError> {
        Ok(match self.peek() {
            Some(b'"') => JsonValue::String(self.string()?),
            Some(b't') => self.literal("true", JsonValue::Bool(true))?,
            Some(b'f') => self.literal("false", JsonValue::Bool(false))?,
            Some(b'n') => self.literal("null", JsonValue::Null)?,
            Some(b'-' | b'0'..=b'9') => JsonValue::Number(self.number()?),
            None => return Err(self.error_here("Unexpected end-of-input: expected a value")),
            Some(_) => {
                let found = self.describe_current();
                return Err(self.error_here(&format!(
                    "Unexpected character ({found}): expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
                )));
            }
        })
    }

    fn literal(&mut self, word: &str, value: JsonValue) -> Result<JsonValue, SyntaxError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            let end = self.pos + word.len();
            if !self
                .bytes
                .get(end)
                .is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
            {
                self.pos = end;
                return Ok(value);
            }
        }
        let token: String = self.bytes[self.pos..]
            .iter()
            .take_while(|byte| byte.is_ascii_alphanumeric() || **byte == b'_')
            .map(|byte| *byte as char)
            .collect();
        Err(self.error_here(&format!(
            "Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        )))
    }

    fn number(&mut self) -> Result<Number, SyntaxError> {
        let start = self.pos;
        let digits = |reader: &mut Self| {
            let from = reader.pos;
            while reader.peek().is_some_and(|byte| byte.is_ascii_digit()) {
                reader.pos += 1;
            }
            reader.pos > from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let ok = digits(self)
            && (self.peek() != Some(b'.') || {
                self.pos += 1;
                digits(self)
            })
            && (!matches!(self.peek(), Some(b'e' | b'E')) || {
                self.pos += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
                digits(self)
            });
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or_default();
        let number = ok.then(|| serde_json::from_str::<Number>(text).ok()).flatten();
        number.ok_or_else(|| SyntaxError {
            at: Location {
                line: self.line,
                column: start - self.line_start + 1,
            },
            message: format!("Invalid numeric value: [{text}]"),
        })
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.pos += 1; // the opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(byte) = self.peek() else {
                return Err(self
                    .error_here("Unexpected end-of-input: was expecting closing quote for a string value"));
            };
            match byte {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    self.pos += 1;
                    let escaped = self.peek();
                    self.pos += 1;
                    match escaped {
                        Some(b'"') => out.push(b'"'),
                        Some(b'\\') => out.push(b'\\'),
                        Some(b'/') => out.push(b'/'),
                        Some(b'b') => out.push(0x08),
                        Some(b'f') => out.push(0x0c),
                        Some(b'n') => out.push(b'\n'),
                        Some(b'r') => out.push(b'\r'),
                        Some(b't') => out.push(b'\t'),
                        Some(b'u') => {
                            let c = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.pos -= 1;
                            let found = self.describe_current();
                            return Err(self.error_here(&format!("Unrecognized character escape {found}")));
                        }
                    }
                }
                0x00..=0x1f => {
                    return Err(self.error_here(&format!(
                        "Illegal unquoted character ((CTRL-CHAR, code {byte})): has to be escaped using backslash to be included in string value"
                    )));
                }
                _ => {
                    out.push(byte);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.error_here("Invalid UTF-8 middle byte"))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .ok_or_else(|| {
                self.error_here("Unexpected character: expected a hex-digit for character escape sequence")
            })?;
        self.pos += 4;
        Ok(digits)
    }

    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) && self.bytes[self.pos..].starts_with(b"\\u") {
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error_here("Broken surrogate pair"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        // A lone surrogate cannot be held in a Rust string; it becomes U+FFFD, as a lenient
        // reader would decode it.
        Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_and_their_locations() {
        let doc = parse(
            b"{\n  \"a\": [1, 2.5, -3e2],\n  \"b\": {\"c\": null, \"d\": \"\\u00e9\\n\"}, \"e\": true}",
        )
        .unwrap();
        assert_eq!(
            doc.to_value(),
            json!({"a": [1, 2.5, -300.0], "b": {"c": null, "d": "é\n"}, "e": true})
        );
        let JsonValue::Object(entries) = &doc.value else {
            panic!()
        };
        assert_eq!(entries[0].0.at, Location { line: 2, column: 3 });
        assert_eq!(entries[0].1.at, Location { line: 2, column: 8 });
        assert_eq!(entries[1].0.at.to_string(), "[3:3]");
        assert_eq!(
            entries[1].1.end.to_string(),
            "[3:35]",
            "an object ends at its closing brace"
        );
        assert_eq!(entries[0].1.end.to_string(), "[2:21]");
        let empty = parse(b"{ }").unwrap();
        assert_eq!(empty.end.to_string(), "[1:3]");
    }

    #[test]
    fn malformed_documents_are_refused_with_a_location() {
        for (text, at) in [
            ("", "[1:1]"),
            ("{", "[1:2]"),
            ("{\"a\" 1}", "[1:6]"),
            ("{\"a\":1,}", "[1:8]"),
            ("{\"a\":tru}", "[1:6]"),
            ("[1 2]", "[1:4]"),
            ("{} x", "[1:4]"),
            ("\"abc", "[1:5]"),
            ("01", "[1:1]"),
            ("-", "[1:1]"),
            ("{\"a\":\"\\q\"}", "[1:8]"),
        ] {
            let err = parse(text.as_bytes()).unwrap_err();
            assert_eq!(err.at.to_string(), at, "{text:?}: {err}");
        }
    }

    #[test]
    fn comments_are_skipped() {
        let doc = parse(b"// head\n{\"a\": /* inline */ 1}").unwrap();
        assert_eq!(doc.to_value(), json!({"a": 1}));
        let JsonValue::Object(entries) = &doc.value else {
            panic!()
        };
        assert_eq!(entries[0].0.at.to_string(), "[2:2]");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = parse(br#"{"a":1,"a":2}"#).unwrap_err();
        assert_eq!(err.to_string(), "[1:8] Duplicate field 'a'");
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(deep.as_bytes()).is_ok());
        let deeper = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let err = parse(deeper.as_bytes()).unwrap_err();
        assert!(err.message.contains("nesting depth (1001)"), "{err}");
    }

    #[test]
    fn surrogate_pairs_and_raw_utf8_read_back() {
        let doc = parse("[\"\\ud83d\\ude00\", \"ü\"]".as_bytes()).unwrap();
        assert_eq!(doc.to_value(), json!(["😀", "ü"]));
        assert!(parse(b"[\"\xff\"]").is_err());
    }

    #[test]
    fn token_names_follow_elasticsearch() {
        let doc = parse(br#"[1, "x", null, {}, [], false]"#).unwrap();
        let JsonValue::Array(items) = doc.value else {
            panic!()
        };
        let tokens: Vec<_> = items.iter().map(Json::token).collect();
        assert_eq!(
            tokens,
            [
                "VALUE_NUMBER",
                "VALUE_STRING",
                "VALUE_NULL",
                "START_OBJECT",
                "START_ARRAY",
                "VALUE_BOOLEAN"
            ]
        );
    }
}
