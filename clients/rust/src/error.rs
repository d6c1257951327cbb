//! The SDK's one error type, and `from_status`: the single place that turns gRPC statuses into it.
//! Errors branch on the server's `google.rpc.ErrorInfo` reason (a value of the generated proto enum
//! [`ErrorReason`]), else on the status code, never on message text.
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use tonic::Code;
use tonic_types::StatusExt;

use crate::credits::PolicyLevel;
pub use crate::proto::v1::ErrorReason;
use crate::types::{KeyInfo, Outcome};

/// The error domain the Flux server puts in every `google.rpc.ErrorInfo`.
pub const ERROR_DOMAIN: &str = "flux.apikeys.v1";

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a Flux call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The admin key is missing or not accepted (ADMIN_KEY_MISSING, ADMIN_KEY_INVALID).
    #[error("unauthenticated ({reason}): {message}")]
    Unauthenticated { reason: String, message: String },
    /// The admin key may not make this call (e.g. a validate-only or org-restricted key).
    #[error("permission denied ({reason}): {message}")]
    PermissionDenied { reason: String, message: String },
    /// The request is malformed (INVALID_ARGUMENT) or names undefined scopes (UNKNOWN_SCOPE, with
    /// metadata `scopes` = the unknown names, comma-separated).
    #[error("invalid argument ({reason}): {message}")]
    InvalidArgument {
        reason: String,
        message: String,
        metadata: HashMap<String, String>,
    },
    /// KEY_NOT_FOUND, SCOPE_NOT_FOUND, ADMIN_KEY_NOT_FOUND, WEBHOOK_ENDPOINT_NOT_FOUND.
    #[error("not found ({reason}): {message}")]
    NotFound { reason: String, message: String },
    /// KEY_REVOKED (changing a revoked key), SCOPE_IN_USE.
    #[error("failed precondition ({reason}): {message}")]
    FailedPrecondition { reason: String, message: String },
    /// Too many failed admin-key attempts came from this address (AUTH_THROTTLED): wait
    /// `retry_after`, then retry with a valid admin key.
    #[error("throttled ({reason}): {message}")]
    Throttled {
        reason: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The server cannot serve now (STORE_UNAVAILABLE); retrying later may help.
    #[error("unavailable ({reason}): {message}")]
    Unavailable {
        reason: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The server failed unexpectedly (INTERNAL), or answered without a field it must send.
    #[error("internal error ({reason}): {message}")]
    Internal { reason: String, message: String },
    /// `validate` refused the key: not found, malformed, expired, revoked, disabled or lacking a
    /// required scope (see `missing_scopes`). `key` is set when the secret matched a key.
    #[error("invalid API key: {outcome:?}")]
    InvalidKey {
        outcome: Outcome,
        key: Option<Box<KeyInfo>>,
        missing_scopes: Vec<String>,
    },
    /// `validate` refused the key because a rate limit is used up until `reset_at`: the key's, or
    /// its organisation's shared one (`refused_by`).
    #[error("API key rate limited ({refused_by:?}); retry after {retry_after:?}")]
    RateLimited {
        retry_after: Duration,
        limit: u32,
        reset_at: Option<SystemTime>,
        key: Option<Box<KeyInfo>>,
        refused_by: PolicyLevel,
    },
    /// `validate` refused the key because a credit balance (the key's, or its organisation's:
    /// `refused_by`) cannot pay the call's cost; nothing was spent. It refills at `next_refill_at`
    /// when it has a refill.
    #[error("API key out of credits ({refused_by:?}): {remaining} left")]
    UsageExceeded {
        refused_by: PolicyLevel,
        remaining: u64,
        next_refill_at: Option<SystemTime>,
        key: Option<Box<KeyInfo>>,
    },
    /// The server could not be reached or the connection broke (or the URL is unusable).
    #[error("transport error: {message}")]
    Transport {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    /// Any other status (DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED without a known reason, …).
    #[error("{code:?} ({reason}): {message}")]
    Other {
        code: Code,
        reason: String,
        message: String,
    },
}

impl Error {
    /// The server's ErrorInfo reason, when the error came from the server with one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Error::Unauthenticated { reason, .. }
            | Error::PermissionDenied { reason, .. }
            | Error::InvalidArgument { reason, .. }
            | Error::NotFound { reason, .. }
            | Error::FailedPrecondition { reason, .. }
            | Error::Throttled { reason, .. }
            | Error::Unavailable { reason, .. }
            | Error::Internal { reason, .. }
            | Error::Other { reason, .. } => Some(reason.as_str()).filter(|r| !r.is_empty()),
            _ => None,
        }
    }

    /// The reason as a value of the proto enum; `None` without one, or for a reason this SDK does
    /// not know (a newer server's).
    pub fn error_reason(&self) -> Option<ErrorReason> {
        self.reason().and_then(ErrorReason::from_wire_name)
    }

    /// Whether the same call may succeed later unchanged.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Unavailable { .. }
                | Error::Transport { .. }
                | Error::RateLimited { .. }
                | Error::Throttled { .. }
        )
    }

    pub(crate) fn transport(message: impl Into<String>, source: Option<BoxError>) -> Self {
        Error::Transport {
            message: message.into(),
            source,
        }
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        from_status(status)
    }
}

