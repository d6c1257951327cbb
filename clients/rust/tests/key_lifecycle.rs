//! The key lifecycle through the blocking client: issue, validate, rotate, rate limit, meter,
//! update, list, revoke, and scope definitions.
mod common;

use std::time::{Duration, SystemTime};

use common::{admin, create_key, define_shared_scopes, unique, READ, WRITE};
use flux_sdk::{
    CreateApiKeyRequest, Error, KeyState, ListApiKeysRequest, Outcome, RateLimit,
    UpdateApiKeyRequest,
};

#[test]
fn rejects_the_old_secret_as_soon_as_rotate_returns() {
    let flux = admin();
    define_shared_scopes(&flux);
    let key = create_key(&flux, &[READ]);
    assert!(key.secret.starts_with("flux_"), "secret shape: {key:?}");

    let info = flux
        .api_keys()
        .validate(&key.secret)
        .expect("fresh key validates");
    assert_eq!(info.id, key.id);
    assert_eq!(info.org_id, key.api_key.org_id);
    assert!(info.has_scope(READ));
    assert!(!info.has_scope(WRITE));

    let rotated = flux.api_keys().rotate(&key.id).expect("rotate");
    assert_eq!(rotated.id, key.id);
    assert_ne!(rotated.secret, key.secret);
    assert_eq!(rotated.api_key.scopes, vec![READ.to_string()]);

    match flux.api_keys().validate(&key.secret) {
        Err(Error::InvalidKey { outcome, .. }) => assert_eq!(outcome, Outcome::NotFound),
        other => panic!("old secret after rotation: {other:?}"),
    }
    let info = flux
        .api_keys()
        .validate(&rotated.secret)
        .expect("new secret");
    assert_eq!(info.id, key.id);

    // The old secret matches no key any more, so its NOT_FOUND is not this key's usage.
    let usage = flux.api_keys().get_usage(&key.id).expect("usage");
    assert_eq!(usage.id, key.id);
    assert_eq!(usage.requests_current_period, 2);
    assert_eq!(usage.errors_current_period, 0);
    assert!(usage.last_used_at.is_some());
}

#[test]
fn rotate_says_how_many_replicas_had_not_confirmed_it_zero_on_a_single_server() {
    let flux = admin();
    define_shared_scopes(&flux);
    let key = create_key(&flux, &[READ]);
    assert_eq!(key.unconfirmed_replicas, 0, "create never reports replicas");
    let rotated = flux.api_keys().rotate(&key.id).expect("rotate");
    assert_eq!(rotated.unconfirmed_replicas, 0);
    let graced = flux
        .api_keys()
        .rotate_with_grace(&key.id, Duration::from_secs(60))
        .expect("rotate with grace");
    assert_eq!(graced.unconfirmed_replicas, 0);
    assert!(!format!("{graced:?}").contains(&graced.secret));
}

#[test]
fn refuses_validation_with_retry_after_once_the_limit_is_used_up() {
    let flux = admin();
    define_shared_scopes(&flux);
    let key = flux
        .api_keys()
        .create(CreateApiKeyRequest {
            org_id: unique("org"),
            name: "rate limited".into(),
            scopes: vec![READ.into()],
            rate_limit: Some(RateLimit {
                requests: 3,
                window_seconds: 60,
            }),
            ..Default::default()
        })
        .expect("create");
    assert_eq!(
        key.api_key.rate_limit,
        Some(RateLimit {
            requests: 3,
            window_seconds: 60
        })
    );

    for remaining in [2, 1, 0] {
        let info = flux.api_keys().validate(&key.secret).expect("within limit");
        let state = info.rate_limit.expect("rate limit state");
        assert_eq!((state.limit, state.remaining), (3, remaining));
    }
    match flux.api_keys().validate(&key.secret) {
        Err(Error::RateLimited {
            retry_after, limit, ..
        }) => {
            assert!(
                retry_after > Duration::ZERO,
                "retry_after = {retry_after:?}"
            );
            assert!(retry_after <= Duration::from_secs(60));
            assert_eq!(limit, 3);
        }
        other => panic!("fourth validation: {other:?}"),
    }

    let usage = flux.api_keys().get_usage(&key.id).expect("usage");
    assert_eq!(usage.requests_current_period, 4);
    assert_eq!(usage.errors_current_period, 1);
    assert!(usage.outcomes.contains(&(Outcome::RateLimited, 1)));
    assert!(usage.outcomes.contains(&(Outcome::Valid, 3)));
}

#[test]
fn refuses_a_key_lacking_a_required_scope() {
    let flux = admin();
    define_shared_scopes(&flux);
    let key = create_key(&flux, &[READ]);
    let info = flux.api_keys().validate_with_scopes(&key.secret, &[READ]);
    assert_eq!(info.expect("has READ").id, key.id);
    match flux
        .api_keys()
        .validate_with_scopes(&key.secret, &[READ, WRITE])
    {
        Err(Error::InvalidKey {
            outcome: Outcome::InsufficientScope,
            missing_scopes,
            key: Some(info),
        }) => {
            assert_eq!(missing_scopes, vec![WRITE.to_string()]);
            assert_eq!(info.id, key.id);
        }
        other => panic!("missing WRITE: {other:?}"),
    }
}

