//! New document ids in Elasticsearch's form: 20 URL-safe base64 characters encoding 15 bytes of
//! a sequence number, a millisecond timestamp and a per-process random node part, so that ids
//! sort roughly by time and never repeat within a process.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A random part for this process, from the standard library's randomly seeded hasher.
fn node() -> [u8; 6] {
    static NODE: OnceLock<[u8; 6]> = OnceLock::new();
    *NODE.get_or_init(|| {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let bytes = hasher.finish().to_be_bytes();
        [bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]]
    })
}

pub(crate) fn base64_uuid() -> String {
    static SEQUENCE: OnceLock<AtomicU32> = OnceLock::new();
    let sequence = SEQUENCE
        .get_or_init(|| AtomicU32::new(u32::from(node()[5]) << 8))
        .fetch_add(1, Ordering::Relaxed);
    let millis = chrono::Utc::now().timestamp_millis() as u64;
    let node = node();
    let bytes: [u8; 15] = [
        sequence as u8,
        (sequence >> 16) as u8,
        (millis >> 16) as u8,
        (millis >> 24) as u8,
        (millis >> 32) as u8,
        (millis >> 40) as u8,
        node[0],
        node[1],
        node[2],
        node[3],
        node[4],
        node[5],
        (millis >> 8) as u8,
        (sequence >> 8) as u8,
        millis as u8,
    ];
    let mut id = String::with_capacity(20);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
        for shift in [18, 12, 6, 0] {
            id.push(ALPHABET[((n >> shift) & 63) as usize] as char);
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_elasticsearchs_form_and_never_repeat() {
        let ids: Vec<String> = (0..10_000).map(|_| base64_uuid()).collect();
        assert!(ids
            .iter()
            .all(|id| id.len() == 20 && id.bytes().all(|b| ALPHABET.contains(&b))));
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }
}