impl ErrorReason {
    /// The string the server puts in `ErrorInfo.reason`: the value's name without its
    /// `ERROR_REASON_` prefix, e.g. `"UNKNOWN_SCOPE"`.
    pub fn wire_name(&self) -> &'static str {
        let name = self.as_str_name();
        name.strip_prefix(REASON_PREFIX).unwrap_or(name)
    }

    /// The value whose [`wire_name`](Self::wire_name) is `reason`; `None` for unknown reasons.
    pub fn from_wire_name(reason: &str) -> Option<Self> {
        if reason.starts_with(REASON_PREFIX) {
            return None;
        }
        Self::from_str_name(&format!("{REASON_PREFIX}{reason}"))
            .filter(|r| *r != ErrorReason::Unspecified)
    }
}

const REASON_PREFIX: &str = "ERROR_REASON_";

/// The variant each kind of failure becomes; chosen by reason when known, else by code.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Unauthenticated,
    PermissionDenied,
    InvalidArgument,
    NotFound,
    FailedPrecondition,
    Throttled,
    Unavailable,
    Internal,
    Other,
}

/// Exhaustive on purpose (no `_` arm): a reason added to the proto without a kind here fails to compile.
fn kind_of_reason(reason: ErrorReason) -> Option<Kind> {
    Some(match reason {
        ErrorReason::Unspecified => return None,
        ErrorReason::AdminKeyMissing | ErrorReason::AdminKeyInvalid => Kind::Unauthenticated,
        ErrorReason::AuthThrottled => Kind::Throttled,
        ErrorReason::PermissionDenied => Kind::PermissionDenied,
        ErrorReason::InvalidArgument | ErrorReason::UnknownScope => Kind::InvalidArgument,
        ErrorReason::KeyNotFound
        | ErrorReason::ScopeNotFound
        | ErrorReason::AdminKeyNotFound
        | ErrorReason::WebhookEndpointNotFound => Kind::NotFound,
        ErrorReason::KeyRevoked | ErrorReason::ScopeInUse | ErrorReason::ValidatorSessionEnded => {
            Kind::FailedPrecondition
        }
        ErrorReason::StoreUnavailable => Kind::Unavailable,
        ErrorReason::Internal => Kind::Internal,
    })
}

/// For failures without a known reason: proxies, a newer server's reason, or no server at all.
fn kind_of_code(code: Code) -> Kind {
    match code {
        Code::Unauthenticated => Kind::Unauthenticated,
        Code::PermissionDenied => Kind::PermissionDenied,
        Code::InvalidArgument => Kind::InvalidArgument,
        Code::NotFound => Kind::NotFound,
        Code::FailedPrecondition => Kind::FailedPrecondition,
        Code::Unavailable => Kind::Unavailable,
        Code::Internal => Kind::Internal,
        _ => Kind::Other,
    }
}

