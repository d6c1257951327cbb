//! Usage reports (protocol rule 5): local answers per key, sent at least once a second and on close
//! with report_seq 1, 2, 3 … per session; an unacknowledged report is sent again, unchanged but for
//! its session, before anything newer. Closing also gives back every unused lease.
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tokio::time::sleep;

use super::core::Shared;
use crate::error::Error;
use crate::proto::v1 as pb;

/// The report state of a validator; lives behind an async mutex so reports never overlap.
#[derive(Default)]
pub(crate) struct Reporter {
    generation: u64,
    next_seq: u64,
    pending: Option<pb::ReportLocalUsageRequest>,
}

/// Reports every second until the validator closes; refreshes the validator's state meanwhile
/// (freshness lapses on its own when acknowledgements stop succeeding).
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut ticks = 0u32;
    loop {
        tokio::select! {
            _ = sleep(Duration::from_millis(100)) => {}
            _ = shared.shutdown.notified() => return,
        }
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        shared.refresh_state();
        ticks += 1;
        if ticks.is_multiple_of(10) {
            let _ = report(&shared, false).await;
        }
    }
}

/// Sends what is pending, then a report of everything counted since; `closing` also returns every
/// lease and ends the session.
pub(crate) async fn report(shared: &Shared, closing: bool) -> Result<(), Error> {
    let mut reporter = shared.reporter.lock().await;
    let session = shared.session().ok_or_else(|| Error::Unavailable {
        reason: String::new(),
        message: "the local validator has no session to report usage in".into(),
        retry_after: None,
    })?;
    if reporter.generation != session.generation {
        reporter.generation = session.generation;
        reporter.next_seq = 1;
        if let Some(pending) = reporter.pending.as_mut() {
            pending.session_id = session.id.clone();
            pending.report_seq = 0;
        }
    }
    if let Some(mut pending) = reporter.pending.take() {
        if pending.report_seq == 0 {
            pending.report_seq = reporter.next_seq;
            reporter.next_seq += 1;
        }
        reporter.pending = Some(pending.clone());
        send(shared, pending).await?;
        reporter.pending = None;
    }
    shared.sweep_expired_leases();
    if closing {
        let table = shared.table.read().expect("table lock");
        table.retire_all(&mut shared.returns.lock().expect("returns lock"));
    }
    let mut request = drain(shared);
    if request.keys.is_empty() && request.malformed == 0 && !closing {
        return Ok(());
    }
    request.session_id = session.id;
    request.report_seq = reporter.next_seq;
    request.closing = closing;
    reporter.next_seq += 1;
    reporter.pending = Some(request.clone());
    send(shared, request).await?;
    reporter.pending = None;
    Ok(())
}

async fn send(shared: &Shared, request: pb::ReportLocalUsageRequest) -> Result<(), Error> {
    shared
        .conn
        .local_validation()?
        .report_local_usage(request)
        .await?;
    Ok(())
}

/// Everything counted since the last report, and the leases to give back; resets the counters.
fn drain(shared: &Shared) -> pb::ReportLocalUsageRequest {
    let mut returns = std::mem::take(&mut shared.returns.lock().expect("returns lock").0);
    let mut keys = Vec::new();
    let counters = shared.counters.lock().expect("counters lock");
    for (id, c) in counters.iter() {
        let outcomes: Vec<pb::OutcomeCount> = c
            .outcomes
            .iter()
            .enumerate()
            .filter_map(|(n, count)| {
                let count = count.swap(0, Ordering::AcqRel);
                (count > 0).then_some(pb::OutcomeCount {
                    outcome: n as i32,
                    count: count as i64,
                })
            })
            .collect();
        let scope_uses: Vec<pb::ScopeUseCount> =
            std::mem::take(&mut *c.scope_uses.lock().expect("scope lock"))
                .into_iter()
                .take(100)
                .map(|(scope, count)| pb::ScopeUseCount { scope, count })
                .collect();
        let (points, credits) = returns.remove(id).unwrap_or_default();
        if outcomes.is_empty() && points == 0 && credits == 0 {
            continue;
        }
        let last = c.last_used_ms.load(Ordering::Acquire);
        keys.push(pb::LocalKeyUsage {
            key_id: id.clone(),
            outcomes,
            scope_uses,
            last_used_at: (last > 0)
                .then(|| prost_types::Timestamp::from(UNIX_EPOCH + Duration::from_millis(last))),
            returned_rate_limit_points: points,
            returned_credits: credits,
        });
    }
    for (id, (points, credits)) in returns {
        keys.push(pb::LocalKeyUsage {
            key_id: id,
            returned_rate_limit_points: points,
            returned_credits: credits,
            ..Default::default()
        });
    }
    // Keys no longer in the table and with nothing left to report are forgotten (lock order:
    // table before counters, as when changes are applied).
    drop(counters);
    let table = shared.table.read().expect("table lock");
    let mut counters = shared.counters.lock().expect("counters lock");
    counters.retain(|id, c| {
        table.holds(id) || c.outcomes.iter().any(|n| n.load(Ordering::Relaxed) > 0)
    });
    pb::ReportLocalUsageRequest {
        keys,
        malformed: shared.malformed.swap(0, Ordering::AcqRel),
        ..Default::default()
    }
}
