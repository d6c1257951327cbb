//! The local validator against a real server: the same answers as the network's for VALID and every
//! refusal, and usage reported exactly on close. (Revocation race: local_revocation.rs; starts:
//! local_start.rs; a broken connection: local_resync.rs.)
mod common;

use std::time::{Duration, SystemTime};

use common::*;
use flux_sdk::{
    CreateApiKeyRequest, Credits, Error, Outcome, RateLimit, UpdateApiKeyRequest, ValidateRequest,
    Validation, ValidatorState,
};

/// Everything an answer says that does not depend on which validator spent from the budget.
fn shape(v: &Validation) -> String {
    let key = v.key.as_ref().map(|k| {
        let mut metadata: Vec<_> = k.metadata.iter().collect();
        metadata.sort();
        (&k.id, &k.org_id, &k.name, &k.scopes, metadata, k.expires_at)
    });
    let limit = v.rate_limit.map(|r| r.limit);
    format!(
        "{} {:?} {:?} {:?} {:?} {:?} {}",
        v.valid,
        v.outcome,
        key,
        v.missing_scopes,
        v.refused_by,
        limit,
        v.credits.is_some()
    )
}

#[test]
fn local_answers_equal_network_answers_for_valid_and_every_refusal() {
    let flux = admin();
    define_shared_scopes(&flux);
    let org = unique("org-local");
    let plain = key_in(
        &flux,
        &org,
        CreateApiKeyRequest {
            scopes: vec![READ.into()],
            metadata: [("team".to_string(), "core".to_string())].into(),
            expires_at: Some(SystemTime::now() + Duration::from_secs(3600)),
            ..Default::default()
        },
    );
    let revoked = key_in(&flux, &org, CreateApiKeyRequest::default());
    let disabled = key_in(&flux, &org, CreateApiKeyRequest::default());
    let fenced = key_in(
        &flux,
        &org,
        CreateApiKeyRequest {
            allowed_cidrs: vec!["203.0.113.0/24".into()],
            ..Default::default()
        },
    );
    let limited = key_in(
        &flux,
        &org,
        CreateApiKeyRequest {
            rate_limit: Some(RateLimit {
                requests: 2,
                window_seconds: 3600,
            }),
            ..Default::default()
        },
    );
    let metered = key_in(
        &flux,
        &unique("org-metered"),
        CreateApiKeyRequest {
            credits: Some(Credits {
                remaining: 2,
                refill: None,
            }),
            ..Default::default()
        },
    );

    let validator = validator_client(&flux)
        .api_keys()
        .local_validator()
        .expect("start");
    assert_eq!(validator.state(), ValidatorState::Fresh);
    // Changes made while it runs reach it before their RPC returns.
    flux.api_keys().revoke(&revoked.id).expect("revoke");
    flux.api_keys()
        .update(UpdateApiKeyRequest {
            id: disabled.id.clone(),
            enabled: Some(false),
            ..Default::default()
        })
        .expect("disable");

    let ask = |key: &str, scopes: &[&str], ip: &str, cost: Option<u32>| ValidateRequest {
        key: key.to_string(),
        required_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        client_ip: ip.to_string(),
        cost,
    };
    let cases = [
        (
            "VALID",
            ask(&plain.secret, &[READ], "", None),
            Outcome::Valid,
        ),
        (
            "INSUFFICIENT_SCOPE",
            ask(&plain.secret, &[WRITE, READ], "", None),
            Outcome::InsufficientScope,
        ),
        (
            "MALFORMED",
            ask("flux_not-a-key", &[], "", None),
            Outcome::Malformed,
        ),
        (
            "REVOKED",
            ask(&revoked.secret, &[], "", None),
            Outcome::Revoked,
        ),
        (
            "DISABLED",
            ask(&disabled.secret, &[], "", None),
            Outcome::Disabled,
        ),
        (
            "IP_NOT_ALLOWED",
            ask(&fenced.secret, &[], "198.51.100.1", None),
            Outcome::IpNotAllowed,
        ),
        (
            "IP allowed",
            ask(&fenced.secret, &[], "::ffff:203.0.113.5", None),
            Outcome::Valid,
        ),
        (
            "RATE_LIMITED (1 of 2)",
            ask(&limited.secret, &[], "", None),
            Outcome::Valid,
        ),
    ];
    for (name, request, outcome) in cases {
        let before = validator.stats();
        let local = validator.check_with(request.clone()).expect(name);
        let after = validator.stats();
        assert_eq!(
            local.outcome, outcome,
            "{name}: local outcome {local:?} {after:?}"
        );
        let network = flux.api_keys().check_with(request).expect(name);
        assert_eq!(shape(&local), shape(&network), "{name}: local vs network");
        assert_eq!(
            after.local,
            before.local + 1,
            "{name}: answered locally ({after:?})"
        );
    }
    // The window (2) is spent: one local VALID, one network VALID above; now both refuse.
    let local = validator.check(&limited.secret, &[]).expect("limited");
    let network = flux
        .api_keys()
        .check(&limited.secret, &[])
        .expect("limited");
    assert_eq!(local.outcome, Outcome::RateLimited);
    assert_eq!(shape(&local), shape(&network));
    assert_eq!(
        validator.stats().network,
        0,
        "every answer so far was local"
    );
    assert!(local
        .rate_limit
        .is_some_and(|r| r.remaining == 0 && r.retry_after > Duration::ZERO));
    // Credits: the validator leases the whole small balance (2), so the network has none left.
    let spend = |cost: u32| ask(&metered.secret, &[], "", Some(cost));
    let first = validator.check_with(spend(1)).expect("metered");
    assert!(
        first.valid && first.credits.is_some_and(|c| c.remaining == 1),
        "{first:?} {:?}",
        validator.stats()
    );
    let local = validator.check_with(spend(2)).expect("metered");
    assert_eq!(local.outcome, Outcome::UsageExceeded);
    assert_eq!(
        local.credits.map(|c| c.remaining),
        Some(1),
        "all or nothing"
    );
    let network = flux.api_keys().check_with(spend(2)).expect("metered");
    assert_eq!(shape(&local), shape(&network));
    assert!(
        validator.validate_with_cost(&metered.secret, 1).is_ok(),
        "the last leased credit"
    );
    assert!(matches!(
        validator.validate_with_cost(&metered.secret, 1),
        Err(Error::UsageExceeded { remaining: 0, .. })
    ));
    // The same errors as the network validate.
    match validator.validate(&revoked.secret) {
        Err(Error::InvalidKey {
            outcome: Outcome::Revoked,
            key: Some(k),
            ..
        }) => assert_eq!(k.id, revoked.id),
        other => panic!("revoked: {other:?}"),
    }
    assert!(matches!(
        validator.validate(&limited.secret),
        Err(Error::RateLimited { .. })
    ));
    // Unusual requests get the server's own error.
    let bad_scope = validator.validate_with_scopes(&plain.secret, &["no spaces allowed"]);
    assert!(
        matches!(bad_scope, Err(Error::InvalidArgument { .. })),
        "{bad_scope:?}"
    );
    let bad_ip = validator.validate_from(&plain.secret, "not an address");
    assert!(
        matches!(bad_ip, Err(Error::InvalidArgument { .. })),
        "{bad_ip:?}"
    );
    // A key created a moment ago may not be in the table yet: the network answers it.
    let newcomer = key_in(&flux, &org, CreateApiKeyRequest::default());
    assert!(validator.validate(&newcomer.secret).is_ok());
    validator.close().expect("close");
    assert_eq!(validator.state(), ValidatorState::Closed);
    let before = validator.stats();
    assert!(
        validator.validate(&plain.secret).is_ok(),
        "closed: over the network"
    );
    assert_eq!(validator.stats().network, before.network + 1);
}

#[test]
fn close_reports_local_usage_exactly() {
    let flux = admin();
    define_shared_scopes(&flux);
    let key = create_key(&flux, &[READ]);
    let validator = validator_client(&flux)
        .api_keys()
        .local_validator()
        .expect("start");
    for _ in 0..37 {
        validator
            .validate_with_scopes(&key.secret, &[READ])
            .expect("valid");
    }
    for _ in 0..5 {
        assert!(validator
            .validate_with_scopes(&key.secret, &[WRITE])
            .is_err());
    }
    assert_eq!(validator.stats().local, 42);
    validator.close().expect("close");
    validator.close().expect("close is idempotent");
    let usage = flux.api_keys().get_usage(&key.id).expect("usage");
    assert_eq!(usage.requests_current_period, 42);
    assert_eq!(usage.errors_current_period, 5);
    assert!(
        usage.outcomes.contains(&(Outcome::Valid, 37)),
        "{:?}",
        usage.outcomes
    );
    assert!(
        usage.outcomes.contains(&(Outcome::InsufficientScope, 5)),
        "{:?}",
        usage.outcomes
    );
    assert!(usage.last_used_at.is_some());
}
