//! A bounded, time-limited cache of tenants' secrets in front of a
//! [`SecretStore`], kept for the life of a warm execution environment.
//!
//! An unknown tenant is cached too, for a shorter time, so that requests for
//! random tenant ids do not each cost a DynamoDB read. Errors are never
//! cached. A signature that matches no cached secret may be a delivery
//! signed with a secret added since, so the handler requests a second read,
//! which this cache allows once per [`MIN_REFRESH_INTERVAL`] per tenant.
//!
//! NOTE: a key deactivated in the table is still accepted by a warm
//! environment until its tenant's entry expires, at most the TTL later.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::signature::WebhookSecret;
use crate::store::{SecretStore, StoreError};

/// Maximum lifetime of a cached "no active secrets" result. A key created
/// for a new tenant is therefore accepted at most this long after creation.
pub const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(10);

/// Shortest time between two reads of one tenant's secrets that a signature
/// mismatch may cause, so that forged deliveries to a known tenant cost at
/// most one DynamoDB read per interval. A mismatch just before a rotation
/// uses up the interval, so a new secret can fail for up to this long.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

struct CacheEntry {
    secrets: Vec<WebhookSecret>,
    fetched_at: Instant,
    expires_at: Instant,
}

/// A [`SecretStore`] that caches another store's results.
pub struct CachedSecretStore<S> {
    inner: S,
    ttl: Duration,
    negative_ttl: Duration,
    max_entries: usize,
    min_refresh_interval: Duration,
    entries: Mutex<HashMap<String, CacheEntry>>,
}

impl<S: SecretStore> CachedSecretStore<S> {
    /// Caches `inner`'s results for `ttl` (unknown tenants for at most
    /// [`MAX_NEGATIVE_TTL`]), holding at most `max_entries` tenants. A zero
    /// `ttl` disables caching.
    pub fn new(inner: S, ttl: Duration, max_entries: usize) -> Self {
        Self {
            inner,
            ttl,
            negative_ttl: ttl.min(MAX_NEGATIVE_TTL),
            max_entries: max_entries.max(1),
            min_refresh_interval: MIN_REFRESH_INTERVAL,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the shortest time between mismatch-driven reads of one tenant.
    pub fn with_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// Number of tenants cached, expired entries included until they are
    /// evicted.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no tenant is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CacheEntry>> {
        // A panic while the lock was held leaves a map that is still valid.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached(&self, tenant_id: &str, now: Instant) -> Option<Vec<WebhookSecret>> {
        let entries = self.lock();
        let entry = entries.get(tenant_id)?;
        (entry.expires_at > now).then(|| entry.secrets.clone())
    }

    fn insert(&self, tenant_id: &str, secrets: Vec<WebhookSecret>, now: Instant) {
        let ttl = if secrets.is_empty() {
            self.negative_ttl
        } else {
            self.ttl
        };
        let mut entries = self.lock();
        if !entries.contains_key(tenant_id) && entries.len() >= self.max_entries {
            evict(&mut entries, now);
        }
        let expires_at = now + ttl;
        entries.insert(
            tenant_id.to_owned(),
            CacheEntry {
                secrets,
                fetched_at: now,
                expires_at,
            },
        );
    }

    /// True when `tenant_id` has a live entry read at least the minimum
    /// refresh interval ago. Claims the refresh by restarting the interval,
    /// so that concurrent mismatches cause one read.
    fn claim_refresh(&self, tenant_id: &str, now: Instant) -> bool {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(tenant_id) else {
            return false;
        };
        let due = entry.expires_at > now
            && now.saturating_duration_since(entry.fetched_at) >= self.min_refresh_interval;
        if due {
            entry.fetched_at = now;
        }
        due
    }
}

/// Removes every expired entry, or when none has expired, the entry that
/// expires first.
fn evict(entries: &mut HashMap<String, CacheEntry>, now: Instant) {
    let before = entries.len();
    entries.retain(|_, entry| entry.expires_at > now);
    if entries.len() < before {
        return;
    }
    let first_to_expire = entries
        .iter()
        .min_by_key(|(_, entry)| entry.expires_at)
        .map(|(tenant_id, _)| tenant_id.clone());
    if let Some(tenant_id) = first_to_expire {
        entries.remove(&tenant_id);
    }
}

impl<S: SecretStore> SecretStore for CachedSecretStore<S> {
    async fn active_secrets(&self, tenant_id: &str) -> Result<Vec<WebhookSecret>, StoreError> {
        if self.ttl.is_zero() {
            return self.inner.active_secrets(tenant_id).await;
        }

        if let Some(secrets) = self.cached(tenant_id, Instant::now()) {
            return Ok(secrets);
        }

        let secrets = self.inner.active_secrets(tenant_id).await?;
        self.insert(tenant_id, secrets.clone(), Instant::now());
        Ok(secrets)
    }

