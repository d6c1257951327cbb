//! The validator's table: digest → key (what a local decision reads), key id → digest (what a change
//! replaces), and the organisations validated over the network. Also each key's usage counters and
//! leases, which outlive a key's entry: a change replaces the entry, never the counters.
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use super::cidr::Network;
use crate::convert::time_from;
use crate::proto::v1 as pb;
use crate::types::KeyInfo;

/// Local answers of one key since the last usage report.
#[derive(Default)]
pub(crate) struct Counters {
    /// Indexed by the proto Outcome number.
    pub(crate) outcomes: [AtomicU64; 11],
    pub(crate) last_used_ms: AtomicU64,
    pub(crate) scope_uses: Mutex<HashMap<String, u64>>,
}

/// Rate-limit points leased from one window.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLease {
    pub(crate) left: u32,
    pub(crate) limit: u32,
    pub(crate) unleased: u32,
    pub(crate) reset_at: SystemTime,
    pub(crate) expires: Instant,
}

/// Credits leased from a key's balance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CreditLease {
    pub(crate) left: u64,
    pub(crate) unleased: u64,
    pub(crate) next_refill_at: Option<SystemTime>,
    pub(crate) expires: Instant,
}

/// A key entry's leases. `retired`: the entry was replaced or dropped, its leases given back, so
/// nothing may be spent or leased through it any more.
#[derive(Default, Debug)]
pub(crate) struct Lease {
    pub(crate) retired: bool,
    /// A LeaseLimits call asked ahead (in the background) is under way.
    pub(crate) prefetching: bool,
    pub(crate) rate: Option<RateLease>,
    pub(crate) credits: Option<CreditLease>,
}

impl Lease {
    /// Drops the parts that can no longer be spent (past their expiry, window or refill) and returns
    /// what they held unspent (points, credits).
    pub(crate) fn take_expired(&mut self, now: super::decide::Now) -> (u32, u64) {
        let mut back = (0, 0);
        if self
            .rate
            .is_some_and(|r| now.mono >= r.expires || now.wall >= r.reset_at)
        {
            back.0 = self.rate.take().map_or(0, |r| r.left);
        }
        let ended = |c: &CreditLease| {
            now.mono >= c.expires || c.next_refill_at.is_some_and(|t| now.wall >= t)
        };
        if self.credits.as_ref().is_some_and(ended) {
            back.1 = self.credits.take().map_or(0, |c| c.left);
        }
        back
    }

    /// Retires the lease and returns what was left unspent (points, credits).
    pub(crate) fn retire(&mut self) -> (u32, u64) {
        self.retired = true;
        let points = self.rate.take().map_or(0, |r| r.left);
        let credits = self.credits.take().map_or(0, |c| c.left);
        (points, credits)
    }
}

/// Everything a local decision needs about one key.
pub(crate) struct Entry {
    /// As ValidateApiKey returns it, without the per-call states.
    pub(crate) info: KeyInfo,
    pub(crate) state: pb::KeyState,
    pub(crate) rate_limit: Option<pb::RateLimit>,
    pub(crate) credits: Option<pb::Credits>,
    /// `None`: any address.
    pub(crate) cidrs: Option<Vec<Network>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) lease: Mutex<Lease>,
}

impl Entry {
    pub(crate) fn id(&self) -> &str {
        &self.info.id
    }
}

/// Unused leases to give back in the next usage report.
#[derive(Default)]
pub(crate) struct Returns(pub(crate) HashMap<String, (u32, u64)>);

impl Returns {
    pub(crate) fn add(&mut self, key_id: &str, (points, credits): (u32, u64)) {
        if points == 0 && credits == 0 {
            return;
        }
        let slot = self.0.entry(key_id.to_string()).or_default();
        slot.0 = slot.0.saturating_add(points);
        slot.1 = slot.1.saturating_add(credits);
    }
}

#[derive(Default)]
pub(crate) struct Table {
    pub(crate) by_digest: HashMap<[u8; 32], Arc<Entry>>,
    digest_of: HashMap<String, [u8; 32]>,
    pub(crate) remote_orgs: HashSet<String>,
}

impl Table {
    /// Adds or replaces a key (by id); a replaced entry's leases go to `returns`.
    /// A key whose digest or CIDRs cannot be read is left out: its secret is then answered over
    /// the network, never wrongly locally.
    pub(crate) fn put(
        &mut self,
        key: pb::LocalKey,
        counters: &mut HashMap<String, Arc<Counters>>,
        returns: &mut Returns,
    ) {
        let Some(info) = key.info else { return };
        self.remove(&info.id, returns);
        let Some(digest) = super::material::decode_digest(&key.digest) else {
            return;
        };
        let cidrs = if key.allowed_cidrs.is_empty() {
            None
        } else {
            match key
                .allowed_cidrs
                .iter()
                .map(|c| Network::parse(c))
                .collect()
            {
                Some(list) => Some(list),
                None => return,
            }
        };
        let state = pb::KeyState::try_from(key.state).unwrap_or(pb::KeyState::Unspecified);
        let counters = counters.entry(info.id.clone()).or_default().clone();
        let entry = Entry {
            info: KeyInfo {
                id: info.id,
                org_id: info.org_id,
                name: info.name,
                scopes: info.scopes,
                metadata: info.metadata,
                expires_at: time_from(info.expires_at),
                rate_limit: None,
                credits: None,
                organization: None,
            },
            state,
            rate_limit: key.rate_limit,
            credits: key.credits,
            cidrs,
            counters,
            lease: Mutex::default(),
        };
        self.digest_of.insert(entry.info.id.clone(), digest);
        self.by_digest.insert(digest, Arc::new(entry));
    }

    /// Drops key `id` (if held); its leases go to `returns`.
    pub(crate) fn remove(&mut self, id: &str, returns: &mut Returns) {
        if let Some(old) = self
            .digest_of
            .remove(id)
            .and_then(|d| self.by_digest.remove(&d))
        {
            returns.add(id, old.lease.lock().expect("lease lock").retire());
        }
    }

    pub(crate) fn set_org(&mut self, org: pb::LocalOrganization) {
        if org.validate_remotely {
            self.remote_orgs.insert(org.org_id);
        } else {
            self.remote_orgs.remove(&org.org_id);
        }
    }

    /// Retires every entry's leases (the table is being dropped); returns what they held.
    pub(crate) fn retire_all(&self, returns: &mut Returns) {
        for entry in self.by_digest.values() {
            returns.add(entry.id(), entry.lease.lock().expect("lease lock").retire());
        }
    }

    pub(crate) fn holds(&self, id: &str) -> bool {
        self.digest_of.contains_key(id)
    }
}

impl Counters {
    pub(crate) fn count(&self, outcome: pb::Outcome, now_ms: u64) {
        self.outcomes[outcome as usize].fetch_add(1, Ordering::Relaxed);
        self.last_used_ms.fetch_max(now_ms, Ordering::Relaxed);
    }
}
