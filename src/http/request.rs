//! Reading requests the way Elasticsearch reads them: bodies through declared parsers (a field
//! table per request, as Elasticsearch's `ObjectParser`s), query parameters by name and type,
//! and the same error for each mistake.

use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorType};
use crate::http::json::{self, Json, JsonValue, Location};

/// The token types a field accepts, and how its value is read.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string.
    Str,
    /// A string or null.
    StrOrNull,
    /// A whole number, also given as a string (`"5"`), as Elasticsearch coerces it.
    Long,
    /// `true`/`false`, also given as a string.
    Bool,
    /// An object.
    Object,
    /// An object or null.
    ObjectOrNull,
    /// An array.
    Array,
    /// A string or an object (a date the operation reads itself).
    StrOrObject,
    /// Any value.
    Any,
    /// Exactly these token types (Elasticsearch's `VALUE`, `VALUE_OBJECT_ARRAY`, ...).
    Tokens(&'static [Token]),
    /// A string, or an array of values each read as a string (`declareStringArray`).
    StrArray,
    /// A value of the inner kind that must also pass the check; the check's error is the cause
    /// of `failed to parse field [..]`, as when Elasticsearch's value parser throws.
    Checked(&'static Kind, Check),
    /// An object read by a nested parser.
    Nested(&'static Nested),
    /// An object read by a nested parser, or null.
    NestedOrNull(&'static Nested),
    /// An array of objects (or one object) each read by a nested parser (`declareObjectArray`).
    NestedArray(&'static Nested),
    /// An object whose every value is an object read by a nested parser (a map of entries).
    NestedMap(&'static Nested),
}

/// The JSON token types, as Elasticsearch names them in its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// A check of one value beyond its token type (an enum name, a date, a cron expression).
pub type Check = fn(&Json) -> Result<(), ApiError>;

/// A check of a whole nested object once its required fields arrived: Elasticsearch builds the
/// object at that moment, and a failure is reported as `Failed to build [..]`.
pub type Build = fn(&Fields) -> Result<(), ApiError>;

/// The parser of a nested object, as Elasticsearch's model classes declare theirs.
#[derive(Debug)]
pub struct Nested {
    pub parser: BodyParser,
    /// Elasticsearch's model parsers skip fields they do not know (they also read stored
    /// documents); request parsers refuse them.
    pub lenient: bool,
    pub build: Option<Build>,
}

impl Kind {
    fn accepts(self, value: &Json) -> bool {
        use JsonValue::*;
        match self {
            Self::Tokens(tokens) => tokens.contains(&token_of(value)),
            Self::Checked(inner, _) => inner.accepts(value),
            Self::Nested(_) | Self::NestedMap(_) => matches!(value.value, Object(_)),
            Self::NestedOrNull(_) => matches!(value.value, Object(_) | Null),
            Self::NestedArray(_) => matches!(value.value, Object(_) | Array(_)),
            Self::StrArray => matches!(value.value, String(_) | Array(_)),
            _ => matches!(
                (self, &value.value),
                (Self::Any, _)
                    | (Self::Str | Self::StrOrNull, String(_))
                    | (Self::StrOrNull | Self::ObjectOrNull, Null)
                    | (Self::Long, Number(_) | String(_))
                    | (Self::Bool, Bool(_) | String(_))
                    | (Self::Object | Self::ObjectOrNull, Object(_))
                    | (Self::Array, Array(_))
                    | (Self::StrOrObject, String(_) | Object(_))
            ),
        }
    }
}

/// The token type of a value.
pub fn token_of(value: &Json) -> Token {
    match value.value {
        JsonValue::Null => Token::Null,
        JsonValue::Bool(_) => Token::Bool,
        JsonValue::Number(_) => Token::Number,
        JsonValue::String(_) => Token::String,
        JsonValue::Array(_) => Token::Array,
        JsonValue::Object(_) => Token::Object,
    }
}

/// One request body's declared fields, as an Elasticsearch `ObjectParser`: `name` is the parser
/// name Elasticsearch prints in its errors.
#[derive(Debug)]
pub struct BodyParser {
    pub name: &'static str,
    pub fields: &'static [(&'static str, Kind)],
    /// Fields that must be present (Elasticsearch's constructor arguments): `Required [..]`.
    pub required: &'static [&'static str],
}

/// The fields of a body that passed its parser.
#[derive(Debug, Default)]
pub struct Fields {
    values: Vec<(&'static str, Json)>,
}

/// A parse failure and where the reader stood when it surfaced: Elasticsearch wraps a nested
/// failure in `[l:c] [outer] failed to parse field [f]` at that same place, level by level.
struct Failure {
    at: Location,
    error: ApiError,
}

impl Failure {
    fn at(at: Location, message: String) -> Self {
        Self {
            at,
            error: parse_error(at, message),
        }
    }

    /// This failure as the cause of the field `field` of the parser `parser`.
    fn within(self, parser: &str, field: &str) -> Self {
        Self {
            at: self.at,
            error: parse_error(self.at, format!("[{parser}] failed to parse field [{field}]"))
                .caused_by(self.error),
        }
    }
}

/// A top-level required field that is missing has no place; a nested one is reported at the
/// end of its object.
enum ReadError {
    Unplaced(ApiError),
    Placed(Failure),
}

impl From<Failure> for ReadError {
    fn from(failure: Failure) -> Self {
        Self::Placed(failure)
    }
}

impl BodyParser {
    /// Reads `bytes` (which must hold one JSON object) against the declared fields.
    pub fn parse(&self, bytes: &[u8]) -> Result<Fields, ApiError> {
        let doc = read_json(bytes)?;
        self.parse_json(doc)
    }

    pub fn parse_json(&self, doc: Json) -> Result<Fields, ApiError> {
        self.read(&doc, false, None, false)
            .map_err(|missing| match missing {
                ReadError::Unplaced(error) => error,
                ReadError::Placed(failure) => failure.error,
            })
    }

    /// Reads one object. `nested` objects report a missing field at their end; `lenient` ones
    /// skip unknown fields; `build` runs once the required fields are there.
    fn read(
        &self,
        doc: &Json,
        lenient: bool,
        build: Option<Build>,
        nested: bool,
    ) -> Result<Fields, ReadError> {
        let JsonValue::Object(entries) = &doc.value else {
            return Err(Failure::at(
                doc.at,
                format!("[{}] Expected START_OBJECT but was: {}", self.name, doc.token()),
            )
            .into());
        };
        let mut values = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Some((name, kind)) = self.fields.iter().find(|(name, _)| *name == key.name) else {
                if lenient {
                    continue;
                }
                return Err(Failure::at(
                    key.at,
                    format!(
                        "[{}] unknown field [{}]{}",
                        self.name,
                        key.name,
                        suggestion(&key.name, self.fields.iter().map(|(name, _)| *name))
                    ),
                )
                .into());
            };
            read_value(self.name, name, *kind, value)?;
            values.push((*name, value.clone()));
        }
        let missing: Vec<&str> = self
            .required
            .iter()
            .copied()
            .filter(|name| !values.iter().any(|(have, _)| have == name))
            .collect();
        if !missing.is_empty() {
            let error = ApiError::new(
                ErrorType::IllegalArgument,
                format!("Required [{}]", missing.join(", ")),
            );
            return Err(if nested {
                ReadError::Placed(Failure { at: doc.end, error })
            } else {
                ReadError::Unplaced(error)
            });
        }
        let fields = Fields { values };
        if let Some(build) = build {
            if let Err(cause) = build(&fields) {
                let error = ApiError::new(
                    ErrorType::XContentParse,
                    format!(
                        "Failed to build [{}] after last required field arrived",
                        self.name
                    ),
                )
                .caused_by(cause);
                // Elasticsearch builds when the last required field arrives, and reports the
                // failure under that field.
                let last_required = fields
                    .values
                    .iter()
                    .rev()
                    .find(|(name, _)| self.required.contains(name));
                return Err(match last_required {
                    Some((name, value)) => Failure { at: value.at, error }.within(self.name, name),
                    None => Failure { at: doc.end, error },
                }
                .into());
            }
        }
        Ok(fields)
    }
}

impl Nested {
    fn read(&self, doc: &Json) -> Result<Fields, Failure> {
        self.parser
            .read(doc, self.lenient, self.build, true)
            .map_err(|missing| match missing {
                ReadError::Placed(failure) => failure,
                // Nested objects always place what is missing.
                ReadError::Unplaced(error) => Failure { at: doc.end, error },
            })
    }
}

/// Checks one value of the field `name` of the parser `parser` against its kind.
fn read_value(parser: &str, name: &str, kind: Kind, value: &Json) -> Result<(), Failure> {
    if !kind.accepts(value) {
        return Err(Failure::at(
            value.at,
            format!(
                "[{parser}] {name} doesn't support values of type: {}",
                value.token()
            ),
        ));
    }
    let failed = |cause: ApiError| Failure {
        at: value.at,
        error: parse_error(value.at, format!("[{parser}] failed to parse field [{name}]")).caused_by(cause),
    };
    match (kind, &value.value) {
        (Kind::Checked(inner, check), _) => {
            read_value(parser, name, *inner, value)?;
            check(value).map_err(failed)
        }
        (Kind::Nested(nested) | Kind::NestedOrNull(nested), JsonValue::Object(_)) => nested
            .read(value)
            .map(drop)
            .map_err(|failure| failure.within(parser, name)),
        (Kind::NestedArray(nested), JsonValue::Object(_)) => nested
            .read(value)
            .map(drop)
            .map_err(|failure| failure.within(parser, name)),
        (Kind::NestedArray(nested), JsonValue::Array(items)) => items
            .iter()
            .try_for_each(|item| nested.read(item).map(drop))
            .map_err(|failure| failure.within(parser, name)),
        (Kind::NestedMap(nested), JsonValue::Object(entries)) => entries
            .iter()
            .try_for_each(|(_, entry)| nested.read(entry).map(drop))
            .map_err(|failure| failure.within(parser, name)),
        (Kind::StrArray, JsonValue::Array(items)) => {
            match items
                .iter()
                .find(|item| matches!(item.value, JsonValue::Array(_) | JsonValue::Object(_)))
            {
                // Elasticsearch reads each item as text, which containers have none of.
                Some(item) => Err(failed(ApiError::new(
                    ErrorType::IllegalState,
                    format!(
                        "Can't get text on a {} at {}:{}",
                        item.token(),
                        item.at.line,
                        item.at.column
                    ),
                ))),
                None => Ok(()),
            }
        }
        _ => check_scalar(parser, name, kind, value).map_err(|error| Failure { at: value.at, error }),
    }
}

/// Numbers and booleans given as strings must read as such; Elasticsearch reports the field and
/// the reason underneath.
fn check_scalar(parser: &str, name: &str, kind: Kind, value: &Json) -> Result<(), ApiError> {
    let cause = match (kind, &value.value) {
        (Kind::Long, JsonValue::String(text)) if text.trim().parse::<i64>().is_err() => ApiError::new(
            ErrorType::IllegalArgument,
            format!("For input string: \"{text}\""),
        ),
        (Kind::Long, JsonValue::Number(number)) if number.as_i64().is_none() => {
            let text = number.to_string();
            if number
                .as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
            {
                return Ok(());
            }
            ApiError::new(
                ErrorType::IllegalArgument,
                format!("Value [{text}] is out of range for a long"),
            )
        }
        (Kind::Bool, JsonValue::String(text)) if text != "true" && text != "false" => ApiError::new(
            ErrorType::IllegalArgument,
            format!("Failed to parse value [{text}] as only [true] or [false] are allowed."),
        ),
        _ => return Ok(()),
    };
    Err(parse_error(value.at, format!("[{parser}] failed to parse field [{name}]")).caused_by(cause))
}

impl Fields {
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.values
            .iter()
            .find_map(|(have, value)| (*have == name).then_some(value))
    }

    /// The field's value, `None` when absent or null.
    pub fn value(&self, name: &str) -> Option<Value> {
        self.get(name)
            .filter(|value| !value.is_null())
            .map(Json::to_value)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        match &self.get(name)?.value {
            JsonValue::String(text) => Some(text),
            _ => None,
        }
    }

    /// A field that passed `Kind::Long`, read by `read_long`; `None` when absent or null.
    pub fn long(&self, name: &str) -> Option<i64> {
        self.value(name).as_ref().and_then(read_long)
    }

    /// A field that passed `Kind::Bool`, read by `read_bool`; `None` when absent or null.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.value(name).as_ref().map(read_bool)
    }

    pub fn object(&self, name: &str) -> Option<Map<String, Value>> {
        match self.value(name)? {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The last field of the body, as written.
    pub fn last(&self) -> Option<(&'static str, &Json)> {
        self.values.last().map(|(name, value)| (*name, value))
    }

    /// Whether the field was given, even as null.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// A value that passed `Kind::Bool`, as Elasticsearch reads it: `true` or the text `true`.
pub fn read_bool(value: &Value) -> bool {
    match value {
        Value::String(text) => text == "true",
        other => other.as_bool().unwrap_or_default(),
    }
}

/// A value that passed `Kind::Long`, as Elasticsearch reads it: a whole number, also one given
/// as text or with a zero fraction.
pub fn read_long(value: &Value) -> Option<i64> {
    match value {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_i64().or_else(|| number.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

/// A body as JSON, or Elasticsearch's parse error.
pub fn read_json(bytes: &[u8]) -> Result<Json, ApiError> {
    json::parse(bytes).map_err(|err| parse_error(err.at, err.message))
}

pub fn parse_error(at: Location, message: String) -> ApiError {
    ApiError::new(ErrorType::XContentParse, format!("{at} {message}"))
}

/// Elasticsearch's hint for a misspelt field: the declared names close to it. Elasticsearch
/// scores them with Lucene's `LevenshteinDistance` (1 minus the edit distance over the longer
/// length, in characters), keeps those above 0.5 and lists them best first, then by name.
fn suggestion<'a>(unknown: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let mut close: Vec<(f64, &str)> = candidates
        .map(|candidate| (strsim::normalized_levenshtein(unknown, candidate), candidate))
        .filter(|(score, _)| *score > 0.5)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    match close.as_slice() {
        [] => String::new(),
        [(_, one)] => format!(" did you mean [{one}]?"),
        many => format!(
            " did you mean any of [{}]?",
            many.iter().map(|(_, name)| *name).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// A body where the API takes none.
pub fn refuse_body(method: &str, path: &str, body: &[u8]) -> Result<(), ApiError> {
    if body.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorType::IllegalArgument,
        format!("request [{method} {path}] does not support having a body"),
    ))
}

/// The body of an API that needs one.
pub fn require_body(body: &[u8]) -> Result<&[u8], ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(ErrorType::Parse, "request body is required"));
    }
    Ok(body)
}

/// Elasticsearch's parameters that every API takes.
const GLOBAL_PARAMETERS: [&str; 5] = ["pretty", "human", "error_trace", "filter_path", "format"];

/// The query parameters of a request, checked against the ones the API takes.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Refuses a parameter the API does not take, as Elasticsearch does.
    pub fn parse(path: &str, query: &str, accepted: &[&str]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        let unknown: Vec<&str> = pairs
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| !GLOBAL_PARAMETERS.contains(name) && !accepted.contains(name))
            .collect();
        match unknown.as_slice() {
            [] => Ok(Self { pairs }),
            [one] => Err(ApiError::new(
                ErrorType::IllegalArgument,
                format!("request [{path}] contains unrecognized parameter: [{one}]"),
            )),
            many => Err(ApiError::new(
                ErrorType::IllegalArgument,
                format!(
                    "request [{path}] contains unrecognized parameters: {}",
                    many.iter()
                        .map(|name| format!("[{name}]"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// The last value given for the parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find_map(|(have, value)| (have == name).then_some(value.as_str()))
    }

    /// A boolean parameter: absent is `default`, empty or `true` is true, `false` is false.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some("" | "true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(ApiError::new(
                ErrorType::IllegalArgument,
                format!("Failed to parse value [{other}] as only [true] or [false] are allowed."),
            )),
        }
    }

    /// An integer parameter.
    pub fn int(&self, name: &str, default: i32) -> Result<i32, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|_| {
                ApiError::new(
                    ErrorType::IllegalArgument,
                    format!("Failed to parse int parameter [{name}] with value [{value}]"),
                )
            }),
        }
    }

    /// A comma-separated list parameter; empty items are dropped.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|value| {
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }
}

