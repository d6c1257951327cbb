//! Leases (protocol rule 4): LeaseLimits for one key when a decision needs points or credits, and
//! the leases asked ahead in the background when one runs low. Merged into the key's entry.
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::mpsc;

use super::core::Shared;
use super::decide::{merge, Now};
use super::table::Entry;
use crate::error::Error;
use crate::proto::v1 as pb;

impl Shared {
    /// Leases asked ahead, one at a time, until the validator closes.
    pub(crate) async fn run_prefetch(
        &self,
        mut asks: mpsc::UnboundedReceiver<(Arc<Entry>, u32, u64)>,
    ) {
        while let Some((entry, points, credits)) = asks.recv().await {
            let _ = self.lease(&entry, points, credits).await;
            entry.lease.lock().expect("lease lock").prefetching = false;
        }
    }

    /// LeaseLimits for one key, added to its entry's lease.
    pub(crate) async fn lease(
        &self,
        entry: &Arc<Entry>,
        points: u32,
        credits: u64,
    ) -> Result<(), Error> {
        let session = self
            .session()
            .ok_or_else(|| Error::transport("no session", None))?;
        let request = pb::LeaseLimitsRequest {
            session_id: session.id.clone(),
            key_id: entry.id().to_string(),
            rate_limit_points: points,
            credits,
        };
        let started = Instant::now();
        let got = self
            .conn
            .local_validation()?
            .lease_limits(request)
            .await?
            .into_inner();
        let now = Now {
            wall: SystemTime::now(),
            mono: Instant::now(),
        };
        let back = {
            let mut lease = entry.lease.lock().expect("lease lock");
            if lease.retired {
                let points = got.rate_limit.map_or(0, |r| r.granted);
                (points, got.credits.map_or(0, |c| c.granted))
            } else {
                merge(&mut lease, got, started, now)
            }
        };
        // Leases of an ended session ended with it; only this session's are given back.
        if self
            .session()
            .is_some_and(|s| s.generation == session.generation)
        {
            self.returns
                .lock()
                .expect("returns lock")
                .add(entry.id(), back);
            self.leased
                .lock()
                .expect("leased lock")
                .insert(entry.id().to_string(), entry.clone());
        }
        Ok(())
    }

    /// Takes the leases that expired unused out of their entries, to give back in the next report
    /// (only keys that leased are visited).
    pub(crate) fn sweep_expired_leases(&self) {
        let now = Now {
            wall: SystemTime::now(),
            mono: Instant::now(),
        };
        let mut back = Vec::new();
        self.leased
            .lock()
            .expect("leased lock")
            .retain(|id, entry| {
                let mut lease = entry.lease.lock().expect("lease lock");
                if lease.retired {
                    return false;
                }
                back.push((id.clone(), lease.take_expired(now)));
                lease.rate.is_some() || lease.credits.is_some()
            });
        // Lock order: the returns after every lease lock is released (Table::remove takes them
        // the other way round).
        let mut returns = self.returns.lock().expect("returns lock");
        for (id, unused) in back {
            returns.add(&id, unused);
        }
    }
}
