//! Rate-limit refusals per hour, for the staff pages' "last day" chart: every refusal of
//! every limit, counted in memory and added to `rate_limit_hours` by the housekeeping loop
//! (every `REVOCATION_SYNC_INTERVAL_MS`), so a flood of refused requests costs one write a
//! second, not one each. Instances add up in the table; the chart also counts what this
//! instance has not written yet.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::db::{with_db, with_db_write, Db, DbError};

/// Hours kept in the table.
const KEPT_SECS: i64 = 2 * 86_400;

/// Refusals counted here and not yet written, by hour (Unix seconds of its start).
#[derive(Debug, Default)]
pub struct RefusalCounts(Mutex<BTreeMap<i64, u64>>);

fn hour_of(at: i64) -> i64 {
    at - at.rem_euclid(3_600)
}

impl RefusalCounts {
    /// Counts one refusal at `now` (Unix seconds).
    pub fn add(&self, now: i64) {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *pending.entry(hour_of(now)).or_default() += 1;
    }

    /// Adds what was counted to the table. What cannot be written is kept for next time.
    pub async fn flush(&self, db: &Db) -> Result<(), DbError> {
        let taken = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for (i, (&hour, &hits)) in taken.iter().enumerate() {
            let written = with_db_write!(db, pool => {
                sqlx::query(
                    "INSERT INTO rate_limit_hours (hour, hits) VALUES ($1, $2) \
                     ON CONFLICT (hour) DO UPDATE SET hits = rate_limit_hours.hits + excluded.hits",
                )
                .bind(hour)
                .bind(i64::try_from(hits).unwrap_or(i64::MAX))
                .execute(pool)
                .await
                .map(drop)
            });
            if let Err(error) = written {
                let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
                for (&hour, &hits) in taken.iter().skip(i) {
                    *pending.entry(hour).or_default() += hits;
                }
                return Err(error.into());
            }
        }
        Ok(())
    }

    /// Refusals per hour from `first` (an hour's start) for `hours` hours: the table's
    /// count plus this instance's unwritten one.
    pub async fn hourly(&self, db: &Db, first: i64, hours: usize) -> Result<Vec<u64>, DbError> {
        let end = first + 3_600 * i64::try_from(hours).unwrap_or(0);
        let rows: Vec<(i64, i64)> = with_db!(db, pool => {
            sqlx::query_as("SELECT hour, hits FROM rate_limit_hours WHERE hour >= $1 AND hour < $2")
                .bind(first)
                .bind(end)
                .fetch_all(pool)
                .await
        })?;
        let mut counts = vec![0u64; hours];
        let slot = |hour: i64| usize::try_from((hour - first) / 3_600).ok();
        for (hour, hits) in rows {
            if let Some(count) = slot(hour).and_then(|i| counts.get_mut(i)) {
                *count += u64::try_from(hits).unwrap_or(0);
            }
        }
        let pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for (&hour, &hits) in pending.range(first..end) {
            if let Some(count) = slot(hour).and_then(|i| counts.get_mut(i)) {
                *count += hits;
            }
        }
        Ok(counts)
    }

    /// Deletes hours older than two days before `now`.
    pub async fn prune(db: &Db, now: i64) -> Result<u64, DbError> {
        Ok(with_db_write!(db, pool => {
            sqlx::query("DELETE FROM rate_limit_hours WHERE hour < $1")
                .bind(now - KEPT_SECS)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_fall_in_their_hour() {
        assert_eq!(hour_of(7_199), 3_600);
        assert_eq!(hour_of(7_200), 7_200);
        let counts = RefusalCounts::default();
        counts.add(3_600);
        counts.add(7_199);
        counts.add(7_200);
        let pending = counts.0.lock().unwrap().clone();
        assert_eq!(pending, BTreeMap::from([(3_600, 2), (7_200, 1)]));
    }
}
