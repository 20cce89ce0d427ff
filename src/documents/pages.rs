//! Documents as the APIs answer them: one with its id, or a page of search hits.

use serde_json::{json, Map, Value};

use super::Source;

/// A stored document as the API answers it: `id` first, then the stored fields.
pub fn with_id(id: &str, source: Source) -> Value {
    let mut answer = Map::with_capacity(source.len() + 1);
    answer.insert("id".into(), id.into());
    answer.extend(source);
    Value::Object(answer)
}

/// A search answer as a list page: the total number of hits and each document with its id; a
/// missing index is an empty page.
pub fn page(hits: Option<Value>) -> Value {
    let Some(hits) = hits else {
        return json!({"count": 0, "results": []});
    };
    let results: Vec<Value> = hits["hits"]["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .map(|hit| {
                    let source = hit["_source"].as_object().cloned().unwrap_or_default();
                    with_id(hit["_id"].as_str().unwrap_or_default(), source)
                })
                .collect()
        })
        .unwrap_or_default();
    json!({ "count": hits["hits"]["total"]["value"], "results": results })
}
