//! An in-memory index of each municipality's placement state, so that a vacancy search reads
//! one tiny row set (versions) instead of thousands of bed-nights.
//!
//! The state is kept in chunks: `static` (facilities, rooms, beds) and one chunk per month of
//! bed-nights. Database triggers bump `placement_versions` for a chunk in the same transaction
//! as any change to it (migration `20261202000001`). A search reads the versions of the chunks
//! it needs *before* it reads any row, and reloads a chunk whose cached version is older. So a
//! cached chunk is never older than the version it is filed under, and every instance of the
//! service over one database sees every committed change on its next search.
//!
//! Held nights are cached with their expiry and filtered at search time, so an expiring hold
//! frees its nights in searches the moment it expires, before housekeeping deletes the rows.
//! The static chunk is also reloaded once a minute, because staleness of a facility's
//! vacancy data is a matter of time, not of writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate, Utc};
use renkei_solver::placement::model as pm;
use sqlx::Row;

use super::placement::{engine_instance, FacilityRow};
use super::tenancy::MunicipalityId;
use super::{parse_instant, Db};
use crate::error::{Error, Result};
use crate::placement::parse_slug;

/// The static chunk is reloaded at least this often (facility staleness changes with time).
const STATIC_MAX_AGE: Duration = Duration::from_secs(60);
/// Months kept per municipality; beyond this the cache keeps only the months just asked for.
const MAX_MONTHS: usize = 36;

/// The index of every municipality (one per service instance; shared by clones of [`Db`]).
#[derive(Default)]
pub struct PlacementIndex {
    entries: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<Entry>>>>,
}

impl std::fmt::Debug for PlacementIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlacementIndex")
    }
}

#[derive(Default)]
struct Entry {
    statics: Option<(i64, Instant, Arc<Statics>)>,
    months: HashMap<String, (i64, Arc<Vec<Night>>)>,
}

/// Facilities with their rooms and beds, as rows and as the engine's instance (no taken rows).
pub struct Statics {
    pub facilities: Vec<FacilityRow>,
    pub instance: pm::Instance,
}

/// A taken bed-night as cached; the rows of a month are sorted by night.
struct Night {
    taken: pm::Taken,
    /// Microseconds since the epoch when the hold of this night expires (held nights only).
    expires: Option<i64>,
}

/// What one search sees: the static chunk and the months covering its nights.
pub struct Snapshot {
    pub statics: Arc<Statics>,
    months: Vec<Arc<Vec<Night>>>,
}

impl Snapshot {
    /// The bed-nights taken within `nights` now (holds past their expiry do not count).
    pub fn taken(&self, nights: pm::Nights) -> impl Iterator<Item = &pm::Taken> {
        let now = Utc::now().timestamp_micros();
        self.months
            .iter()
            .flat_map(move |m| {
                // Rows are sorted by night: only the stay's nights are looked at.
                let from = m.partition_point(|n| n.taken.night < nights.from);
                let to = m.partition_point(|n| n.taken.night < nights.to);
                &m[from..to.max(from)]
            })
            .filter(move |n| n.expires.is_none_or(|e| e >= now))
            .map(|n| &n.taken)
    }
}

/// "YYYY-MM" of every month that `nights` touches.
fn months_of(nights: pm::Nights) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    if nights.is_empty() {
        return out;
    }
    let mut first = nights.from.with_day(1).unwrap_or(nights.from);
    while first < nights.to {
        let next = first + Months::new(1);
        out.push((first.format("%Y-%m").to_string(), first, next));
        first = next;
    }
    out
}

