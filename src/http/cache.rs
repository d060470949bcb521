//! An in-memory cache for `GET /v1/campaigns/{id}`, the read a public rush hammers.
//!
//! An entry remembers the [`write_epoch`](crate::db::write_epoch) read before its rows were
//! loaded and is served only while that epoch has not moved: any write this process commits
//! (a webhook, a job, an admin action) invalidates every entry before the writer's response
//! leaves, so a client never reads older data than a write it saw acknowledged by this replica.
//! Writes made by another replica (or the CLI) are not seen by the epoch, so an entry also
//! expires after `COFUND_READ_CACHE_MS`: that is how stale a read can be across replicas.

use crate::db::models::CampaignRow;
use actix_web::web::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Above this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 10_000;

pub struct CachedCampaign {
    epoch: u64,
    loaded_at: Instant,
    pub row: CampaignRow,
    pub threshold_ratio: String,
    /// The anonymous view, serialised once; None when the public may not see the campaign.
    pub public_body: Option<Bytes>,
}

pub struct CampaignCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, Arc<CachedCampaign>>>,
}

impl CampaignCache {
    pub fn new(ttl: Duration) -> CampaignCache {
        CampaignCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The entry for `id` if no write happened since it was loaded and it is younger than the
    /// time to live.
    pub fn get(&self, id: &str) -> Option<Arc<CachedCampaign>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(id)?;
        (entry.epoch == crate::db::write_epoch() && entry.loaded_at.elapsed() < self.ttl)
            .then(|| entry.clone())
    }

    /// Stores what was loaded after reading `epoch`; `public_body` is the anonymous view.
    pub fn put(
        &self,
        epoch: u64,
        row: CampaignRow,
        threshold_ratio: String,
        public_body: Option<Bytes>,
    ) -> Arc<CachedCampaign> {
        let entry = Arc::new(CachedCampaign {
            epoch,
            loaded_at: Instant::now(),
            row,
            threshold_ratio,
            public_body,
        });
        if self.ttl.is_zero() || epoch != crate::db::write_epoch() {
            // Already outdated (or caching is off): answer with it, keep nothing.
            return entry;
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(entry.row.id.clone(), entry.clone());
        entry
    }
}
