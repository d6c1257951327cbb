//! Changes reach a running local validator before their RPC returns: no validation that started
//! after Revoke (or Rotate) returned accepts the key (or its old secret), over ≥ 10,000 validations
//! racing the change on another thread.
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use flux_sdk::{Flux, LocalValidator};

/// Validates `secret` on another thread while `change` runs on this one; returns every call as
/// (start, accepted) and the instant `change` returned.
fn race(
    validator: Arc<LocalValidator>,
    secret: String,
    change: impl FnOnce(),
) -> (Vec<(Instant, bool)>, Instant) {
    let returned_at = Arc::new(Mutex::new(None::<Instant>));
    let started = Arc::new(AtomicBool::new(false));
    let racer = {
        let (returned_at, started) = (returned_at.clone(), started.clone());
        std::thread::spawn(move || {
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
                // Enough calls, refusals for 200 ms, and 1,000 calls started after the change returned.
                if returned_at.lock().unwrap().is_some_and(|r| at >= r) {
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
                    "the change never reached the validator"
                );
            }
        })
    };
    while !started.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    change();
    let returned = Instant::now();
    *returned_at.lock().unwrap() = Some(returned);
    (racer.join().expect("racer"), returned)
}

/// The race's verdict: accepted before, never after the change returned.
fn check(calls: &[(Instant, bool)], returned: Instant, what: &str) {
    let after = calls.iter().filter(|(at, _)| *at >= returned).count();
    let accepted_after = calls
        .iter()
        .filter(|(at, valid)| *valid && *at >= returned)
        .count();
    assert!(
        calls.len() >= 10_000 && after >= 1000,
        "{} calls, {after} after {what} returned",
        calls.len()
    );
    assert_eq!(
        accepted_after, 0,
        "accepts that started after {what} returned"
    );
    assert!(
        calls.iter().any(|(_, valid)| *valid),
        "the key was accepted before {what}"
    );
}

fn validator(flux: &Flux) -> Arc<LocalValidator> {
    Arc::new(
        validator_client(flux)
            .api_keys()
            .local_validator()
            .expect("start"),
    )
}

#[test]
fn a_revocation_is_seen_before_the_revoke_rpc_returns() {
    let flux = admin();
    let key = create_key(&flux, &[]);
    let validator = validator(&flux);
    let (calls, returned) = race(validator.clone(), key.secret.clone(), || {
        flux.api_keys().revoke(&key.id).expect("revoke");
    });
    check(&calls, returned, "Revoke");
    let stats = validator.stats();
    assert!(
        stats.local as usize >= calls.len() - 1,
        "answered locally: {stats:?}"
    );
}

#[test]
fn a_rotated_keys_old_secret_is_refused_before_the_rotate_rpc_returns() {
    let flux = admin();
    let key = create_key(&flux, &[]);
    let validator = validator(&flux);
    let new_secret = Mutex::new(None);
    let (calls, returned) = race(validator.clone(), key.secret.clone(), || {
        *new_secret.lock().unwrap() = Some(flux.api_keys().rotate(&key.id).expect("rotate").secret);
    });
    check(&calls, returned, "Rotate");
    let new_secret = new_secret.into_inner().unwrap().expect("new secret");
    let before = validator.stats();
    assert_eq!(
        validator.validate(&new_secret).expect("new secret").id,
        key.id
    );
    assert_eq!(
        validator.stats().local,
        before.local + 1,
        "the new secret is answered locally"
    );
}