impl Db {
    /// The placement state for a search over `nights`, from the index (reloading the chunks
    /// that changed since they were cached).
    pub async fn placement_snapshot(
        &self,
        m: MunicipalityId,
        nights: pm::Nights,
    ) -> Result<Snapshot> {
        let months = months_of(nights);
        // Versions first, rows second: see the module header.
        let placeholders: Vec<String> = (0..=months.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT chunk, version FROM placement_versions WHERE municipality_id = $1 AND chunk IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(m.0).bind("static");
        for (name, ..) in &months {
            q = q.bind(name.as_str());
        }
        let mut versions: HashMap<String, i64> = HashMap::new();
        for r in q.fetch_all(&self.pool).await? {
            versions.insert(r.try_get("chunk")?, r.try_get("version")?);
        }
        let version = |chunk: &str| versions.get(chunk).copied().unwrap_or(0);

        let entry = {
            let mut entries = self
                .placement_index
                .entries
                .lock()
                .map_err(|_| Error::Internal(anyhow::anyhow!("placement index poisoned")))?;
            entries.entry(m.0).or_default().clone()
        };
        let mut e = entry.lock().await;
        let want = version("static");
        let fresh = e
            .statics
            .as_ref()
            .is_some_and(|(v, at, _)| *v >= want && at.elapsed() < STATIC_MAX_AGE);
        if !fresh {
            let facilities = self.list_facilities(m).await?;
            let instance = engine_instance(&facilities, Vec::new());
            e.statics = Some((
                want,
                Instant::now(),
                Arc::new(Statics {
                    facilities,
                    instance,
                }),
            ));
        }
        let mut chunks = Vec::with_capacity(months.len());
        for (name, first, next) in &months {
            let want = version(name);
            match e.months.get(name) {
                Some((v, rows)) if *v >= want => chunks.push(rows.clone()),
                _ => {
                    let rows = Arc::new(self.month_nights(m, *first, *next).await?);
                    e.months.insert(name.clone(), (want, rows.clone()));
                    chunks.push(rows);
                }
            }
        }
        if e.months.len() > MAX_MONTHS {
            e.months
                .retain(|name, _| months.iter().any(|(wanted, ..)| wanted == name));
        }
        let statics = e
            .statics
            .as_ref()
            .map(|(_, _, s)| s.clone())
            .ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("placement index lost its static chunk"))
            })?;
        Ok(Snapshot {
            statics,
            months: chunks,
        })
    }

    async fn month_nights(
        &self,
        m: MunicipalityId,
        first: NaiveDate,
        next: NaiveDate,
    ) -> Result<Vec<Night>> {
        let rows = sqlx::query(
            "SELECT bed_id, night, state, occupant_sex, expires_at FROM bed_nights
             WHERE municipality_id = $1 AND night >= $2 AND night < $3
             ORDER BY night, bed_id",
        )
        .bind(m.0)
        .bind(first.to_string())
        .bind(next.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let night: String = r.try_get("night")?;
                let state: String = r.try_get("state")?;
                let sex: Option<String> = r.try_get("occupant_sex")?;
                let expires: Option<String> = r.try_get("expires_at")?;
                Ok(Night {
                    taken: pm::Taken {
                        bed: r.try_get::<i64, _>("bed_id")? as u32,
                        night: NaiveDate::parse_from_str(&night, "%Y-%m-%d")
                            .map_err(|e| Error::Internal(anyhow::anyhow!("stored night: {e}")))?,
                        sex: sex.as_deref().and_then(parse_slug),
                    },
                    expires: if state == "held" {
                        // A held night without a readable expiry counts as taken (never frees
                        // a bed by mistake).
                        expires
                            .as_deref()
                            .and_then(parse_instant)
                            .map(|t| t.timestamp_micros())
                    } else {
                        None
                    },
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months_of_a_stay_across_the_year_end() {
        let names: Vec<String> = months_of(pm::Nights::new(d(2026, 12, 30), d(2027, 1, 2)))
            .into_iter()
            .map(|(n, ..)| n)
            .collect();
        assert_eq!(names, ["2026-12", "2027-01"]);
        let names: Vec<String> = months_of(pm::Nights::new(d(2026, 12, 1), d(2027, 1, 1)))
            .into_iter()
            .map(|(n, ..)| n)
            .collect();
        assert_eq!(names, ["2026-12"]);
        assert!(months_of(pm::Nights::new(d(2026, 12, 1), d(2026, 12, 1))).is_empty());
    }
}
