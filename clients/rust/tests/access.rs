//! IP allowlists, unused-scope hints and organisation usage: create and update with
//! `allowed_cidrs`, `validate_from` / `check_from` with the client's address (`IpNotAllowed`),
//! `get_usage_with_scope_window`'s `unused_scopes`, and `organizations().get_usage_with`.
mod common;

use common::{admin, admin_key, create_key, define_shared_scopes, unique, url, READ, WRITE};
use flux_sdk::{
    AsyncFlux, CreateApiKeyRequest, Error, Granularity, OrganizationUsageRequest, Outcome,
    UpdateApiKeyRequest,
};

#[test]
fn refuses_an_address_outside_the_allowed_cidrs() {
    let flux = admin();
    let key = flux
        .api_keys()
        .create(CreateApiKeyRequest {
            org_id: unique("org"),
            name: "office only".into(),
            allowed_cidrs: vec!["203.0.113.0/24".into(), "2001:db8::1".into()],
            ..Default::default()
        })
        .expect("create");
    assert_eq!(
        key.api_key.allowed_cidrs,
        vec!["203.0.113.0/24".to_string(), "2001:db8::1/128".to_string()]
    );
    let info = flux
        .api_keys()
        .validate_from(&key.secret, "203.0.113.5")
        .expect("inside");
    assert_eq!(info.id, key.id);
    match flux.api_keys().validate_from(&key.secret, "198.51.100.1") {
        Err(Error::InvalidKey { outcome, .. }) => assert_eq!(outcome, Outcome::IpNotAllowed),
        other => panic!("outside the list: {other:?}"),
    }
    let check = flux.api_keys().check(&key.secret, &[]).expect("check");
    assert_eq!(check.outcome, Outcome::IpNotAllowed);
    assert!(matches!(
        flux.api_keys().validate_from(&key.secret, "not-an-ip"),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        flux.api_keys().update(UpdateApiKeyRequest {
            id: key.id.clone(),
            allowed_cidrs: Some(vec!["10.0.0.0/33".into()]),
            ..Default::default()
        }),
        Err(Error::InvalidArgument { .. })
    ));
    let open = flux
        .api_keys()
        .update(UpdateApiKeyRequest {
            id: key.id.clone(),
            allowed_cidrs: Some(vec![]),
            ..Default::default()
        })
        .expect("clear the list");
    assert!(open.allowed_cidrs.is_empty());
    assert_eq!(
        flux.api_keys().validate(&key.secret).expect("any").id,
        key.id
    );
}

#[test]
fn lists_the_scopes_no_validation_required() {
    let flux = admin();
    define_shared_scopes(&flux);
    let key = create_key(&flux, &[READ, WRITE]);
    flux.api_keys()
        .validate_with_scopes(&key.secret, &[READ])
        .expect("valid");
    let usage = flux
        .api_keys()
        .get_usage_with_scope_window(&key.id, 7)
        .expect("usage");
    assert_eq!(usage.unused_scopes, vec![WRITE.to_string()]);
    let read = usage.scope_uses.iter().find(|u| u.scope == READ).unwrap();
    assert!(read.last_required_at.is_some());
    let write = usage.scope_uses.iter().find(|u| u.scope == WRITE).unwrap();
    assert!(write.last_required_at.is_none());
}

#[tokio::test]
async fn rolls_usage_up_per_organisation() {
    let flux = AsyncFlux::init_with_url(admin_key(), url());
    let org_id = unique("org");
    let create = |name: &str, cidrs: Vec<String>| CreateApiKeyRequest {
        org_id: org_id.clone(),
        name: name.into(),
        allowed_cidrs: cidrs,
        ..Default::default()
    };
    let a = flux.api_keys().create(create("a", vec![])).await.unwrap();
    let b = flux
        .api_keys()
        .create(create("b", vec!["192.0.2.0/24".into()]))
        .await
        .unwrap();
    for _ in 0..3 {
        flux.api_keys().validate(&a.secret).await.unwrap();
    }
    let refused = flux
        .api_keys()
        .check_from(&b.secret, &[], "198.51.100.1")
        .await
        .unwrap();
    assert_eq!(refused.outcome, Outcome::IpNotAllowed);
    let usage = flux
        .organizations()
        .get_usage_with(OrganizationUsageRequest {
            org_id: org_id.clone(),
            granularity: Granularity::Hour,
            top_keys: 5,
            ..Default::default()
        })
        .await
        .expect("org usage");
    assert_eq!((usage.requests, usage.errors), (4, 1));
    assert!(usage.outcomes.contains(&(Outcome::IpNotAllowed, 1)));
    let top: Vec<(String, i64)> = usage
        .top_keys_by_requests
        .iter()
        .map(|k| (k.name.clone(), k.requests))
        .collect();
    assert_eq!(top, vec![("a".to_string(), 3), ("b".to_string(), 1)]);
    assert_eq!(usage.series.iter().map(|b| b.requests).sum::<i64>(), 4);
}

#[test]
fn the_blocking_client_reads_an_organisations_usage_by_day() {
    let flux = admin();
    let key = create_key(&flux, &[]);
    flux.api_keys().validate(&key.secret).expect("valid");
    let usage = flux
        .organizations()
        .get_usage(&key.api_key.org_id)
        .expect("org usage");
    assert_eq!(
        (usage.org_id.as_str(), usage.requests),
        (key.api_key.org_id.as_str(), 1)
    );
    assert_eq!(usage.top_keys_by_requests[0].key_id, key.id);
    assert!(matches!(
        flux.organizations()
            .get_usage_with(OrganizationUsageRequest {
                org_id: key.api_key.org_id.clone(),
                top_keys: 101,
                ..Default::default()
            }),
        Err(Error::InvalidArgument { .. })
    ));
}
