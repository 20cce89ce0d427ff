//! Sync schedules: the three a connector has, each enabled or not with a cron interval, as
//! Elasticsearch reads and writes them.

use serde_json::{json, Map, Value};

use super::cron;
use crate::error::ApiError;
use crate::http::request::{read_bool, BodyParser, Fields, Kind, Nested};

/// The kinds of sync a connector schedules, in the order Elasticsearch writes them.
pub const KINDS: [&str; 3] = ["access_control", "full", "incremental"];

/// Daily at midnight: every schedule of a new connector, disabled.
const EVERY_DAY_AT_MIDNIGHT: &str = "0 0 0 * * ?";

/// One schedule. Elasticsearch builds its cron expression once both fields arrived, so a bad
/// expression is reported under the later of the two.
pub const SCHEDULE: Nested = Nested {
    parser: BodyParser {
        name: "schedule_config",
        fields: &[("enabled", Kind::Bool), ("interval", Kind::Str)],
        required: &["enabled", "interval"],
    },
    lenient: true,
    build: Some(build_schedule),
};

fn build_schedule(fields: &Fields) -> Result<(), ApiError> {
    cron::check(fields.str("interval").unwrap_or_default())
}

pub const SCHEDULING: Nested = Nested {
    parser: BodyParser {
        name: "connector_scheduling",
        fields: &[
            ("access_control", Kind::Nested(&SCHEDULE)),
            ("full", Kind::Nested(&SCHEDULE)),
            ("incremental", Kind::Nested(&SCHEDULE)),
        ],
        required: &[],
    },
    lenient: true,
    build: None,
};

pub fn default_scheduling() -> Value {
    let schedule = json!({"enabled": false, "interval": EVERY_DAY_AT_MIDNIGHT});
    KINDS
        .iter()
        .map(|kind| ((*kind).to_owned(), schedule.clone()))
        .collect::<Map<String, Value>>()
        .into()
}

/// The schedules of a request that passed `SCHEDULING`, as Elasticsearch writes them: only those
/// given, each interval upper-cased.
pub fn scheduling(given: &Value) -> Map<String, Value> {
    KINDS
        .iter()
        .filter_map(|kind| {
            let schedule = given.get(kind)?;
            let enabled = read_bool(&schedule["enabled"]);
            let interval = cron::normalize(schedule["interval"].as_str().unwrap_or_default());
            Some((
                (*kind).to_owned(),
                json!({"enabled": enabled, "interval": interval}),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::BodyParser;

    const REQUEST: BodyParser = BodyParser {
        name: "connector_update_scheduling_request",
        fields: &[("scheduling", Kind::Nested(&SCHEDULING))],
        required: &["scheduling"],
    };

    #[test]
    fn a_bad_interval_fails_the_build_of_its_schedule() {
        let err = REQUEST
            .parse(br#"{"scheduling":{"access_control":{"enabled":true,"interval":"61 0 0 * * ?"}}}"#)
            .unwrap_err();
        let body = err.body();
        let mut reasons = Vec::new();
        let mut error = &body["error"];
        while error.is_object() {
            reasons.push(error["reason"].as_str().unwrap());
            error = &error["caused_by"];
        }
        assert_eq!(
            reasons,
            [
                "[1:60] [connector_update_scheduling_request] failed to parse field [scheduling]",
                "[1:60] [connector_scheduling] failed to parse field [access_control]",
                "[1:60] [schedule_config] failed to parse field [interval]",
                "Failed to build [schedule_config] after last required field arrived",
                "invalid cron expression [61 0 0 * * ?]",
                "illegal cron expression format [java.lang.IllegalArgumentException: Minute and Second values must be between 0 and 59]",
            ]
        );
        assert_eq!(
            body["error"]["root_cause"][0]["reason"],
            "Failed to build [schedule_config] after last required field arrived"
        );
    }

    #[test]
    fn only_given_schedules_are_written_upper_cased() {
        let written = scheduling(&json!({"full": {"enabled": "true", "interval": "0 0 0 ? * mon"}}));
        assert_eq!(
            Value::Object(written),
            json!({"full": {"enabled": true, "interval": "0 0 0 ? * MON"}})
        );
        assert_eq!(default_scheduling()["incremental"]["interval"], "0 0 0 * * ?");
    }
}
