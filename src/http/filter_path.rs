//! `filter_path`, the response filter every Elasticsearch API takes: comma-separated dotted
//! paths, each segment a name with `*` wildcards, `**` for any number of levels, and a leading `-`
//! for a path to leave out. Arrays are looked through: a path applies to each element.
//!
//! As Elasticsearch filters: the paths to keep are applied first, then the ones to leave out. An
//! object or array that had content and has none left after filtering is dropped; one that was
//! empty to begin with stays when paths are left out, and is dropped when paths are kept (unless
//! a path names it whole). The answer itself is always written, `{}` when nothing is left.
//! Elasticsearch does not filter error answers.

use serde_json::{Map, Value};

/// The filters of one `filter_path` value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FilterPath {
    include: Vec<Vec<String>>,
    exclude: Vec<Vec<String>>,
}

impl FilterPath {
    /// Reads the parameter's value; `None` when it names no path.
    pub(super) fn parse(value: &str) -> Option<Self> {
        let mut filters = Self::default();
        for path in value.split(',').map(str::trim).filter(|path| !path.is_empty()) {
            let (into, path) = match path.strip_prefix('-') {
                Some(path) => (&mut filters.exclude, path),
                None => (&mut filters.include, path),
            };
            let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
            if segments.iter().all(|segment| !segment.is_empty()) {
                into.push(segments);
            }
        }
        (!filters.include.is_empty() || !filters.exclude.is_empty()).then_some(filters)
    }

    /// The `filter_path` of a query string, if any.
    pub(super) fn from_query(query: &str) -> Option<Self> {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "filter_path")
            .and_then(|(_, value)| Self::parse(&value))
    }

    /// `answer` filtered.
    pub(super) fn apply(&self, answer: Value) -> Value {
        let mut answer = answer;
        if !self.include.is_empty() {
            let states: Vec<&[String]> = self.include.iter().map(Vec::as_slice).collect();
            answer = root(filter(answer, &states, true));
        }
        if !self.exclude.is_empty() {
            let states: Vec<&[String]> = self.exclude.iter().map(Vec::as_slice).collect();
            answer = root(filter(answer, &states, false));
        }
        answer
    }
}

/// The answer is always written: nothing left is `{}`.
fn root(filtered: Option<Value>) -> Value {
    filtered.unwrap_or_else(|| Value::Object(Map::new()))
}

/// What is left of `value` under the filters' remaining segments (`states`, none of them empty);
/// `None` when nothing is. `keep`: the paths name what to keep, otherwise what to leave out.
fn filter(value: Value, states: &[&[String]], keep: bool) -> Option<Value> {
    match value {
        Value::Object(map) => {
            let was_empty = map.is_empty();
            let mut left = Map::new();
            for (key, child) in map {
                let (whole, deeper) = advance(states, &key);
                let kept = match (whole, keep) {
                    (true, true) => Some(child),
                    (true, false) => None,
                    (false, _) if deeper.is_empty() => (!keep).then_some(child),
                    (false, _) => filter(child, &deeper, keep),
                };
                if let Some(kept) = kept {
                    left.insert(key, kept);
                }
            }
            (!left.is_empty() || (was_empty && !keep)).then_some(Value::Object(left))
        }
        Value::Array(items) => {
            let was_empty = items.is_empty();
            let left: Vec<Value> = items
                .into_iter()
                .filter_map(|item| filter(item, states, keep))
                .collect();
            (!left.is_empty() || (was_empty && !keep)).then_some(Value::Array(left))
        }
        // A value where the paths go on below it: a path to keep does not reach it, a path to
        // leave out does not name it.
        scalar => (!keep).then_some(scalar),
    }
}