/// A list's `from` and `size`, as Elasticsearch checks them; a window beyond the search limit is
/// the cluster's own error.
pub fn page_bounds(from: i32, size: i32) -> Result<(), ApiError> {
    for (name, value) in [("from", from), ("size", size)] {
        if value < 0 {
            return Err(ApiError::new(
                ErrorType::IllegalArgument,
                format!("Parameter [{name}] cannot be < 0"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIM: BodyParser = BodyParser {
        name: "connector_sync_job_claim_request",
        fields: &[
            ("worker_hostname", Kind::Str),
            ("sync_cursor", Kind::ObjectOrNull),
        ],
        required: &["worker_hostname"],
    };

    fn reason(err: ApiError) -> String {
        err.body()["error"]["reason"].as_str().unwrap().to_owned()
    }

    #[test]
    fn declared_fields_are_read() {
        let fields = CLAIM
            .parse(br#"{"worker_hostname": "host-1", "sync_cursor": {"a": 1}}"#)
            .unwrap();
        assert_eq!(fields.str("worker_hostname"), Some("host-1"));
        assert_eq!(fields.object("sync_cursor").unwrap()["a"], 1);
    }

    #[test]
    fn unknown_fields_are_refused_where_they_start_with_a_hint() {
        let err = CLAIM.parse(br#"{"worker_hostnme": "x"}"#).unwrap_err();
        assert_eq!(
            reason(err),
            "[1:2] [connector_sync_job_claim_request] unknown field [worker_hostnme] did you mean [worker_hostname]?"
        );
        let err = CLAIM.parse(b"{\n  \"zzz\": 1}").unwrap_err();
        assert_eq!(
            reason(err),
            "[2:3] [connector_sync_job_claim_request] unknown field [zzz]"
        );
    }

    #[test]
    fn hints_list_every_close_name_best_first_and_count_characters() {
        let names = ["count", "counts", "amount", "détails"];
        assert_eq!(
            suggestion("coun", names.into_iter()),
            " did you mean any of [count, counts]?"
        );
        assert_eq!(
            suggestion("xxount", ["amount"].into_iter()),
            " did you mean [amount]?"
        );
        // Three edits in six characters is 0.5, not above it.
        assert_eq!(suggestion("xxxunt", ["amount"].into_iter()), "");
        // One edit in seven characters, not two in eight bytes.
        assert_eq!(
            suggestion("details", names.into_iter()),
            " did you mean [détails]?"
        );
    }

    #[test]
    fn wrong_types_name_the_token() {
        let err = CLAIM.parse(br#"{"worker_hostname": 5}"#).unwrap_err();
        assert_eq!(err.type_name(), "x_content_parse_exception");
        assert_eq!(
            reason(err),
            "[1:21] [connector_sync_job_claim_request] worker_hostname doesn't support values of type: VALUE_NUMBER"
        );
        let err = CLAIM.parse(b"[]").unwrap_err();
        assert_eq!(
            reason(err),
            "[1:1] [connector_sync_job_claim_request] Expected START_OBJECT but was: START_ARRAY"
        );
    }

    #[test]
    fn required_fields_are_named() {
        let err = CLAIM.parse(b"{}").unwrap_err();
        assert_eq!(err.type_name(), "illegal_argument_exception");
        assert_eq!(reason(err), "Required [worker_hostname]");
    }

    #[test]
    fn numbers_in_strings_must_read_as_numbers() {
        const STATS: BodyParser = BodyParser {
            name: "stats",
            fields: &[("count", Kind::Long)],
            required: &[],
        };
        assert_eq!(
            STATS.parse(br#"{"count": "12"}"#).unwrap().long("count"),
            Some(12)
        );
        let err = STATS.parse(br#"{"count": "x"}"#).unwrap_err();
        let body = err.body();
        assert_eq!(
            body["error"]["reason"],
            "[1:11] [stats] failed to parse field [count]"
        );
        assert_eq!(body["error"]["caused_by"]["reason"], "For input string: \"x\"");
    }

    const INNER: Nested = Nested {
        parser: BodyParser {
            name: "inner",
            fields: &[("a", Kind::Bool), ("b", Kind::Str), ("tags", Kind::StrArray)],
            required: &["a", "b"],
        },
        lenient: true,
        build: Some(|fields| match fields.str("b") {
            Some("bad") => Err(ApiError::new(ErrorType::IllegalArgument, "b is bad")),
            _ => Ok(()),
        }),
    };

    const OUTER: BodyParser = BodyParser {
        name: "outer",
        fields: &[
            ("one", Kind::Nested(&INNER)),
            ("many", Kind::NestedArray(&INNER)),
            ("map", Kind::NestedMap(&INNER)),
            (
                "level",
                Kind::Checked(&Kind::Str, |value| match value.value {
                    JsonValue::String(ref text) if text == "low" || text == "high" => Ok(()),
                    _ => Err(ApiError::new(ErrorType::IllegalArgument, "Unknown Level")),
                }),
            ),
        ],
        required: &[],
    };

    fn chain(err: &ApiError) -> Vec<String> {
        let mut reasons = Vec::new();
        let mut error = err.body()["error"].clone();
        while error.is_object() {
            reasons.push(error["reason"].as_str().unwrap().to_owned());
            error = error["caused_by"].clone();
        }
        reasons
    }

    #[test]
    fn nested_objects_are_read_by_their_own_parser_and_failures_wrapped_where_they_surfaced() {
        assert!(OUTER
            .parse(br#"{"one": {"a": true, "b": "x", "extra": 1}, "many": [{"a": "false", "b": "y", "tags": ["t", 1]}], "map": {"k": {"a": true, "b": "z"}}, "level": "low"}"#)
            .is_ok());
        let err = OUTER.parse(br#"{"one":{"a":true}}"#).unwrap_err();
        assert_eq!(
            chain(&err),
            ["[1:17] [outer] failed to parse field [one]", "Required [b]"]
        );
        assert_eq!(
            err.body()["error"]["root_cause"][0]["reason"],
            "[1:17] [outer] failed to parse field [one]"
        );
        let err = OUTER
            .parse(br#"{"many":[{"a":true,"b":"x"},{"a":1}]}"#)
            .unwrap_err();
        assert_eq!(
            chain(&err),
            [
                "[1:34] [outer] failed to parse field [many]",
                "[1:34] [inner] a doesn't support values of type: VALUE_NUMBER"
            ]
        );
        assert_eq!(
            err.body()["error"]["root_cause"][0]["reason"],
            "[1:34] [inner] a doesn't support values of type: VALUE_NUMBER"
        );
        let err = OUTER.parse(br#"{"map":{"k":{"b":"bad","a":true}}}"#).unwrap_err();
        assert_eq!(
            chain(&err),
            [
                "[1:28] [outer] failed to parse field [map]",
                "[1:28] [inner] failed to parse field [a]",
                "Failed to build [inner] after last required field arrived",
                "b is bad"
            ]
        );
        assert_eq!(
            err.body()["error"]["root_cause"][0]["reason"],
            "Failed to build [inner] after last required field arrived"
        );
        let err = OUTER.parse(br#"{"map":{"k":"v"}}"#).unwrap_err();
        assert_eq!(
            chain(&err)[1],
            "[1:13] [inner] Expected START_OBJECT but was: VALUE_STRING"
        );
        let err = OUTER.parse(br#"{"level":"mid"}"#).unwrap_err();
        assert_eq!(
            chain(&err),
            ["[1:10] [outer] failed to parse field [level]", "Unknown Level"]
        );
        let err = OUTER.parse(br#"{"level":5}"#).unwrap_err();
        assert_eq!(
            chain(&err),
            ["[1:10] [outer] level doesn't support values of type: VALUE_NUMBER"]
        );
        let err = OUTER
            .parse(br#"{"one":{"a":true,"b":"x","tags":[{}]}}"#)
            .unwrap_err();
        assert_eq!(chain(&err)[1], "[1:33] [inner] failed to parse field [tags]");
        assert_eq!(
            err.body()["error"]["caused_by"]["caused_by"]["type"],
            "illegal_state_exception"
        );
    }

    #[test]
    fn parameters_are_checked_and_typed() {
        let params = Params::parse("/p", "from=5&hard&x=false", &["from", "hard", "x"]).unwrap();
        assert_eq!(params.int("from", 0).unwrap(), 5);
        assert!(params.bool("hard", false).unwrap());
        assert!(!params.bool("x", true).unwrap());
        assert!(params.int("size", 100).is_ok());
        let err = Params::parse("/p", "nope=1", &["from"]).unwrap_err();
        assert_eq!(
            reason(err),
            "request [/p] contains unrecognized parameter: [nope]"
        );
        let err = Params::parse("/p", "from=x", &["from"])
            .unwrap()
            .int("from", 0)
            .unwrap_err();
        assert_eq!(reason(err), "Failed to parse int parameter [from] with value [x]");
    }
}
