//! Shared set-up of the integration tests: they run against a real Flux server whose address and
//! admin key come from the environment (`node scripts/with-server.mjs` sets both).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use flux_sdk::proto::v1::CreateAdminKeyRequest;
use flux_sdk::{CreateApiKeyRequest, Flux, IssuedApiKey};

/// Scopes the tests share; defining them again only redescribes them.
pub const READ: &str = "sdk-rust:read";
pub const WRITE: &str = "sdk-rust:write";

/// An environment variable the runner always sets; its absence is a set-up mistake.
pub fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!(
            "{name} is not set. These tests need a running Flux server: from the repo root run \
             `node scripts/with-server.mjs --tls -- bash clients/rust/run-tests.sh`, or set FLUX_URL \
             and FLUX_TEST_ADMIN_KEY yourself."
        ),
    }
}

pub fn url() -> String {
    env("FLUX_URL")
}

pub fn admin_key() -> String {
    env("FLUX_TEST_ADMIN_KEY")
}

/// A blocking client with the full admin key.
pub fn admin() -> Flux {
    Flux::init_with_url(admin_key(), url())
}

/// A name no other test (or earlier run against the same database) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{nanos:x}-{n}", std::process::id())
}

/// Defines the shared scopes (idempotent).
pub fn define_shared_scopes(flux: &Flux) {
    flux.api_keys()
        .define_scope(READ, "Read access, used by the Rust SDK tests")
        .expect("define READ scope");
    flux.api_keys()
        .define_scope(WRITE, "Write access, used by the Rust SDK tests")
        .expect("define WRITE scope");
}

/// A key in a fresh org carrying `scopes` (which must be defined).
pub fn create_key(flux: &Flux, scopes: &[&str]) -> IssuedApiKey {
    flux.api_keys()
        .create(CreateApiKeyRequest {
            org_id: unique("org"),
            name: "Rust SDK test key".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .expect("create key")
}

/// An admin key with the local-validation right (optionally limited to `org_id`); its secret.
pub fn validator_admin_key(flux: &Flux, org_id: &str, local_validation: bool) -> String {
    let mut raw = flux.raw_admin_keys().expect("raw admin client");
    let request = CreateAdminKeyRequest {
        name: unique("rust-local-validator"),
        org_id: org_id.to_string(),
        validate_only: false,
        local_validation,
    };
    let response = flux.runtime().block_on(raw.create_admin_key(request));
    response.expect("create admin key").into_inner().secret
}

pub fn validator_client(flux: &Flux) -> Flux {
    Flux::init_with_url(validator_admin_key(flux, "", true), url())
}

pub fn key_in(flux: &Flux, org_id: &str, request: CreateApiKeyRequest) -> flux_sdk::IssuedApiKey {
    let request = CreateApiKeyRequest {
        org_id: org_id.to_string(),
        name: "local validator test key".into(),
        ..request
    };
    flux.api_keys().create(request).expect("create key")
}
