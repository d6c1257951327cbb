//! Acknowledgements (protocol rule 2): AcknowledgeKeyChanges at once after changes were applied and
//! every heartbeat interval; each success makes the validator fresh for stale_after from its start.
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};
use tokio::time::sleep;

use super::core::Shared;
use super::ValidatorState;
use crate::error::Error;
use crate::proto::v1 as pb;

/// Acknowledges at once after changes were applied (coalesced) and every heartbeat interval; each
/// success started at `t` makes the validator fresh until `t + stale_after` (if it applied enough).
pub(crate) async fn acknowledge(
    shared: Arc<Shared>,
    session_id: String,
    stale_after: Duration,
    heartbeat: Duration,
    applied: Arc<Notify>,
    failed: mpsc::UnboundedSender<Error>,
    fresh: mpsc::UnboundedSender<()>,
) {
    let mut was_fresh = false;
    loop {
        tokio::select! {
            _ = applied.notified() => {}
            _ = sleep(heartbeat) => {}
        }
        let applied_seq = shared.applied_seq.load(Ordering::Acquire);
        let complete = shared.snapshot_complete.load(Ordering::Acquire);
        let started = Instant::now();
        let request = pb::AcknowledgeKeyChangesRequest {
            session_id: session_id.clone(),
            applied_seq,
        };
        let answer = async {
            Ok::<_, Error>(
                shared
                    .conn
                    .local_validation()?
                    .acknowledge_key_changes(request)
                    .await?
                    .into_inner(),
            )
        };
        match answer.await {
            Ok(a) => {
                shared.required_seq.store(a.required_seq, Ordering::Release);
                if complete {
                    let until = started.saturating_duration_since(shared.base) + stale_after;
                    shared.fresh_until_ns.store(
                        u64::try_from(until.as_nanos()).unwrap_or(u64::MAX),
                        Ordering::Release,
                    );
                }
            }
            Err(e) => {
                let _ = failed.send(e);
                return;
            }
        }
        shared.refresh_state();
        if !was_fresh && shared.state() == ValidatorState::Fresh {
            was_fresh = true;
            let _ = fresh.send(());
        }
    }
}
