//! Timestamps as the connector documents hold them: UTC, ISO-8601, `Z`.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// The timestamp of one request: UTC with nanoseconds, strictly increasing within this process,
/// so that it also identifies the request when its answer is lost and it is sent again.
pub fn request_stamp() -> String {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last + 1))
        })
        .unwrap_or_default();
    let stamp = now.max(previous + 1);
    DateTime::<Utc>::from_timestamp_nanos(stamp).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// An instant as Elasticsearch prints one: UTC, with 3 to 9 fraction digits (trailing zeros
/// dropped down to milliseconds).
pub fn format_instant(instant: DateTime<Utc>) -> String {
    let text = instant.to_rfc3339_opts(SecondsFormat::Nanos, true);
    let (head, fraction) = text
        .trim_end_matches('Z')
        .rsplit_once('.')
        .unwrap_or((text.as_str(), "000"));
    let trimmed = fraction.trim_end_matches('0');
    let digits = if trimmed.len() < 3 {
        &fraction[..3]
    } else {
        trimmed
    };
    format!("{head}.{digits}Z")
}

/// A date as Elasticsearch reads `strict_date_optional_time||epoch_millis`: an ISO-8601 date,
/// with or without a time and a zone (UTC when none), or milliseconds since the epoch.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(with_zone) = DateTime::parse_from_rfc3339(text) {
        return Some(with_zone.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&naive));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M:%S%#z",
        "%Y-%m-%dT%H:%M%#z",
    ] {
        if let Ok(with_zone) = DateTime::parse_from_str(text, format) {
            return Some(with_zone.with_timezone(&Utc));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?));
    }
    if !text.is_empty() && text.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) {
        return DateTime::from_timestamp_millis(text.parse().ok()?);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_stamps_are_unique_and_utc() {
        let stamps: Vec<String> = (0..1000).map(|_| request_stamp()).collect();
        let unique: std::collections::BTreeSet<&String> = stamps.iter().collect();
        assert_eq!(unique.len(), stamps.len());
        assert!(
            stamps
                .iter()
                .all(|stamp| stamp.ends_with('Z') && stamp.len() == 30),
            "{}",
            stamps[0]
        );
    }

    #[test]
    fn instants_print_like_elasticsearch() {
        let at = |text: &str| format_instant(parse_date(text).unwrap());
        assert_eq!(at("2023-12-04T08:45:50.567149Z"), "2023-12-04T08:45:50.567149Z");
        assert_eq!(at("2024-01-01T00:00:00Z"), "2024-01-01T00:00:00.000Z");
        assert_eq!(at("2024-01-01T00:00:00.1234Z"), "2024-01-01T00:00:00.1234Z");
        assert_eq!(at("2024-01-01T02:00:00+02:00"), "2024-01-01T00:00:00.000Z");
        assert_eq!(at("2024-01-01"), "2024-01-01T00:00:00.000Z");
        assert_eq!(at("2024-01-01T10:11"), "2024-01-01T10:11:00.000Z");
        assert_eq!(at("1701679550567"), "2023-12-04T08:45:50.567Z");
        assert!(parse_date("yesterday").is_none());
        assert!(parse_date("").is_none());
        assert!(parse_date("2024-13-01").is_none());
    }
}
