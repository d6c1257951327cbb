//! The state a validator shares between its callers and its background tasks, and the two halves of
//! a validation: `first` (synchronous: one digest, one table lookup, the decision) and `check` (the
//! rare rest: leasing, or asking ValidateApiKey over the network).
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::cidr;
use super::decide::{decide, Ask, Now, Step};
use super::material::{is_well_formed, Digester, MAX_KEY_LENGTH};
use super::table::{Counters, Entry, Returns, Table};
use super::{StateCallback, ValidatorState};
use crate::async_client::Flux as AsyncFlux;
use crate::credits::ValidateRequest;
use crate::error::Error;
use crate::proto::v1 as pb;
use crate::transport::Connection;
use crate::types::{Outcome, Validation};

/// The server's bounds on a ValidateApiKeyRequest (LIMITS.requiredScopes, costMax, scope names):
/// a request outside them goes to the network, so the error is the server's own.
const MAX_REQUIRED_SCOPES: usize = 100;
const MAX_COST: u32 = 1_000_000;

fn is_scope_name(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-/*".contains(&b))
}

/// The current session: its id and a generation number that changes with every session.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) generation: u64,
}

pub(crate) struct Shared {
    pub(crate) base: Instant,
    pub(crate) digester: Digester,
    pub(crate) table: RwLock<Table>,
    /// Nanoseconds after `base` until which the validator may answer locally (0: stale).
    pub(crate) fresh_until_ns: AtomicU64,
    pub(crate) snapshot_complete: AtomicBool,
    pub(crate) applied_seq: AtomicU64,
    pub(crate) required_seq: AtomicU64,
    pub(crate) session: Mutex<Option<Session>>,
    pub(crate) counters: Mutex<HashMap<String, Arc<Counters>>>,
    pub(crate) returns: Mutex<Returns>,
    /// Keys holding leases (to give back the ones that expire unused).
    pub(crate) leased: Mutex<HashMap<String, Arc<Entry>>>,
    pub(crate) malformed: AtomicU64,
    pub(crate) local: AtomicU64,
    pub(crate) network: AtomicU64,
    pub(crate) resyncs: AtomicU64,
    pub(crate) closed: AtomicBool,
    state: AtomicU8,
    on_state_change: Option<StateCallback>,
    pub(crate) conn: Connection,
    pub(crate) flux: AsyncFlux,
    pub(crate) shutdown: tokio::sync::Notify,
    pub(crate) reporter: tokio::sync::Mutex<super::usage::Reporter>,
    /// Leases asked ahead: sent from the hot path (no await), taken by `run_prefetch`.
    prefetch: mpsc::UnboundedSender<(Arc<Entry>, u32, u64)>,
}

/// What the synchronous half found. Not boxed: the answer is the common case, and a box would cost
/// an allocation per local validation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum First {
    Done(Validation),
    Network,
    Lease(Arc<Entry>, u32, u64),
}

impl Shared {
    pub(crate) fn new(
        digester: Digester,
        flux: AsyncFlux,
        on_state_change: Option<StateCallback>,
        prefetch: mpsc::UnboundedSender<(Arc<Entry>, u32, u64)>,
    ) -> Self {
        Shared {
            prefetch,
            base: Instant::now(),
            digester,
            table: RwLock::default(),
            fresh_until_ns: AtomicU64::new(0),
            snapshot_complete: AtomicBool::new(false),
            applied_seq: AtomicU64::new(0),
            required_seq: AtomicU64::new(0),
            session: Mutex::new(None),
            counters: Mutex::default(),
            returns: Mutex::default(),
            leased: Mutex::default(),
            malformed: AtomicU64::new(0),
            local: AtomicU64::new(0),
            network: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            state: AtomicU8::new(ValidatorState::Stale as u8),
            on_state_change,
            conn: flux.conn().clone(),
            flux,
            shutdown: tokio::sync::Notify::new(),
            reporter: tokio::sync::Mutex::default(),
        }
    }

    pub(crate) fn now_ns(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Protocol rule 2: snapshot complete (fresh_until is 0 before), last acknowledgement started
    /// less than stale_after ago, applied ≥ required.
    pub(crate) fn is_fresh(&self) -> bool {
        self.now_ns() < self.fresh_until_ns.load(Ordering::Acquire)
            && self.applied_seq.load(Ordering::Acquire) >= self.required_seq.load(Ordering::Acquire)
            && !self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn state(&self) -> ValidatorState {
        ValidatorState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Records the state and tells the callback when it changed.
    pub(crate) fn set_state(&self, state: ValidatorState) {
        if self.closed.load(Ordering::Acquire) && state != ValidatorState::Closed {
            return;
        }
        let old = self.state.swap(state as u8, Ordering::AcqRel);
        if old != state as u8 {
            if let Some(callback) = &self.on_state_change {
                callback(state);
            }
        }
    }

    /// Re-reads freshness (it lapses on its own when acknowledgements stop succeeding).
    pub(crate) fn refresh_state(&self) {
        let s = if self.is_fresh() {
            ValidatorState::Fresh
        } else {
            ValidatorState::Stale
        };
        self.set_state(s);
    }

    pub(crate) fn session(&self) -> Option<Session> {
        self.session.lock().expect("session lock").clone()
    }

    /// The synchronous half: a local answer, or what the rest must do.
    pub(crate) fn first<S: AsRef<str>>(
        &self,
        raw: &str,
        scopes: &[S],
        cost: Option<u32>,
        client_ip: &str,
        may_lease: bool,
    ) -> First {
        let plain = scopes.len() <= MAX_REQUIRED_SCOPES
            && cost.is_none_or(|c| c <= MAX_COST)
            && raw.len() <= MAX_KEY_LENGTH
            && scopes.iter().all(|s| is_scope_name(s.as_ref()));
        let Ok(ip) = cidr::client_ip(client_ip) else {
            return First::Network;
        };
        if !plain || !self.is_fresh() {
            return First::Network;
        }
        if !is_well_formed(raw) {
            self.malformed.fetch_add(1, Ordering::Relaxed);
            self.local.fetch_add(1, Ordering::Relaxed);
            return First::Done(Validation {
                valid: false,
                outcome: Outcome::Malformed,
                key: None,
                rate_limit: None,
                missing_scopes: Vec::new(),
                credits: None,
                organization: None,
                refused_by: None,
            });
        }
        let digest = self.digester.digest(raw);
        let entry = {
            let table = self.table.read().expect("table lock");
            match table.by_digest.get(&digest) {
                // Most deployments have no remote organisations: skip hashing the org id then.
                Some(e)
                    if table.remote_orgs.is_empty()
                        || !table.remote_orgs.contains(&e.info.org_id) =>
                {
                    e.clone()
                }
                _ => return First::Network,
            }
        };
        let now = Now {
            wall: SystemTime::now(),
            mono: Instant::now(),
        };
        let ask = Ask {
            scopes,
            cost: cost.unwrap_or(1),
            ip,
        };
        match decide(&entry, &ask, now, may_lease) {
            Step::Answer(v) => {
                self.count(&entry, &v, scopes, now.wall);
                First::Done(v)
            }
            Step::AnswerAndLease(v, points, credits) => {
                self.count(&entry, &v, scopes, now.wall);
                if self
                    .prefetch
                    .send((entry.clone(), points, credits))
                    .is_err()
                {
                    entry.lease.lock().expect("lease lock").prefetching = false;
                }
                First::Done(v)
            }
            Step::Network => First::Network,
            Step::Lease { points, credits } => First::Lease(entry, points, credits),
        }
    }

    fn count<S: AsRef<str>>(&self, entry: &Entry, v: &Validation, scopes: &[S], wall: SystemTime) {
        self.local.fetch_add(1, Ordering::Relaxed);
        let ms = wall
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        entry.counters.count(to_wire(v.outcome), ms);
        if v.valid && !scopes.is_empty() {
            let mut uses = entry.counters.scope_uses.lock().expect("scope lock");
            for s in scopes {
                *uses.entry(s.as_ref().to_string()).or_default() += 1;
            }
        }
    }

    /// The whole validation: local when it can be, else leases then local, else the network.
    pub(crate) async fn check<S: AsRef<str>>(
        &self,
        raw: &str,
        scopes: &[S],
        cost: Option<u32>,
        client_ip: &str,
    ) -> Result<Validation, Error> {
        let mut may_lease = true;
        loop {
            match self.first(raw, scopes, cost, client_ip, may_lease) {
                First::Done(v) => return Ok(v),
                First::Lease(entry, points, credits) if may_lease => {
                    may_lease = false;
                    if self.lease(&entry, points, credits).await.is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
        self.network.fetch_add(1, Ordering::Relaxed);
        let request = ValidateRequest {
            key: raw.to_string(),
            required_scopes: scopes.iter().map(|s| s.as_ref().to_string()).collect(),
            client_ip: client_ip.to_string(),
            cost,
        };
        self.flux.api_keys().check_with(request).await
    }
}

fn to_wire(o: Outcome) -> pb::Outcome {
    match o {
        Outcome::Valid => pb::Outcome::Valid,
        Outcome::NotFound => pb::Outcome::NotFound,
        Outcome::Malformed => pb::Outcome::Malformed,
        Outcome::Expired => pb::Outcome::Expired,
        Outcome::Revoked => pb::Outcome::Revoked,
        Outcome::Disabled => pb::Outcome::Disabled,
        Outcome::RateLimited => pb::Outcome::RateLimited,
        Outcome::InsufficientScope => pb::Outcome::InsufficientScope,
        Outcome::IpNotAllowed => pb::Outcome::IpNotAllowed,
        Outcome::UsageExceeded => pb::Outcome::UsageExceeded,
        Outcome::Unknown(_) => pb::Outcome::Unspecified,
    }
}
