//! Logging through env_logger (`RUST_LOG`), as plain lines or as one Elastic Common Schema (ECS)
//! JSON object per line (`--log-format json`), which Filebeat and Elastic Agent ship as they are.

use std::io::Write;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use log::kv::{Error, Key, Value as KvValue, VisitSource, VisitValue};
use serde_json::{Map, Value};

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    // Plain lines: no colours to write, and none to strip again when the log is not a terminal.
    builder.write_style(env_logger::WriteStyle::Never);
    builder.target(env_logger::Target::Pipe(Box::new(Batched::start())));
    // A panic's message goes after the lines logged before it.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        flush();
        report(info);
    }));
    if format == LogFormat::Json {
        builder.format(|buf, record| writeln!(buf, "{}", json_line(record)));
    }
    builder.init();
}

/// How long a log line may wait to be written; a full buffer is written at once.
const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
const FLUSH_SIZE: usize = 32 * 1024;

/// The lines logged but not written yet.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Log lines gathered and written to stderr together, every `FLUSH_INTERVAL` or when
/// `FLUSH_SIZE` is reached, by a thread of its own: a request's log line would otherwise be a
/// system call of its own (measured at 6-14% of a request's CPU at concurrency 64). `flush`
/// writes what is pending; the service calls it before it exits.
pub struct Batched;

impl Batched {
    fn start() -> Self {
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(|| loop {
                std::thread::sleep(FLUSH_INTERVAL);
                flush();
            })
            .expect("the log writer thread starts");
        Self
    }
}

impl Write for Batched {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut pending = PENDING.lock().unwrap_or_else(PoisonError::into_inner);
            pending.extend_from_slice(bytes);
            pending.len() >= FLUSH_SIZE
        };
        if full {
            flush();
        }
        Ok(bytes.len())
    }

    /// env_logger flushes after every line; the lines wait for the writer thread instead.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes every pending log line to stderr.
pub fn flush() {
    let lines = std::mem::take(&mut *PENDING.lock().unwrap_or_else(PoisonError::into_inner));
    if !lines.is_empty() {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(&lines);
        let _ = stderr.flush();
    }
}

/// The version of the Elastic Common Schema the JSON lines follow: the one Elastic's own ECS
/// loggers write, so that Filebeat and Elastic Agent read the lines as theirs.
pub const ECS_VERSION: &str = "1.6.0";
const SERVICE_NAME: &str = env!("CARGO_PKG_NAME");
const SERVICE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One record as an ECS log line (the ECS logging specification): `@timestamp`, `log.level` and
/// `message` first, then `ecs.version`, `log.logger` (the record's target), `service.name` and
/// `service.version`, then the record's key-values under their ECS names (a request line's are
/// those of `RequestLine`). Keys are dotted, as the ECS loggers write them; a key-value without
/// a value (`None`) is left out.
///
/// Written by hand: the one ECS crate for `log` (ecs-logger) drops a record's key-values, pins
/// another ECS version and brings a second env_logger.
pub fn json_line(record: &log::Record<'_>) -> String {
    let mut line = Map::new();
    line.insert(
        "@timestamp".into(),
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true).into(),
    );
    line.insert("log.level".into(), record.level().as_str().into());
    line.insert("message".into(), record.args().to_string().into());
    line.insert("ecs.version".into(), ECS_VERSION.into());
    line.insert("log.logger".into(), record.target().into());
    line.insert("service.name".into(), SERVICE_NAME.into());
    line.insert("service.version".into(), SERVICE_VERSION.into());
    let _ = record.key_values().visit(&mut Fields(&mut line));
    Value::Object(line).to_string()
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: KvValue<'kvs>) -> Result<(), Error> {
        let mut json = Json(None);
        value.visit(&mut json)?;
        if let Some(value) = json.0 {
            self.0.insert(key.as_str().to_owned(), value);
        }
        Ok(())
    }
}

/// A key-value's value as JSON: numbers, booleans and strings as such, anything else as its
/// text, and nothing for a null.
struct Json(Option<Value>);

impl<'v> VisitValue<'v> for Json {
    fn visit_any(&mut self, value: KvValue<'_>) -> Result<(), Error> {
        self.0 = Some(value.to_string().into());
        Ok(())
    }

    fn visit_null(&mut self) -> Result<(), Error> {
        self.0 = None;
        Ok(())
    }

    fn visit_u64(&mut self, value: u64) -> Result<(), Error> {
        self.0 = Some(value.into());
        Ok(())
    }

    fn visit_i64(&mut self, value: i64) -> Result<(), Error> {
        self.0 = Some(value.into());
        Ok(())
    }

    fn visit_f64(&mut self, value: f64) -> Result<(), Error> {
        self.0 = Some(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number));
        Ok(())
    }

    fn visit_bool(&mut self, value: bool) -> Result<(), Error> {
        self.0 = Some(value.into());
        Ok(())
    }

    fn visit_str(&mut self, value: &str) -> Result<(), Error> {
        self.0 = Some(value.into());
        Ok(())
    }
}