#[test]
fn reports_malformed_and_disabled_keys_as_invalid() {
    let flux = admin();
    define_shared_scopes(&flux);
    let check = flux.api_keys().check("not-a-flux-key", &[]).expect("check");
    assert!(!check.valid);
    assert_eq!(check.outcome, Outcome::Malformed);
    assert!(check.key.is_none());

    let key = create_key(&flux, &[READ]);
    let disabled = flux
        .api_keys()
        .update(UpdateApiKeyRequest {
            id: key.id.clone(),
            enabled: Some(false),
            ..Default::default()
        })
        .expect("disable");
    assert_eq!(
        (disabled.enabled, disabled.state),
        (false, KeyState::Disabled)
    );
    match flux.api_keys().validate(&key.secret) {
        Err(Error::InvalidKey { outcome, .. }) => assert_eq!(outcome, Outcome::Disabled),
        other => panic!("disabled key: {other:?}"),
    }
}

#[test]
fn updates_lists_and_revokes_keys_of_one_org() {
    let flux = admin();
    define_shared_scopes(&flux);
    let first = create_key(&flux, &[READ]);
    let org_id = first.api_key.org_id.clone();
    let second = flux
        .api_keys()
        .create(CreateApiKeyRequest {
            org_id: org_id.clone(),
            name: "second".into(),
            metadata: [("team".to_string(), "billing".to_string())].into(),
            ..Default::default()
        })
        .expect("second key");

    let expires_at = SystemTime::now() + Duration::from_secs(3600);
    let updated = flux
        .api_keys()
        .update(UpdateApiKeyRequest {
            id: first.id.clone(),
            name: Some("renamed".into()),
            scopes: Some(vec![READ.into(), WRITE.into()]),
            rate_limit: Some(Some(RateLimit {
                requests: 10,
                window_seconds: 1,
            })),
            expires_at: Some(Some(expires_at)),
            ..Default::default()
        })
        .expect("update");
    assert_eq!(updated.name, "renamed");
    assert_eq!(updated.scopes, vec![READ.to_string(), WRITE.to_string()]);
    let got = flux.api_keys().get(&first.id).expect("get");
    assert_eq!(
        (got.name.as_str(), got.state),
        ("renamed", KeyState::Active)
    );
    assert_eq!(got.rate_limit.map(|r| r.requests), Some(10));
    assert!(!got.display_hint.is_empty());
    let stored = got.expires_at.expect("expires_at");
    let drift = stored
        .max(expires_at)
        .duration_since(stored.min(expires_at))
        .unwrap();
    assert!(
        drift < Duration::from_millis(1),
        "expires_at drift {drift:?}"
    );

    // Newest first; keys created within one millisecond may come in either order.
    let listed = |include_revoked| {
        let page = flux.api_keys().list(ListApiKeysRequest {
            org_id: org_id.clone(),
            include_revoked,
            ..Default::default()
        });
        let keys = page.expect("list").api_keys;
        assert!(keys.windows(2).all(|w| w[0].created_at >= w[1].created_at));
        let mut ids: Vec<String> = keys.into_iter().map(|k| k.id).collect();
        ids.sort();
        ids
    };
    let mut both = vec![first.id.clone(), second.id.clone()];
    both.sort();
    assert_eq!(listed(false), both);

    let revoked = flux.api_keys().revoke(&first.id).expect("revoke");
    assert_eq!(revoked.state, KeyState::Revoked);
    assert!(revoked.revoked_at.is_some());
    match flux.api_keys().validate(&first.secret) {
        Err(Error::InvalidKey { outcome, .. }) => assert_eq!(outcome, Outcome::Revoked),
        other => panic!("revoked key: {other:?}"),
    }
    assert_eq!(listed(false), vec![second.id.clone()]);
    assert_eq!(listed(true), both);

    match flux.api_keys().rotate(&first.id) {
        Err(Error::FailedPrecondition { reason, .. }) => assert_eq!(reason, "KEY_REVOKED"),
        other => panic!("rotating a revoked key: {other:?}"),
    }
}

#[test]
fn deletes_a_scope_only_once_no_live_key_carries_it() {
    let flux = admin();
    let scope = unique("sdk-rust:tmp");
    let defined = flux
        .api_keys()
        .define_scope(&scope, "temporary")
        .expect("define");
    assert_eq!(
        (defined.name.as_str(), defined.description.as_str()),
        (scope.as_str(), "temporary")
    );
    let names = |flux: &flux_sdk::Flux| {
        let scopes = flux.api_keys().list_scopes().expect("list scopes");
        scopes.into_iter().map(|s| s.name).collect::<Vec<_>>()
    };
    assert!(names(&flux).contains(&scope));

    let key = create_key(&flux, &[&scope]);
    match flux.api_keys().delete_scope(&scope) {
        Err(Error::FailedPrecondition { reason, .. }) => assert_eq!(reason, "SCOPE_IN_USE"),
        other => panic!("deleting a scope in use: {other:?}"),
    }
    flux.api_keys().revoke(&key.id).expect("revoke");
    flux.api_keys()
        .delete_scope(&scope)
        .expect("delete unused scope");
    assert!(!names(&flux).contains(&scope));
    match flux.api_keys().delete_scope(&scope) {
        Err(Error::NotFound { reason, .. }) => assert_eq!(reason, "SCOPE_NOT_FOUND"),
        other => panic!("deleting a deleted scope: {other:?}"),
    }
}
