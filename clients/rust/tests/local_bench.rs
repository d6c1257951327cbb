//! Throughput of a local validator beside the network validate, on one thread (ignored by default:
//! a measurement, not a check). Run against a server, in release:
//!   node scripts/with-server.mjs -- bash -c 'cd clients/rust && cargo test --release --test local_bench -- --ignored --nocapture'
//! It prints validations per second of wall time and per CPU-second of this process (the machine
//! may be shared; the CPU figure is the per-core one).
mod common;

use std::time::{Duration, Instant};

use common::*;
use flux_sdk::proto::v1::CreateAdminKeyRequest;
use flux_sdk::Flux;

/// CPU seconds this process has used (user + system), from /proc (Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn measure(what: &str, mut one: impl FnMut()) {
    let (began, cpu) = (Instant::now(), cpu_seconds());
    let mut n = 0u64;
    while began.elapsed() < Duration::from_secs(2) {
        for _ in 0..64 {
            one();
        }
        n += 64;
    }
    let (wall, used) = (began.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    eprintln!(
        "{what}: {:.0}/s wall, {:.0}/s per CPU-second",
        n as f64 / wall,
        n as f64 / used.max(0.01)
    );
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture, in release"]
fn local_validate_beside_network_validate() {
    let flux = admin();
    let key = create_key(&flux, &[]);
    let limited = key_in(
        &flux,
        &unique("org-bench"),
        flux_sdk::CreateApiKeyRequest {
            rate_limit: Some(flux_sdk::RateLimit {
                requests: 1_000_000_000,
                window_seconds: 3600,
            }),
            ..Default::default()
        },
    );
    let mut raw = flux.raw_admin_keys().expect("raw admin client");
    let request = CreateAdminKeyRequest {
        name: unique("rust-local-bench"),
        local_validation: true,
        ..Default::default()
    };
    let secret = flux
        .runtime()
        .block_on(raw.create_admin_key(request))
        .expect("admin key")
        .into_inner()
        .secret;
    let client = Flux::init_with_url(secret, url());
    let validator = client.api_keys().local_validator().expect("start");
    for _ in 0..3 {
        measure("local validate", || {
            assert!(validator.check(&key.secret, &[]).unwrap().valid)
        });
        measure(
            "local validate, rate-limited key (leases of 10,000)",
            || assert!(validator.check(&limited.secret, &[]).unwrap().valid),
        );
        measure("network validate", || {
            assert!(client.api_keys().check(&key.secret, &[]).unwrap().valid)
        });
    }
    eprintln!("{:?}", validator.stats());
    validator.close().expect("close");
}