/// One answered request, as the service's own routes and the pass-through log it: what the ECS
/// fields of its line are made of. Never a body, a query string or a header other than
/// `X-Opaque-Id` and `traceparent`.
pub struct RequestLine<'a> {
    pub method: &'a str,
    /// The path, without the query string.
    pub path: &'a str,
    pub status: u16,
    pub took: Duration,
    pub client: Option<IpAddr>,
    /// The caller's `X-Opaque-Id`, which Elasticsearch also takes as the request's id.
    pub opaque_id: Option<&'a str>,
    /// The caller's W3C `traceparent`; a malformed one is left out.
    pub traceparent: Option<&'a str>,
    /// The error answered, as its Elasticsearch type and reason.
    pub error: Option<(&'a str, &'a str)>,
}

impl RequestLine<'_> {
    /// Logs the line at info level to `target`, with `message` as the plain format's text.
    pub fn log(&self, target: &str, message: std::fmt::Arguments<'_>) {
        let nanos = u64::try_from(self.took.as_nanos()).unwrap_or(u64::MAX);
        // Formatted only by the JSON format; the plain one leaves key-values out.
        let client = self.client.as_ref().map(KvValue::from_display);
        let (trace_id, span_id) = self.traceparent.and_then(trace_context).unzip();
        let (error_type, error_message) = self.error.unzip();
        log::info!(
            target: target,
            "http.request.method" = self.method,
            "url.path" = self.path,
            "http.response.status_code" = self.status,
            "event.duration" = nanos,
            "client.address" = client,
            "http.request.id" = self.opaque_id,
            "trace.id" = trace_id,
            "span.id" = span_id,
            "error.type" = error_type,
            "error.message" = error_message;
            "{message}"
        );
    }
}

/// The trace id and the caller's span id of a W3C `traceparent` (`version-traceid-parentid-flags`,
/// lowercase hex), or nothing when it is malformed. Versions after 00 may add fields after these.
pub fn trace_context(traceparent: &str) -> Option<(&str, &str)> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace_id, span_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |field: &str, len: usize| {
        field.len() == len
            && field
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let zero = |field: &str| field.bytes().all(|b| b == b'0');
    let valid = hex(version, 2)
        && version != "ff"
        && (version != "00" || parts.next().is_none())
        && hex(trace_id, 32)
        && !zero(trace_id)
        && hex(span_id, 16)
        && !zero(span_id)
        && hex(flags, 2);
    valid.then_some((trace_id, span_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(fields: &[(&str, KvValue<'_>)]) -> Value {
        let record = log::Record::builder()
            .args(format_args!("PUT /x 404 1.500ms"))
            .level(log::Level::Info)
            .target("connector_sync_proxy::request")
            .key_values(&fields)
            .build();
        serde_json::from_str(&json_line(&record)).unwrap()
    }

    #[test]
    fn a_record_becomes_an_ecs_line_with_the_required_fields_first() {
        let line = logged(&[]);

        let keys: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys[..3], ["@timestamp", "log.level", "message"]);
        assert_eq!(line["log.level"], "INFO");
        assert_eq!(line["message"], "PUT /x 404 1.500ms");
        assert_eq!(line["ecs.version"], "1.6.0");
        assert_eq!(line["log.logger"], "connector_sync_proxy::request");
        assert_eq!(line["service.name"], "connector-sync-proxy");
        assert_eq!(line["service.version"], env!("CARGO_PKG_VERSION"));
        let timestamp = line["@timestamp"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
            "{timestamp}"
        );
        assert!(timestamp.ends_with('Z'), "{timestamp}");
    }

    #[test]
    fn key_values_keep_their_json_kind_and_a_missing_one_is_left_out() {
        let none: Option<&str> = None;
        let line = logged(&[
            ("http.request.method", KvValue::from("PUT")),
            ("http.response.status_code", KvValue::from(404u16)),
            ("event.duration", KvValue::from(1_500_000u64)),
            ("ratio", KvValue::from(1.5f64)),
            ("http.request.id", log::kv::ToValue::to_value(&none)),
        ]);

        assert_eq!(line["http.request.method"], "PUT");
        assert_eq!(line["http.response.status_code"], 404);
        assert_eq!(line["event.duration"], 1_500_000);
        assert_eq!(line["ratio"], 1.5);
        assert!(line.get("http.request.id").is_none(), "{line}");
    }

    #[test]
    fn a_traceparent_gives_the_trace_and_the_callers_span() {
        let valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        assert_eq!(
            trace_context(valid),
            Some(("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"))
        );
        // A later version may carry more fields after the flags.
        assert!(trace_context("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x").is_some());
        for malformed in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033zz-01",
        ] {
            assert_eq!(trace_context(malformed), None, "{malformed}");
        }
    }
}
