//! The async client offers the same calls as the blocking one, and can run them concurrently.
mod common;

use std::time::Duration;

use common::{admin_key, unique, url, READ, WRITE};
use flux_sdk::r#async::Flux;
use flux_sdk::{AsyncFlux, CreateApiKeyRequest, Error, Outcome, RateLimit};

fn client() -> Flux {
    Flux::init_with_url(admin_key(), url())
}

#[tokio::test]
async fn issues_validates_rotates_and_meters_keys_without_blocking() {
    let flux = client();
    flux.ping().await.expect("ping");
    flux.api_keys()
        .define_scope(READ, "read")
        .await
        .expect("scope");
    flux.api_keys()
        .define_scope(WRITE, "write")
        .await
        .expect("scope");
    let key = flux
        .api_keys()
        .create(CreateApiKeyRequest {
            org_id: unique("org"),
            name: "async".into(),
            scopes: vec![READ.into(), WRITE.into()],
            rate_limit: Some(RateLimit {
                requests: 5,
                window_seconds: 3600,
            }),
            ..Default::default()
        })
        .await
        .expect("create");

    // Five validations in flight at once use up the budget exactly.
    let api_keys = flux.api_keys();
    let results = tokio::join!(
        api_keys.validate(&key.secret),
        api_keys.validate(&key.secret),
        api_keys.validate(&key.secret),
        api_keys.validate(&key.secret),
        api_keys.validate(&key.secret),
    );
    for info in [results.0, results.1, results.2, results.3, results.4] {
        assert!(info.expect("within limit").has_scope(WRITE));
    }
    match api_keys.validate(&key.secret).await {
        Err(Error::RateLimited { retry_after, .. }) => assert!(retry_after > Duration::ZERO),
        other => panic!("sixth validation: {other:?}"),
    }

    let rotated = api_keys.rotate(&key.id).await.expect("rotate");
    match api_keys.validate(&key.secret).await {
        Err(Error::InvalidKey { outcome, .. }) => assert_eq!(outcome, Outcome::NotFound),
        other => panic!("old secret: {other:?}"),
    }
    // The old secret matches no key any more, so its NOT_FOUND is not this key's usage.
    let usage = api_keys.get_usage(&rotated.id).await.expect("usage");
    assert_eq!(usage.requests_current_period, 6);
    assert_eq!(usage.errors_current_period, 1);

    let revoked = api_keys.revoke(&key.id).await.expect("revoke");
    assert!(revoked.revoked_at.is_some());
    match api_keys.get(&key.id).await {
        Ok(got) => assert_eq!(got.state, flux_sdk::KeyState::Revoked),
        Err(e) => panic!("get revoked key: {e}"),
    }
}

#[tokio::test]
async fn maps_errors_like_the_blocking_client() {
    let wrong = AsyncFlux::init_with_url("flux_adm_wrong", url());
    match wrong.api_keys().list_scopes().await {
        Err(e @ Error::Unauthenticated { .. }) => assert_eq!(e.reason(), Some("ADMIN_KEY_INVALID")),
        other => panic!("wrong admin key: {other:?}"),
    }
    let flux = client();
    match flux.api_keys().get("key_00000000000000000000").await {
        Err(Error::NotFound { reason, .. }) => assert_eq!(reason, "KEY_NOT_FOUND"),
        other => panic!("missing key: {other:?}"),
    }
    let built = AsyncFlux::builder(admin_key())
        .url("http://127.0.0.1:1")
        .connect_timeout(Duration::from_secs(2))
        .build_async()
        .expect("valid url");
    assert!(matches!(built.ping().await, Err(Error::Transport { .. })));
}
