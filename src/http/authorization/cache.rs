//! The cluster's answers about callers, kept for `privilege_cache_ttl`: keyed by an HMAC of the
//! `Authorization` value under a key made at start-up (so neither the credentials nor anything
//! that could be checked against them offline are kept), holding only successful
//! authentications.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ring::hmac;
use ring::rand::SystemRandom;

use super::Grant;

/// More callers than this at once and the cache starts over: it bounds what a flood of
/// distinct valid credentials can make the service hold.
const MAX_ENTRIES: usize = 10_000;

/// A caller's grant and when it stops being used.
type Entry = (Instant, Arc<Grant>);

pub(super) struct Cache {
    ttl: Duration,
    key: hmac::Key,
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
}

impl Cache {
    pub(super) fn new(ttl: Duration) -> anyhow::Result<Self> {
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("the system gives no random bytes for the privilege cache's key"))?;
        Ok(Self {
            ttl,
            key,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// The key the answer for these credentials is kept under.
    pub(super) fn key(&self, credentials: &[u8]) -> Vec<u8> {
        hmac::sign(&self.key, credentials).as_ref().to_vec()
    }

    pub(super) fn get(&self, key: &[u8]) -> Option<Arc<Grant>> {
        if self.ttl.is_zero() {
            return None;
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match entries.get(key) {
            Some((expires, grant)) if *expires > Instant::now() => Some(grant.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub(super) fn put(&self, key: Vec<u8>, grant: Arc<Grant>) {
        if self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now + self.ttl, grant));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Arc<Grant> {
        Arc::new(Grant {
            caller: "user [u]".to_owned(),
            allowed: Vec::new(),
        })
    }

    #[test]
    fn keys_depend_on_the_credentials_and_hide_them() {
        let cache = Cache::new(Duration::from_secs(30)).unwrap();
        let a = cache.key(b"Basic dTpw");
        assert_eq!(a, cache.key(b"Basic dTpw"));
        assert_ne!(a, cache.key(b"Basic dTpx"));
        assert!(!a.windows(4).any(|w| w == b"dTpw"));
        // Another start, another key: nothing kept can be compared across runs.
        assert_ne!(a, Cache::new(Duration::from_secs(30)).unwrap().key(b"Basic dTpw"));
    }

    #[test]
    fn entries_live_for_the_ttl_and_zero_keeps_nothing() {
        let cache = Cache::new(Duration::from_millis(50)).unwrap();
        let key = cache.key(b"Basic x");
        cache.put(key.clone(), grant());
        assert!(cache.get(&key).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(&key).is_none());

        let off = Cache::new(Duration::ZERO).unwrap();
        let key = off.key(b"Basic x");
        off.put(key.clone(), grant());
        assert!(off.get(&key).is_none());
    }
}
