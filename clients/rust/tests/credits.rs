//! Credits and organisation-wide limits through the blocking and async clients: create/update with
//! credits, validate with a cost (the balance on the answer, `Error::UsageExceeded` with
//! `refused_by`), and the organisation's shared policy refusing as `PolicyLevel::Organization`.
mod common;

use std::time::Duration;

use common::{admin, admin_key, unique, url};
use flux_sdk::{
    AsyncFlux, CreateApiKeyRequest, CreditRefill, Credits, Error, Flux, Outcome, PolicyLevel,
    RateLimit, RefillSchedule, UpdateApiKeyRequest, UpdateOrganizationPolicyRequest,
    ValidateRequest,
};

fn metered(flux: &Flux, org_id: &str, credits: Credits) -> flux_sdk::IssuedApiKey {
    flux.api_keys()
        .create(CreateApiKeyRequest {
            org_id: org_id.to_string(),
            name: "metered".into(),
            credits: Some(credits),
            ..Default::default()
        })
        .expect("create metered key")
}

#[test]
fn spends_credits_by_cost_and_refuses_without_spending() {
    let flux = admin();
    let key = metered(
        &flux,
        &unique("org"),
        Credits {
            remaining: 5,
            refill: Some(CreditRefill::monthly(100, 31)),
        },
    );
    let credits = key.api_key.credits.expect("credits on the created key");
    assert_eq!(credits.remaining, 5);
    let refill = credits.refill.expect("refill");
    assert_eq!(
        (refill.amount, refill.schedule),
        (100, RefillSchedule::DayOfMonth(31))
    );

    let info = flux.api_keys().validate_with_cost(&key.secret, 3).unwrap();
    let balance = info.credits.expect("balance on the answer");
    assert_eq!(balance.remaining, 2);
    assert!(balance.next_refill_at.is_some());
    let read = flux.api_keys().validate_with_cost(&key.secret, 0).unwrap();
    assert_eq!(read.credits.map(|c| c.remaining), Some(2));

    match flux.api_keys().validate_with_cost(&key.secret, 3) {
        Err(Error::UsageExceeded {
            refused_by,
            remaining,
            next_refill_at,
            key,
        }) => {
            assert_eq!((refused_by, remaining), (PolicyLevel::Key, 2));
            assert!(next_refill_at.is_some() && key.is_some());
        }
        other => panic!("expected UsageExceeded, got {other:?}"),
    }
    let checked = flux
        .api_keys()
        .check_with(ValidateRequest {
            key: key.secret.clone(),
            cost: Some(3),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (checked.outcome, checked.refused_by),
        (Outcome::UsageExceeded, Some(PolicyLevel::Key))
    );
    let usage = flux.api_keys().get_usage(&key.id).unwrap();
    assert!(usage.outcomes.contains(&(Outcome::UsageExceeded, 2)));
}

#[test]
fn update_sets_a_new_balance_and_some_none_unmeters_the_key() {
    let flux = admin();
    let key = metered(
        &flux,
        &unique("org"),
        Credits {
            remaining: 1,
            refill: None,
        },
    );
    flux.api_keys().validate(&key.secret).unwrap();
    let updated = flux
        .api_keys()
        .update(UpdateApiKeyRequest {
            id: key.id.clone(),
            credits: Some(Some(Credits {
                remaining: 10,
                refill: Some(CreditRefill::every(10, Duration::from_secs(3600))),
            })),
            ..Default::default()
        })
        .unwrap();
    let credits = updated.credits.expect("credits");
    assert_eq!(credits.remaining, 10);
    assert_eq!(
        credits.refill.map(|r| r.schedule),
        Some(RefillSchedule::Every(Duration::from_secs(3600)))
    );
    assert_eq!(
        flux.api_keys()
            .validate(&key.secret)
            .unwrap()
            .credits
            .map(|c| c.remaining),
        Some(9)
    );
    let unmetered = flux
        .api_keys()
        .update(UpdateApiKeyRequest {
            id: key.id.clone(),
            credits: Some(None),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(unmetered.credits, None);
    assert!(flux
        .api_keys()
        .validate_with_cost(&key.secret, 1_000_000)
        .unwrap()
        .credits
        .is_none());
    assert!(matches!(
        flux.api_keys().validate_with_cost(&key.secret, 1_000_001),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn the_organisation_policy_is_shared_and_refuses_as_organization() {
    let flux = admin();
    let org_id = unique("org");
    let empty = flux.organizations().get_policy(&org_id).unwrap();
    assert_eq!(
        (empty.rate_limit, empty.credits, empty.updated_at),
        (None, None, None)
    );
    let a = metered(
        &flux,
        &org_id,
        Credits {
            remaining: 100,
            refill: None,
        },
    );
    let b = metered(
        &flux,
        &org_id,
        Credits {
            remaining: 100,
            refill: None,
        },
    );
    let policy = flux
        .organizations()
        .update_policy(UpdateOrganizationPolicyRequest {
            org_id: org_id.clone(),
            credits: Some(Some(Credits {
                remaining: 3,
                refill: None,
            })),
            rate_limit: Some(Some(RateLimit {
                requests: 100,
                window_seconds: 60,
            })),
        })
        .unwrap();
    assert_eq!(policy.credits.map(|c| c.remaining), Some(3));
    assert!(policy.updated_at.is_some());
    let info = flux.api_keys().validate_with_cost(&a.secret, 2).unwrap();
    let org = info.organization.expect("organisation state");
    assert_eq!(org.credits.map(|c| c.remaining), Some(1));
    assert_eq!(org.rate_limit.map(|r| r.remaining), Some(99));
    match flux.api_keys().validate_with_cost(&b.secret, 2) {
        Err(Error::UsageExceeded {
            refused_by: PolicyLevel::Organization,
            remaining: 1,
            ..
        }) => {}
        other => panic!("expected the organisation to refuse, got {other:?}"),
    }
    // The refused call spent none of b's own credits.
    let read = flux.api_keys().validate_with_cost(&b.secret, 0).unwrap();
    assert_eq!(read.credits.map(|c| c.remaining), Some(100));
}

#[test]
fn the_async_client_reads_and_changes_policies() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let flux = AsyncFlux::init_with_url(admin_key(), url());
        let org_id = unique("org");
        let policy = flux
            .organizations()
            .update_policy(UpdateOrganizationPolicyRequest {
                org_id: org_id.clone(),
                rate_limit: Some(Some(RateLimit {
                    requests: 9,
                    window_seconds: 60,
                })),
                ..Default::default()
            })
            .await
            .unwrap();
        let read = flux.organizations().get_policy(&org_id).await.unwrap();
        assert_eq!(read.rate_limit, policy.rate_limit);
        assert_eq!(
            read.rate_limit,
            Some(RateLimit {
                requests: 9,
                window_seconds: 60
            })
        );
    });
}
