//! Each kind of failure surfaces as its own `flux_sdk::Error` variant, decided by the server's
//! ErrorInfo reason (or by the transport), never by message text.
mod common;

use common::{admin, admin_key, create_key, define_shared_scopes, unique, url, READ};
use flux_sdk::proto::v1::{CreateAdminKeyRequest, RevokeAdminKeyRequest};
use flux_sdk::{CreateApiKeyRequest, Error, Flux, Outcome};

fn create_request(scopes: &[&str]) -> CreateApiKeyRequest {
    CreateApiKeyRequest {
        org_id: unique("org"),
        name: "error mapping".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// Creates an admin key through the raw AdminKeyService client; returns (id, secret).
fn create_admin_key(flux: &Flux, org_id: &str, validate_only: bool) -> (String, String) {
    let mut raw = flux.raw_admin_keys().expect("raw admin client");
    let request = CreateAdminKeyRequest {
        name: unique("rust-sdk-admin"),
        org_id: org_id.to_string(),
        validate_only,
        ..Default::default()
    };
    let response = flux
        .runtime()
        .block_on(raw.create_admin_key(request))
        .expect("create admin key")
        .into_inner();
    (response.admin_key.expect("admin_key").id, response.secret)
}

fn revoke_admin_key(flux: &Flux, id: &str) {
    let mut raw = flux.raw_admin_keys().expect("raw admin client");
    let request = RevokeAdminKeyRequest { id: id.to_string() };
    flux.runtime()
        .block_on(raw.revoke_admin_key(request))
        .expect("revoke admin key");
}

#[test]
fn a_wrong_admin_key_is_unauthenticated() {
    let flux = Flux::init_with_url("flux_adm_this-is-not-a-real-admin-key", url());
    match flux.api_keys().list_scopes() {
        Err(err @ Error::Unauthenticated { .. }) => {
            assert_eq!(err.reason(), Some("ADMIN_KEY_INVALID"), "{err}")
        }
        other => panic!("wrong admin key: {other:?}"),
    }
    let empty = Flux::init_with_url("", url());
    match empty.api_keys().list_scopes() {
        Err(Error::Unauthenticated { reason, .. }) => {
            assert!(["ADMIN_KEY_MISSING", "ADMIN_KEY_INVALID"].contains(&reason.as_str()))
        }
        other => panic!("empty admin key: {other:?}"),
    }
    // A key that cannot even be sent as a header fails the same way, before any I/O.
    let unsendable = Flux::init_with_url("line\nbreak", url());
    match unsendable.api_keys().list_scopes() {
        Err(Error::Unauthenticated { reason, .. }) => assert_eq!(reason, "ADMIN_KEY_INVALID"),
        other => panic!("unsendable admin key: {other:?}"),
    }
}

#[test]
fn a_validate_only_admin_key_may_validate_but_not_create() {
    let flux = admin();
    define_shared_scopes(&flux);
    let key = create_key(&flux, &[READ]);
    let (admin_id, secret) = create_admin_key(&flux, "", true);
    let limited = Flux::init_with_url(secret, url());

    match limited.api_keys().create(create_request(&[READ])) {
        Err(Error::PermissionDenied { reason, .. }) => assert_eq!(reason, "PERMISSION_DENIED"),
        other => panic!("create with a validate-only key: {other:?}"),
    }
    let info = limited
        .api_keys()
        .validate(&key.secret)
        .expect("validate-only may validate");
    assert_eq!(info.id, key.id);

    revoke_admin_key(&flux, &admin_id);
    match limited.api_keys().validate(&key.secret) {
        Err(Error::Unauthenticated { .. }) => {}
        other => panic!("revoked admin key: {other:?}"),
    }
}

#[test]
fn an_org_restricted_admin_key_sees_other_orgs_keys_as_missing() {
    let flux = admin();
    define_shared_scopes(&flux);
    let other_org_key = create_key(&flux, &[READ]);
    let (admin_id, secret) = create_admin_key(&flux, &unique("org"), false);
    let restricted = Flux::init_with_url(secret, url());

    match restricted.api_keys().get(&other_org_key.id) {
        Err(Error::NotFound { reason, .. }) => assert_eq!(reason, "KEY_NOT_FOUND"),
        other => panic!("another org's key: {other:?}"),
    }
    match restricted.api_keys().validate(&other_org_key.secret) {
        Err(Error::InvalidKey { outcome, key, .. }) => {
            assert_eq!(outcome, Outcome::NotFound);
            assert!(key.is_none());
        }
        other => panic!("validating another org's key: {other:?}"),
    }
    revoke_admin_key(&flux, &admin_id);
}

#[test]
fn an_undefined_scope_is_an_invalid_argument_naming_it() {
    let flux = admin();
    let scope = unique("sdk-rust:undefined");
    match flux.api_keys().create(create_request(&[&scope])) {
        Err(Error::InvalidArgument {
            reason, metadata, ..
        }) => {
            assert_eq!(reason, "UNKNOWN_SCOPE");
            assert_eq!(metadata.get("scopes"), Some(&scope));
        }
        other => panic!("undefined scope: {other:?}"),
    }
    let mut bad = create_request(&[]);
    bad.org_id = String::new();
    match flux.api_keys().create(bad) {
        Err(Error::InvalidArgument { reason, .. }) => assert_eq!(reason, "INVALID_ARGUMENT"),
        other => panic!("missing org_id: {other:?}"),
    }
}

#[test]
fn a_missing_key_id_is_not_found() {
    let flux = admin();
    for result in [
        flux.api_keys().get("key_00000000000000000000").map(drop),
        flux.api_keys().rotate("key_00000000000000000000").map(drop),
        flux.api_keys()
            .get_usage("key_00000000000000000000")
            .map(drop),
    ] {
        match result {
            Err(Error::NotFound { reason, .. }) => assert_eq!(reason, "KEY_NOT_FOUND"),
            other => panic!("missing key: {other:?}"),
        }
    }
}

#[test]
fn an_unreachable_server_is_a_transport_error() {
    let flux = Flux::init_with_url(admin_key(), "http://127.0.0.1:1");
    match flux.api_keys().list_scopes() {
        Err(err @ Error::Transport { .. }) => assert!(err.is_retryable()),
        other => panic!("unreachable server: {other:?}"),
    }
    let unusable = Flux::init_with_url(admin_key(), "not a url");
    assert!(matches!(unusable.ping(), Err(Error::Transport { .. })));
    let built = Flux::builder(admin_key()).url("not a url").build();
    assert!(matches!(built, Err(Error::Transport { .. })));
}
