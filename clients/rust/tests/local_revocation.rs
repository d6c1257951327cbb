//! A revocation reaches a running local validator before the Revoke RPC returns: no validation that
//! started after it returned accepts the key, over ≥ 10,000 validations racing it on another thread.
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn a_revocation_is_seen_before_the_revoke_rpc_returns() {
    let flux = admin();
    let key = create_key(&flux, &[]);
    let validator = Arc::new(
        validator_client(&flux)
            .api_keys()
            .local_validator()
            .expect("start"),
    );
    let revoked_at = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let started = Arc::new(AtomicBool::new(false));
    let racer = {
        let (validator, revoked_at, started, secret) = (
            validator.clone(),
            revoked_at.clone(),
            started.clone(),
            key.secret.clone(),
        );
        std::thread::spawn(move || {
            // (start of the call, accepted)
            let mut calls: Vec<(Instant, bool)> = Vec::with_capacity(1 << 20);
            let mut refused_since: Option<Instant> = None;
            let mut after_return = 0u32;
            loop {
                let at = Instant::now();
                let valid = validator.check(&secret, &[]).expect("check").valid;
                calls.push((at, valid));
                if calls.len() == 1000 {
                    started.store(true, Ordering::Release);
                }
                if !valid && refused_since.is_none() {
                    refused_since = Some(at);
                }
                // Enough calls, refusals for 200 ms, and 1,000 calls started after Revoke returned.
                let returned = *revoked_at.lock().unwrap();
                if returned.is_some_and(|r| at >= r) {
                    after_return += 1;
                }
                if calls.len() >= 10_000
                    && after_return >= 1000
                    && refused_since.is_some_and(|t| t.elapsed() > Duration::from_millis(200))
                {
                    return calls;
                }
                assert!(
                    calls.len() < 50_000_000,
                    "the revocation never reached the validator"
                );
            }
        })
    };
    while !started.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    flux.api_keys().revoke(&key.id).expect("revoke");
    let returned = Instant::now();
    *revoked_at.lock().unwrap() = Some(returned);
    let calls = racer.join().expect("racer");
    let accepted_after = calls
        .iter()
        .filter(|(at, valid)| *valid && *at >= returned)
        .count();
    let after = calls.iter().filter(|(at, _)| *at >= returned).count();
    assert!(
        calls.len() >= 10_000 && after > 0,
        "{} calls, {after} after Revoke returned",
        calls.len()
    );
    assert_eq!(
        accepted_after, 0,
        "accepts that started after Revoke returned"
    );
    assert!(
        calls.iter().any(|(_, valid)| *valid),
        "the key was accepted before"
    );
    let stats = validator.stats();
    assert!(
        stats.local as usize >= calls.len() - 1,
        "answered locally: {stats:?}"
    );
}