    async fn refreshed_secrets(
        &self,
        tenant_id: &str,
    ) -> Result<Option<Vec<WebhookSecret>>, StoreError> {
        if self.ttl.is_zero() || !self.claim_refresh(tenant_id, Instant::now()) {
            return Ok(None);
        }

        let secrets = self.inner.active_secrets(tenant_id).await?;
        self.insert(tenant_id, secrets.clone(), Instant::now());
        Ok(Some(secrets))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::InMemorySecretStore;

    /// An in-memory store that counts lookups, and fails them on request.
    struct CountingStore {
        inner: InMemorySecretStore,
        lookups: AtomicUsize,
        failing: bool,
    }

    impl CountingStore {
        fn new(failing: bool) -> Self {
            let secret = WebhookSecret::new("whsec_0123456789abcdef0123456789abcdef".to_owned());
            Self {
                inner: InMemorySecretStore::new().with_secret("acme", secret),
                lookups: AtomicUsize::new(0),
                failing,
            }
        }
    }

    impl SecretStore for CountingStore {
        async fn active_secrets(&self, tenant_id: &str) -> Result<Vec<WebhookSecret>, StoreError> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            if self.failing {
                return Err(StoreError::Unavailable("connection refused".to_owned()));
            }
            self.inner.active_secrets(tenant_id).await
        }
    }

    fn lookups(cache: &CachedSecretStore<CountingStore>) -> usize {
        cache.inner.lookups.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn known_tenant_is_read_once() {
        let cache = CachedSecretStore::new(CountingStore::new(false), Duration::from_secs(60), 10);

        let first = cache.active_secrets("acme").await.unwrap();
        let second = cache.active_secrets("acme").await.unwrap();

        assert_eq!(first.len(), 1);
        assert_eq!(first, second);
        assert_eq!(lookups(&cache), 1);
    }

    #[tokio::test]
    async fn unknown_tenant_is_cached() {
        let cache = CachedSecretStore::new(CountingStore::new(false), Duration::from_secs(60), 10);

        cache.active_secrets("nobody").await.unwrap();
        let second = cache.active_secrets("nobody").await.unwrap();

        assert!(second.is_empty());
        assert_eq!(lookups(&cache), 1);
        assert_eq!(cache.negative_ttl, MAX_NEGATIVE_TTL);
    }

    #[tokio::test]
    async fn expired_entry_is_read_again() {
        let ttl = Duration::from_millis(50);
        let cache = CachedSecretStore::new(CountingStore::new(false), ttl, 10);

        cache.active_secrets("acme").await.unwrap();
        tokio::time::sleep(ttl * 2).await;
        cache.active_secrets("acme").await.unwrap();

        assert_eq!(lookups(&cache), 2);
    }

    #[tokio::test]
    async fn refresh_rereads_after_interval() {
        let cache = CachedSecretStore::new(CountingStore::new(false), Duration::from_secs(60), 10)
            .with_min_refresh_interval(Duration::ZERO);

        cache.active_secrets("acme").await.unwrap();
        let refreshed = cache.refreshed_secrets("acme").await.unwrap();

        assert_eq!(refreshed.map(|secrets| secrets.len()), Some(1));
        assert_eq!(lookups(&cache), 2);
    }

    #[tokio::test]
    async fn refresh_within_interval_is_skipped() {
        let cache = CachedSecretStore::new(CountingStore::new(false), Duration::from_secs(60), 10);

        cache.active_secrets("acme").await.unwrap();
        let refreshed = cache.refreshed_secrets("acme").await.unwrap();

        assert!(refreshed.is_none());
        assert_eq!(lookups(&cache), 1);
    }

    #[tokio::test]
    async fn refresh_of_uncached_tenant_is_skipped() {
        let cache = CachedSecretStore::new(CountingStore::new(false), Duration::from_secs(60), 10)
            .with_min_refresh_interval(Duration::ZERO);

        let refreshed = cache.refreshed_secrets("acme").await.unwrap();

        assert!(refreshed.is_none());
        assert_eq!(lookups(&cache), 0);
    }

    #[tokio::test]
    async fn zero_ttl_disables_cache() {
        let cache = CachedSecretStore::new(CountingStore::new(false), Duration::ZERO, 10);

        cache.active_secrets("acme").await.unwrap();
        cache.active_secrets("acme").await.unwrap();

        assert_eq!(lookups(&cache), 2);
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let cache = CachedSecretStore::new(CountingStore::new(true), Duration::from_secs(60), 10);

        assert!(cache.active_secrets("acme").await.is_err());
        assert!(cache.active_secrets("acme").await.is_err());

        assert_eq!(lookups(&cache), 2);
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn entry_count_is_bounded() {
        let cache = CachedSecretStore::new(CountingStore::new(false), Duration::from_secs(60), 3);

        for index in 0..20 {
            cache
                .active_secrets(&format!("tenant-{index}"))
                .await
                .unwrap();
        }

        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn eviction_prefers_expired_entries() {
        let now = Instant::now();
        let mut entries = HashMap::new();
        for (tenant_id, offset) in [("old", 0), ("older", 0), ("fresh", 30)] {
            let expires_at = now + Duration::from_secs(offset);
            let secrets = Vec::new();
            entries.insert(
                tenant_id.to_owned(),
                CacheEntry {
                    secrets,
                    fetched_at: now,
                    expires_at,
                },
            );
        }

        evict(&mut entries, now + Duration::from_secs(1));

        assert_eq!(entries.keys().collect::<Vec<_>>(), ["fresh"]);
    }

    #[test]
    fn eviction_removes_first_to_expire() {
        let now = Instant::now();
        let mut entries = HashMap::new();
        for (tenant_id, offset) in [("soon", 5), ("later", 30), ("latest", 60)] {
            let expires_at = now + Duration::from_secs(offset);
            let secrets = Vec::new();
            entries.insert(
                tenant_id.to_owned(),
                CacheEntry {
                    secrets,
                    fetched_at: now,
                    expires_at,
                },
            );
        }

        evict(&mut entries, now);

        assert_eq!(entries.len(), 2);
        assert!(!entries.contains_key("soon"));
    }
}
