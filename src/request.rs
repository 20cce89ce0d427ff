//! Reading requests the way Elasticsearch reads them: bodies through declared parsers (a field
//! table per request, as Elasticsearch's `ObjectParser`s), query parameters by name and type,
//! and the same error for each mistake.

use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorType};
use crate::json::{self, Json, JsonValue, Location};

/// The token types a field accepts, and how its value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl Kind {
    fn accepts(self, value: &Json) -> bool {
        use JsonValue::*;
        matches!(
            (self, &value.value),
            (Self::Any, _)
                | (Self::Str | Self::StrOrNull, String(_))
                | (Self::StrOrNull | Self::ObjectOrNull, Null)
                | (Self::Long, Number(_) | String(_))
                | (Self::Bool, Bool(_) | String(_))
                | (Self::Object | Self::ObjectOrNull, Object(_))
                | (Self::Array, Array(_))
                | (Self::StrOrObject, String(_) | Object(_))
        )
    }
}

/// One request body's declared fields, as an Elasticsearch `ObjectParser`: `name` is the parser
/// name Elasticsearch prints in its errors.
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

impl BodyParser {
    /// Reads `bytes` (which must hold one JSON object) against the declared fields.
    pub fn parse(&self, bytes: &[u8]) -> Result<Fields, ApiError> {
        let doc = read_json(bytes)?;
        self.parse_json(doc)
    }

    pub fn parse_json(&self, doc: Json) -> Result<Fields, ApiError> {
        let JsonValue::Object(entries) = doc.value else {
            return Err(parse_error(
                doc.at,
                format!("[{}] Expected START_OBJECT but was: {}", self.name, doc.token()),
            ));
        };
        let mut values = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Some((name, kind)) = self.fields.iter().find(|(name, _)| *name == key.name) else {
                return Err(parse_error(
                    key.at,
                    format!(
                        "[{}] unknown field [{}]{}",
                        self.name,
                        key.name,
                        suggestion(&key.name, self.fields.iter().map(|(name, _)| *name))
                    ),
                ));
            };
            if !kind.accepts(&value) {
                return Err(parse_error(
                    value.at,
                    format!(
                        "[{}] {name} doesn't support values of type: {}",
                        self.name,
                        value.token()
                    ),
                ));
            }
            check_scalar(self.name, name, *kind, &value)?;
            values.push((*name, value));
        }
        let missing: Vec<&str> = self
            .required
            .iter()
            .copied()
            .filter(|name| !values.iter().any(|(have, _)| have == name))
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::new(
                ErrorType::IllegalArgument,
                format!("Required [{}]", missing.join(", ")),
            ));
        }
        Ok(Fields { values })
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

    pub fn long(&self, name: &str) -> Option<i64> {
        match &self.get(name)?.value {
            JsonValue::Number(number) => number.as_i64().or_else(|| number.as_f64().map(|f| f as i64)),
            JsonValue::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match &self.get(name)?.value {
            JsonValue::Bool(value) => Some(*value),
            JsonValue::String(text) => Some(text == "true"),
            _ => None,
        }
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

/// A body as JSON, or Elasticsearch's parse error.
pub fn read_json(bytes: &[u8]) -> Result<Json, ApiError> {
    json::parse(bytes).map_err(|err| parse_error(err.at, err.message))
}

pub fn parse_error(at: Location, message: String) -> ApiError {
    ApiError::new(ErrorType::XContentParse, format!("{at} {message}"))
}

/// Elasticsearch's hint for a misspelt field: the declared names close to it.
fn suggestion<'a>(unknown: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let mut close: Vec<(f64, &str)> = candidates
        .map(|candidate| (similarity(unknown, candidate), candidate))
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

/// 1 minus the edit distance over the longer length (Lucene's `LevenshteinDistance`).
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    1.0 - previous[b.len()] as f64 / longest as f64
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
