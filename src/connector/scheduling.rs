//! Sync schedules: the three a connector has, each enabled or not with a cron interval, as
//! Elasticsearch reads and writes them.

use serde_json::{json, Map, Value};

use super::cron;
use super::requests::UpdateScheduling;

/// The kinds of sync a connector schedules, in the order Elasticsearch writes them.
pub(crate) const KINDS: [&str; 3] = ["access_control", "full", "incremental"];

/// Daily at midnight: every schedule of a new connector, disabled.
const EVERY_DAY_AT_MIDNIGHT: &str = "0 0 0 * * ?";

pub(crate) fn default_scheduling() -> Value {
    let schedule = json!({"enabled": false, "interval": EVERY_DAY_AT_MIDNIGHT});
    KINDS
        .iter()
        .map(|kind| ((*kind).to_owned(), schedule.clone()))
        .collect::<Map<String, Value>>()
        .into()
}

/// The schedules of `_scheduling` as Elasticsearch writes them: only those given, each interval
/// upper-cased.
pub(crate) fn scheduling(given: &UpdateScheduling) -> Map<String, Value> {
    KINDS
        .iter()
        .zip([&given.access_control, &given.full, &given.incremental])
        .filter_map(|(kind, schedule)| {
            let schedule = schedule.as_ref()?;
            let interval = cron::normalize(&schedule.interval);
            Some((
                (*kind).to_owned(),
                json!({"enabled": schedule.enabled, "interval": interval}),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::requests::Schedule;

    #[test]
    fn only_given_schedules_are_written_upper_cased() {
        let written = scheduling(&UpdateScheduling {
            full: Some(Schedule {
                enabled: true,
                interval: "0 0 0 ? * mon".into(),
            }),
            ..UpdateScheduling::default()
        });
        assert_eq!(
            Value::Object(written),
            json!({"full": {"enabled": true, "interval": "0 0 0 ? * MON"}})
        );
        assert_eq!(default_scheduling()["incremental"]["interval"], "0 0 0 * * ?");
    }
}