/// Moves each filter past `key`: whether one of them ends here (it names `key` whole), and the
/// filters that go on below `key`.
fn advance<'a>(states: &[&'a [String]], key: &str) -> (bool, Vec<&'a [String]>) {
    let mut whole = false;
    let mut deeper: Vec<&'a [String]> = Vec::new();
    for state in states {
        let mut pending = vec![*state];
        while let Some(state) = pending.pop() {
            let Some((first, rest)) = state.split_first() else {
                // Reached through a trailing `**`: everything from here down.
                whole = true;
                continue;
            };
            let next = if first == "**" {
                // `**` is any number of levels: none (the rest applies to this key), or this one
                // and maybe more (it stays for the levels below).
                pending.push(rest);
                state
            } else if matches(first, key) {
                rest
            } else {
                continue;
            };
            if next.is_empty() {
                whole = true;
            } else if !deeper.contains(&next) {
                deeper.push(next);
            }
        }
    }
    (whole, deeper)
}

/// Whether `name` fits `pattern`, where `*` stands for any run of characters.
fn matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filtered(paths: &str, value: Value) -> Value {
        FilterPath::parse(paths).unwrap().apply(value)
    }

    #[test]
    fn paths_keep_what_they_name() {
        let connector = json!({"id": "c", "name": "n", "status": "connected", "scheduling": {"full": {"enabled": true, "interval": "x"}}});
        assert_eq!(
            filtered("name,status", connector.clone()),
            json!({"name": "n", "status": "connected"})
        );
        assert_eq!(
            filtered("scheduling.full.enabled", connector.clone()),
            json!({"scheduling": {"full": {"enabled": true}}})
        );
        assert_eq!(filtered("nothing", connector.clone()), json!({}));
        assert_eq!(
            filtered("sched*.*.interval", connector),
            json!({"scheduling": {"full": {"interval": "x"}}})
        );
    }

    #[test]
    fn arrays_are_looked_through() {
        let list = json!({"count": 2, "results": [{"id": "a", "x": 1}, {"id": "b"}, {"y": 2}]});
        assert_eq!(
            filtered("results.id", list.clone()),
            json!({"results": [{"id": "a"}, {"id": "b"}]})
        );
        assert_eq!(
            filtered("-results.x,-count", list),
            json!({"results": [{"id": "a"}, {"id": "b"}, {"y": 2}]})
        );
    }

    #[test]
    fn double_wildcards_cross_any_number_of_levels() {
        let value = json!({"id": 1, "a": {"id": 2, "b": {"id": 3, "c": 4}}});
        assert_eq!(
            filtered("**.id", value.clone()),
            json!({"id": 1, "a": {"id": 2, "b": {"id": 3}}})
        );
        assert_eq!(filtered("a.**.c", value.clone()), json!({"a": {"b": {"c": 4}}}));
        assert_eq!(
            filtered("a.b.**", value.clone()),
            json!({"a": {"b": {"id": 3, "c": 4}}})
        );
        assert_eq!(filtered("-**.id", value), json!({"a": {"b": {"c": 4}}}));
    }

    #[test]
    fn exclusions_apply_after_inclusions_and_empty_containers_follow_elasticsearch() {
        let value = json!({"a": {"b": 1, "c": 2}, "d": {}, "e": [], "f": {"g": 1}});
        assert_eq!(filtered("a,-a.b", value.clone()), json!({"a": {"c": 2}}));
        // Emptied by the filter: gone. Empty to begin with: kept when leaving out, gone when
        // keeping (unless named whole).
        assert_eq!(
            filtered("-f.g", value.clone()),
            json!({"a": {"b": 1, "c": 2}, "d": {}, "e": []})
        );
        assert_eq!(filtered("d,e", value.clone()), json!({"d": {}, "e": []}));
        assert_eq!(filtered("d.x", value), json!({}));
    }

    #[test]
    fn an_empty_or_blank_filter_path_filters_nothing() {
        assert_eq!(FilterPath::parse(""), None);
        assert_eq!(FilterPath::parse(" , "), None);
        assert!(FilterPath::from_query("pretty&filter_path=a%2Cb").is_some());
        assert!(matches("a*c", "abc") && matches("*", "") && !matches("a*c", "ab"));
    }
}