/// Turns any `tonic::Status` (from the server or from the transport) into an [`Error`].
pub fn from_status(status: tonic::Status) -> Error {
    let details = status.get_error_details();
    let info = details.error_info();
    let reason = info.map(|i| i.reason.clone()).unwrap_or_default();
    let metadata = info.map(|i| i.metadata.clone()).unwrap_or_default();
    let message = status.message().to_string();
    // A status that tonic built from an I/O or HTTP/2 failure carries that failure as its source
    // and no ErrorInfo; one the server sent never has a source.
    if info.is_none() && std::error::Error::source(&status).is_some() {
        let message = format!("{:?}: {message}", status.code());
        return Error::transport(message, Some(Box::new(status)));
    }
    let retry_after = details.retry_info().and_then(|r| r.retry_delay);
    let kind = ErrorReason::from_wire_name(&reason)
        .and_then(kind_of_reason)
        .unwrap_or_else(|| kind_of_code(status.code()));
    match kind {
        Kind::Unauthenticated => Error::Unauthenticated { reason, message },
        Kind::PermissionDenied => Error::PermissionDenied { reason, message },
        Kind::InvalidArgument => Error::InvalidArgument {
            reason,
            message,
            metadata,
        },
        Kind::NotFound => Error::NotFound { reason, message },
        Kind::FailedPrecondition => Error::FailedPrecondition { reason, message },
        Kind::Throttled => Error::Throttled {
            reason,
            message,
            retry_after,
        },
        Kind::Unavailable => Error::Unavailable {
            reason,
            message,
            retry_after,
        },
        Kind::Internal => Error::Internal { reason, message },
        Kind::Other => Error::Other {
            code: status.code(),
            reason,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{RateLimitState, Validation};
    use tonic::Status;
    use tonic_types::ErrorDetails;

    fn status(code: Code, reason: &str, metadata: &[(&str, &str)]) -> Status {
        let metadata: HashMap<String, String> = metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
        Status::with_error_details(code, "message text is never branched on", details)
    }

    #[test]
    fn maps_each_code_to_its_variant_with_the_reason() {
        let cases = [
            (Code::Unauthenticated, "ADMIN_KEY_MISSING"),
            (Code::PermissionDenied, "PERMISSION_DENIED"),
            (Code::InvalidArgument, "UNKNOWN_SCOPE"),
            (Code::NotFound, "KEY_NOT_FOUND"),
            (Code::FailedPrecondition, "SCOPE_IN_USE"),
            (Code::Unavailable, "STORE_UNAVAILABLE"),
            (Code::Internal, "INTERNAL"),
            (Code::ResourceExhausted, "AUTH_THROTTLED"),
        ];
        for (code, reason) in cases {
            let err = from_status(status(code, reason, &[("scopes", "a,b")]));
            assert_eq!(err.reason(), Some(reason), "{code:?}");
            let ok = match (&err, code) {
                (Error::Unauthenticated { .. }, Code::Unauthenticated)
                | (Error::PermissionDenied { .. }, Code::PermissionDenied)
                | (Error::NotFound { .. }, Code::NotFound)
                | (Error::FailedPrecondition { .. }, Code::FailedPrecondition)
                | (Error::Unavailable { .. }, Code::Unavailable)
                | (Error::Internal { .. }, Code::Internal)
                | (Error::Throttled { .. }, Code::ResourceExhausted) => true,
                (Error::InvalidArgument { metadata, .. }, Code::InvalidArgument) => {
                    metadata.get("scopes").map(String::as_str) == Some("a,b")
                }
                _ => false,
            };
            assert!(ok, "{code:?} mapped to {err:?}");
        }
    }

    #[test]
    fn reads_retry_info_of_an_unavailable_store() {
        let mut details = ErrorDetails::with_error_info("STORE_UNAVAILABLE", ERROR_DOMAIN, []);
        details.set_retry_info(Some(Duration::from_millis(1500)));
        let status = Status::with_error_details(Code::Unavailable, "down", details);
        match from_status(status) {
            Error::Unavailable { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_millis(1500)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_status_without_details_still_maps_by_code() {
        let err = from_status(Status::not_found("gone"));
        assert!(matches!(err, Error::NotFound { ref reason, .. } if reason.is_empty()));
        assert_eq!(err.reason(), None);
    }

    #[test]
    fn turns_refused_validations_into_typed_errors() {
        let limited = Validation {
            valid: false,
            outcome: Outcome::RateLimited,
            key: None,
            rate_limit: Some(RateLimitState {
                limit: 3,
                remaining: 0,
                reset_at: None,
                retry_after: Duration::from_millis(250),
            }),
            missing_scopes: vec![],
            credits: None,
            organization: None,
            refused_by: Some(PolicyLevel::Key),
        };
        match limited.into_result() {
            Err(Error::RateLimited {
                retry_after, limit, ..
            }) => assert_eq!((retry_after, limit), (Duration::from_millis(250), 3)),
            other => panic!("{other:?}"),
        }
        let revoked = Validation {
            valid: false,
            outcome: Outcome::Revoked,
            key: None,
            rate_limit: None,
            missing_scopes: vec![],
            credits: None,
            organization: None,
            refused_by: None,
        };
        assert!(matches!(
            revoked.into_result(),
            Err(Error::InvalidKey {
                outcome: Outcome::Revoked,
                ..
            })
        ));
    }
}
