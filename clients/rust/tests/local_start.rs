//! Starting a local validator: refused for a pepper mismatch or a missing right; the async client's
//! twin starts, answers locally and tells its state-change callback.
mod common;

use std::sync::Arc;

use common::*;
use flux_sdk::{Error, Flux, LocalValidatorOptions, ValidatorState};

#[test]
fn a_pepper_mismatch_or_a_missing_right_fails_the_start() {
    let flux = admin();
    let client = validator_client(&flux);
    let options = LocalValidatorOptions {
        pepper: Some("not the server's pepper".into()),
        ..Default::default()
    };
    match client.api_keys().local_validator_with(options) {
        Err(Error::FailedPrecondition { reason, message }) => {
            assert_eq!(reason, "PEPPER_MISMATCH");
            assert!(message.contains("pepper"), "{message}")
        }
        other => panic!("pepper mismatch: {:?}", other.map(|v| v.state())),
    }
    let without_right = Flux::init_with_url(validator_admin_key(&flux, "", false), url());
    let refused = without_right.api_keys().local_validator();
    assert!(
        matches!(refused, Err(Error::PermissionDenied { .. })),
        "{:?}",
        refused.map(|v| v.state())
    );
}

#[test]
fn the_async_client_has_the_same_validator() {
    let flux = admin();
    let key = create_key(&flux, &[]);
    let secret = validator_admin_key(&flux, "", true);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = flux_sdk::AsyncFlux::init_with_url(secret, url());
        let changes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = changes.clone();
        let options = LocalValidatorOptions {
            name: Some("rust async test".into()),
            on_state_change: Some(Arc::new(move |s| seen.lock().unwrap().push(s))),
            ..Default::default()
        };
        let validator = client
            .api_keys()
            .local_validator_with(options)
            .await
            .expect("start");
        let info = validator.validate(&key.secret).await.expect("valid");
        assert_eq!(info.id, key.id);
        assert_eq!(validator.stats().local, 1);
        validator.close().await.expect("close");
        assert_eq!(
            *changes.lock().unwrap(),
            vec![ValidatorState::Fresh, ValidatorState::Closed]
        );
    });
}
