//! The proto enum `ErrorReason` (error_reason.proto) is the one list of reasons: every value maps to
//! a typed `Error` variant by the reason alone, and reasons this SDK does not know fall back on the
//! gRPC code. Offline: statuses are built here, no server needed.
use std::time::Duration;

use flux_sdk::{from_status, Error, ErrorReason, ERROR_DOMAIN};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

fn status(code: Code, reason: &str) -> Status {
    let details =
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, [("scopes".into(), "a,b".into())]);
    Status::with_error_details(code, "message text is never branched on", details)
}

/// Every value of the generated enum but UNSPECIFIED (numbers are small and never reused).
fn proto_reasons() -> Vec<ErrorReason> {
    (1..=1024)
        .filter_map(|n| ErrorReason::try_from(n).ok())
        .collect()
}

#[test]
fn every_reason_of_the_proto_enum_maps_to_a_typed_variant_by_the_reason_alone() {
    let reasons = proto_reasons();
    assert!(reasons.contains(&ErrorReason::AuthThrottled), "{reasons:?}");
    for reason in reasons {
        // Code::Unknown has no variant of its own: only the reason can choose one here.
        let err = from_status(status(Code::Unknown, reason.wire_name()));
        assert!(
            !matches!(err, Error::Other { .. }),
            "{reason:?} mapped to {err:?}"
        );
        assert_eq!(err.reason(), Some(reason.wire_name()));
        assert_eq!(err.error_reason(), Some(reason));
    }
}

#[test]
fn the_wire_name_is_the_enum_name_without_its_prefix() {
    assert_eq!(ErrorReason::UnknownScope.wire_name(), "UNKNOWN_SCOPE");
    assert_eq!(
        ErrorReason::from_wire_name("KEY_NOT_FOUND"),
        Some(ErrorReason::KeyNotFound)
    );
    assert_eq!(
        ErrorReason::from_wire_name("ERROR_REASON_KEY_NOT_FOUND"),
        None
    );
    assert_eq!(ErrorReason::from_wire_name("UNSPECIFIED"), None);
    for reason in proto_reasons() {
        assert_eq!(
            ErrorReason::from_wire_name(reason.wire_name()),
            Some(reason)
        );
    }
}

#[test]
fn a_reason_this_sdk_does_not_know_falls_back_on_the_code() {
    let err = from_status(status(Code::NotFound, "SOMETHING_NEW"));
    assert!(
        matches!(err, Error::NotFound { ref reason, .. } if reason == "SOMETHING_NEW"),
        "{err:?}"
    );
    assert_eq!(err.error_reason(), None);
    let err = from_status(status(Code::ResourceExhausted, "SOMETHING_NEW"));
    assert!(
        matches!(
            err,
            Error::Other {
                code: Code::ResourceExhausted,
                ..
            }
        ),
        "{err:?}"
    );
    let err = from_status(Status::internal("boom"));
    assert!(
        matches!(err, Error::Internal { ref reason, .. } if reason.is_empty()),
        "{err:?}"
    );
}

#[test]
fn auth_throttled_is_throttled_and_retryable_after_its_retry_info() {
    let mut details = ErrorDetails::with_error_info("AUTH_THROTTLED", ERROR_DOMAIN, []);
    details.set_retry_info(Some(Duration::from_secs(42)));
    let err = from_status(Status::with_error_details(
        Code::ResourceExhausted,
        "slow down",
        details,
    ));
    match &err {
        Error::Throttled { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(42)))
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
}
