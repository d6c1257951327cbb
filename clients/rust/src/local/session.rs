//! The background half of a validator: subscribe, apply the stream in seq order, acknowledge, and on
//! any error, gap, end of stream or silence drop every local state and subscribe again with backoff
//! (protocol rules 1 and 2 of local_validation.proto).
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::{sleep, timeout};

use super::core::{Session, Shared};
use super::table::{Returns, Table};
use crate::error::Error;
use crate::proto::v1 as pb;
use crate::proto::v1::subscribe_keys_response::Event;

/// How a session ended.
enum End {
    /// Keep trying (after backoff); `fresh`: it had reached freshness (resets the backoff).
    Retry { fresh: bool },
    /// Give up: the validator cannot work with this server (only while starting).
    Fatal(Error),
}

/// Errors that retrying cannot fix while starting: a refused admin key, a missing right.
fn is_fatal(e: &Error) -> bool {
    matches!(
        e,
        Error::Unauthenticated { .. } | Error::PermissionDenied { .. }
    )
}

/// Runs sessions until the validator closes; `started` learns of the first freshness or fatal error.
pub(crate) async fn run(
    shared: Arc<Shared>,
    name: String,
    started: oneshot::Sender<Result<(), Error>>,
) {
    let mut started = Some(started);
    let mut backoff = Duration::from_millis(100);
    let mut generation = 0u64;
    loop {
        generation += 1;
        let end = one(&shared, &name, generation, &mut started).await;
        drop_state(&shared);
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        match end {
            End::Fatal(e) if started.is_some() => {
                let _ = started.take().map(|s| s.send(Err(e)));
                return;
            }
            End::Retry { fresh: true } => backoff = Duration::from_millis(100),
            _ => {}
        }
        shared.resyncs.fetch_add(1, Ordering::Relaxed);
        // Jitter: 50–100 % of the backoff, so validators cut off together do not return together.
        let jitter = 0.5 + fastrand_unit() * 0.5;
        tokio::select! {
            _ = sleep(backoff.mul_f64(jitter)) => {}
            _ = shared.shutdown.notified() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// A number in [0, 1) from the clock's low bits: enough for jitter, no dependency.
fn fastrand_unit() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}

/// Drops the table, every lease and the session: from now on every answer comes from the network.
fn drop_state(shared: &Shared) {
    shared.fresh_until_ns.store(0, Ordering::Release);
    shared.snapshot_complete.store(false, Ordering::Release);
    *shared.session.lock().expect("session lock") = None;
    let old = std::mem::take(&mut *shared.table.write().expect("table lock"));
    old.retire_all(&mut Returns::default());
    shared.returns.lock().expect("returns lock").0.clear();
    shared.leased.lock().expect("leased lock").clear();
    shared.refresh_state();
}

async fn one(
    shared: &Arc<Shared>,
    name: &str,
    generation: u64,
    started: &mut Option<oneshot::Sender<Result<(), Error>>>,
) -> End {
    let attempt = async {
        let mut client = shared.conn.local_validation()?;
        let request = pb::SubscribeKeysRequest {
            validator_name: name.to_string(),
        };
        Ok::<_, Error>(client.subscribe_keys(request).await?.into_inner())
    };
    let mut stream = match attempt.await {
        Ok(s) => s,
        Err(e) if is_fatal(&e) => return End::Fatal(e),
        Err(_) => return End::Retry { fresh: false },
    };
    // The first message: the session, checked against our pepper.
    let session = match timeout(Duration::from_secs(10), stream.message()).await {
        Ok(Ok(Some(pb::SubscribeKeysResponse {
            seq: 1,
            event: Some(Event::Session(s)),
        }))) => s,
        Ok(Err(status)) => {
            let e = Error::from(status);
            return if is_fatal(&e) {
                End::Fatal(e)
            } else {
                End::Retry { fresh: false }
            };
        }
        _ => return End::Retry { fresh: false },
    };
    if session.pepper_id != shared.digester.pepper_id() {
        return End::Fatal(Error::FailedPrecondition {
            reason: "PEPPER_MISMATCH".into(),
            message: "the validator's pepper (option `pepper` or FLUX_KEY_PEPPER) is not the server's FLUX_KEY_PEPPER".into(),
        });
    }
    let stale_after = Duration::from_millis(session.stale_after_ms.max(1).into());
    let heartbeat = Duration::from_millis(session.heartbeat_interval_ms.max(10).into());
    *shared.session.lock().expect("session lock") = Some(Session {
        id: session.session_id.clone(),
        generation,
    });
    shared.applied_seq.store(1, Ordering::Release);
    shared.required_seq.store(0, Ordering::Release);

    let applied = Arc::new(Notify::new());
    let (failed_tx, mut failed) = mpsc::unbounded_channel::<Error>();
    let (fresh_tx, mut fresh_rx) = mpsc::unbounded_channel::<()>();
    let acks = tokio::spawn(super::acks::acknowledge(
        shared.clone(),
        session.session_id.clone(),
        stale_after,
        heartbeat,
        applied.clone(),
        failed_tx,
        fresh_tx,
    ));
    let _stop_acks = AbortOnDrop(acks);

    let mut building = Some(Table::default());
    let mut expected = 2u64;
    let mut reached_fresh = false;
    loop {
        let message = tokio::select! {
            m = timeout(stale_after, stream.message()) => m,
            Some(_) = failed.recv() => return End::Retry { fresh: reached_fresh },
            Some(()) = fresh_rx.recv() => {
                reached_fresh = true;
                let _ = started.take().map(|s| s.send(Ok(())));
                continue;
            }
            _ = shared.shutdown.notified() => return End::Retry { fresh: reached_fresh },
        };
        let message = match message {
            Ok(Ok(Some(m))) => m,
            // Silence for stale_after, an error, or the end of the stream.
            _ => {
                return End::Retry {
                    fresh: reached_fresh,
                }
            }
        };
        if message.seq != expected {
            return End::Retry {
                fresh: reached_fresh,
            };
        }
        expected += 1;
        let changed = match message.event {
            Some(Event::Snapshot(chunk)) => {
                let Some(table) = building.as_mut() else {
                    return End::Retry {
                        fresh: reached_fresh,
                    };
                };
                apply_snapshot(shared, table, chunk.keys, chunk.organizations);
                if chunk.complete {
                    let table = building.take().expect("snapshot table");
                    *shared.table.write().expect("table lock") = table;
                    shared.snapshot_complete.store(true, Ordering::Release);
                }
                true
            }
            Some(Event::Change(change)) if building.is_none() => {
                apply_change(shared, change);
                true
            }
            Some(Event::Heartbeat(_)) => false,
            _ => {
                return End::Retry {
                    fresh: reached_fresh,
                }
            }
        };
        shared.applied_seq.store(message.seq, Ordering::Release);
        if changed && building.is_none() {
            applied.notify_one();
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn apply_snapshot(
    shared: &Shared,
    table: &mut Table,
    keys: Vec<pb::LocalKey>,
    orgs: Vec<pb::LocalOrganization>,
) {
    let mut counters = shared.counters.lock().expect("counters lock");
    let mut returns = Returns::default();
    for key in keys {
        table.put(key, &mut counters, &mut returns);
    }
    for org in orgs {
        table.set_org(org);
    }
}

fn apply_change(shared: &Shared, change: pb::LocalKeyChange) {
    use pb::local_key_change::Change;
    let mut table = shared.table.write().expect("table lock");
    let mut returns = shared.returns.lock().expect("returns lock");
    match change.change {
        Some(Change::Key(key)) => table.put(
            key,
            &mut shared.counters.lock().expect("counters lock"),
            &mut returns,
        ),
        Some(Change::RemovedKeyId(id)) => table.remove(&id, &mut returns),
        Some(Change::Organization(org)) => table.set_org(org),
        None => {}
    }
}
