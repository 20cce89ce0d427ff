//! Logging through env_logger (`RUST_LOG`), as plain lines or as one JSON object per line.

use std::io::Write;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use log::kv::{Error, Key, Value as KvValue, VisitSource};
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

/// One record as a JSON object: timestamp, level, target, message, and the record's key-values
/// (a request line carries method, path, status and latency_ms).
pub fn json_line(record: &log::Record<'_>) -> String {
    let mut line = Map::new();
    line.insert(
        "timestamp".into(),
        Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true).into(),
    );
    line.insert("level".into(), record.level().as_str().into());
    line.insert("target".into(), record.target().into());
    line.insert("message".into(), record.args().to_string().into());
    let _ = record.key_values().visit(&mut Fields(&mut line));
    Value::Object(line).to_string()
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: KvValue<'kvs>) -> Result<(), Error> {
        let value = if let Some(number) = value.to_u64() {
            Value::from(number)
        } else if let Some(number) = value.to_f64() {
            serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)
        } else {
            Value::from(value.to_string())
        };
        self.0.insert(key.as_str().to_owned(), value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_record_becomes_one_json_object_with_its_fields() {
        let fields: [(&str, KvValue<'_>); 3] = [
            ("method", KvValue::from("PUT")),
            ("status", KvValue::from(404u16)),
            ("latency_ms", KvValue::from(1.5f64)),
        ];
        let record = log::Record::builder()
            .args(format_args!("PUT /x 404 1.500ms"))
            .level(log::Level::Info)
            .target("connector_sync_proxy::request")
            .key_values(&fields)
            .build();

        let line: Value = serde_json::from_str(&json_line(&record)).unwrap();

        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "PUT /x 404 1.500ms");
        assert_eq!(line["method"], "PUT");
        assert_eq!(line["status"], 404);
        assert_eq!(line["latency_ms"], 1.5);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
