//! In-memory caches: `GET /v1/campaigns/{id}`, the read a public rush hammers, and the
//! target areas prepared for point queries ([`AreaCatalog`]).
//!
//! The campaign cache:
//!
//! An entry remembers the [`WriteEpoch`] stamp read before its rows were
//! loaded and is served only while that stamp has not moved: any write this process commits
//! (a job, an admin action) invalidates every entry, and a donation's writes (a pledge, a
//! payment event) the entries of the campaigns whose rows they changed, before the writer's
//! response leaves, so a client never reads older data than a write it saw acknowledged by
//! this replica.
//! Writes made by another replica (or the CLI) are not seen by the epoch, so an entry also
//! expires after `COFUND_READ_CACHE_MS`: that is how stale a read can be across replicas.

use crate::db::models::{AreaRow, CampaignRow};
use crate::db::schema::areas;
use crate::db::{CampaignStamp, DbConnection, DbError, WriteEpoch};
use crate::domain::area::{LatLon, PreparedShape};
use actix_web::web::Bytes;
use diesel::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Above this many entries the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 10_000;

pub struct CachedCampaign {
    stamp: CampaignStamp,
    loaded_at: Instant,
    pub row: CampaignRow,
    pub threshold_ratio: crate::domain::money::Ratio,
    /// The anonymous view, serialised once; None when the public may not see the campaign.
    pub public_body: Option<Bytes>,
}

pub struct CampaignCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, Arc<CachedCampaign>>>,
    /// The write epoch of the database it caches.
    epoch: WriteEpoch,
}

impl CampaignCache {
    pub fn new(ttl: Duration, epoch: WriteEpoch) -> CampaignCache {
        CampaignCache {
            ttl,
            epoch,
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
        (entry.stamp == self.epoch.campaign(id) && entry.loaded_at.elapsed() < self.ttl)
            .then(|| entry.clone())
    }

    /// Stores what was loaded after reading `stamp` ([`WriteEpoch::campaign`]); `public_body`
    /// is the anonymous view.
    pub fn put(
        &self,
        stamp: CampaignStamp,
        row: CampaignRow,
        threshold_ratio: crate::domain::money::Ratio,
        public_body: Option<Bytes>,
    ) -> Arc<CachedCampaign> {
        let entry = Arc::new(CachedCampaign {
            stamp,
            loaded_at: Instant::now(),
            row,
            threshold_ratio,
            public_body,
        });
        if self.ttl.is_zero() || stamp != self.epoch.campaign(&entry.row.id) {
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

/// The target areas as an in-memory index for point queries (`GET /v1/areas?contains=` and a
/// campaign's location check), so no request parses polygons. Geometry is validated once when
/// written; here it is only parsed. Every change to `areas` raises the table's revision sum.
/// [`AreaCatalog::current`] compares it (one aggregate over a table of tens of rows) before
/// trusting the index: a campaign's location check, inside its write transaction, sees every
/// committed change. Public reads use [`AreaCatalog::recent`], which skips that query while no
/// write happened in this process and the last check is younger than the read-cache TTL: the
/// same staleness bound across replicas as the campaign cache.
pub struct AreaCatalog {
    current: RwLock<Option<Arc<AreaIndex>>>,
    rebuilding: std::sync::Mutex<()>,
    /// The write epoch before the last successful check, and when it was made.
    verified: std::sync::Mutex<Option<(u64, Instant)>>,
    /// The write epoch of the database it indexes.
    epoch: WriteEpoch,
}

/// Areas ordered by id, each with its prepared shape and its GeoJSON ready to serve.
pub struct AreaIndex {
    fingerprint: (i64, i64),
    pub areas: Vec<IndexedArea>,
}

/// Writes an area as the public reads it (the HTTP layer's view, serialised).
pub type AreaRender = fn(AreaRow) -> Bytes;

pub struct IndexedArea {
    pub id: String,
    /// The area as `GET /v1/areas/{id}` writes it, serialised once.
    pub view_json: Bytes,
    pub shape: PreparedShape,
}

impl AreaIndex {
    /// The areas containing the point, in id order.
    pub fn containing(&self, point: LatLon) -> impl Iterator<Item = &IndexedArea> {
        self.areas.iter().filter(move |a| a.shape.contains(point))
    }
}

impl AreaCatalog {
    pub fn new(epoch: WriteEpoch) -> AreaCatalog {
        AreaCatalog {
            current: RwLock::new(None),
            rebuilding: std::sync::Mutex::new(()),
            verified: std::sync::Mutex::new(None),
            epoch,
        }
    }

    /// The index as of now: rebuilt when the table changed since it was built.
    /// `render` writes an area as the public reads it; it is called only when the index is
    /// rebuilt.
    pub fn current(
        &self,
        conn: &mut DbConnection,
        render: AreaRender,
    ) -> Result<Arc<AreaIndex>, DbError> {
        let epoch = self.epoch.current();
        let index = self.checked(conn, render)?;
        *self.verified.lock().unwrap_or_else(|p| p.into_inner()) = Some((epoch, Instant::now()));
        Ok(index)
    }

    /// The index without asking the database, when this process wrote nothing since the last
    /// check and that check is younger than `ttl`.
    pub fn recent(&self, ttl: Duration) -> Option<Arc<AreaIndex>> {
        let (epoch, at) = (*self.verified.lock().unwrap_or_else(|p| p.into_inner()))?;
        if ttl.is_zero() || epoch != self.epoch.current() || at.elapsed() >= ttl {
            return None;
        }
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn checked(
        &self,
        conn: &mut DbConnection,
        render: AreaRender,
    ) -> Result<Arc<AreaIndex>, DbError> {
        let fingerprint = areas_fingerprint(conn)?;
        if let Some(index) = self.fresh(fingerprint) {
            return Ok(index);
        }
        // One rebuild at a time; whoever waited finds it done.
        let _rebuilding = self.rebuilding.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = self.fresh(fingerprint) {
            return Ok(index);
        }
        let rows: Vec<AreaRow> = areas::table
            .order(areas::id)
            .select(AreaRow::as_select())
            .load(conn)?;
        let areas = rows
            .into_iter()
            .filter_map(|row| match PreparedShape::from_stored(&row.geometry) {
                Ok(shape) => Some(IndexedArea {
                    id: row.id.clone(),
                    view_json: render(row),
                    shape,
                }),
                Err(e) => {
                    tracing::error!(area_id = %row.id, error = %e, "stored area geometry unreadable; left out of the index");
                    None
                }
            })
            .collect();
        let index = Arc::new(AreaIndex { fingerprint, areas });
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(index.clone());
        Ok(index)
    }

    fn fresh(&self, fingerprint: (i64, i64)) -> Option<Arc<AreaIndex>> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        current
            .as_ref()
            .filter(|index| index.fingerprint == fingerprint)
            .cloned()
    }
}

/// (number of areas, sum of their revisions): areas are never deleted, and every update raises
/// its row's revision, so any committed change moves one of the two.
fn areas_fingerprint(conn: &mut DbConnection) -> Result<(i64, i64), DbError> {
    use diesel::dsl::sql;
    use diesel::sql_types::BigInt;
    Ok(areas::table
        .select((
            sql::<BigInt>("CAST(COUNT(*) AS BIGINT)"),
            sql::<BigInt>("CAST(COALESCE(SUM(revision), 0) AS BIGINT)"),
        ))
        .first(conn)?)
}
