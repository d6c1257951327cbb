//! Flux API Keys SDK: issue, validate, rotate and meter API keys.
//!
//! ```no_run
//! use flux_sdk::Flux;
//!
//! let flux = Flux::init("your-api-key");
//! let key = flux.api_keys().create(flux_sdk::CreateApiKeyRequest {
//!     org_id: "org_123".into(),
//!     name: "CI pipeline".into(),
//!     scopes: vec!["data:read".into()],
//!     ..Default::default()
//! })?;
//! let key_info = flux.api_keys().validate(&key.secret)?;
//! assert!(key_info.has_scope("data:read"));
//! # Ok::<(), flux_sdk::Error>(())
//! ```
//!
//! [`LocalValidator`] (`flux.api_keys().local_validator()?`) answers the same `validate` calls in this
//! process from a table the server keeps exact, falling back to the network whenever it is not fresh.
//!
//! [`Flux`] blocks (it owns a tokio runtime); [`AsyncFlux`] (also `r#async::Flux`) has the same
//! methods as `async fn`s. Both reach the generated tonic clients through `raw_api_keys()` and
//! `raw_admin_keys()`; the wire types are in [`proto::v1`].

mod async_client;
mod blocking;
mod builder;
mod convert;
mod credits;
mod error;
mod local;
mod transport;
mod types;

/// The generated protobuf types and tonic clients of `flux.apikeys.v1`.
pub mod proto {
    pub mod v1 {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("flux.apikeys.v1");
    }
}

/// The async client, under the same names as the blocking one.
pub mod r#async {
    pub use crate::async_client::{ApiKeys, Flux, Organizations};
    pub use crate::local::AsyncLocalValidator as LocalValidator;
}

pub use async_client::Flux as AsyncFlux;
pub use blocking::{ApiKeys, Flux, Organizations};
pub use builder::FluxBuilder;
pub use credits::{
    CreditRefill, Credits, CreditsState, OrganizationPolicy, OrganizationState, PolicyLevel,
    RefillSchedule, UpdateOrganizationPolicyRequest, ValidateRequest,
};
pub use error::{from_status, Error, ErrorReason, ERROR_DOMAIN};
pub use local::{
    AsyncLocalValidator, LocalStats, LocalValidator, LocalValidatorOptions, StateCallback,
    ValidatorState,
};
pub use transport::{
    AuthInterceptor, RawAdminKeyClient, RawApiKeyClient, RawLocalValidationClient,
    RawOrganizationClient, DEFAULT_URL,
};
pub use types::{
    ApiKey, ApiKeyPage, CreateApiKeyRequest, Granularity, IssuedApiKey, KeyInfo, KeyState,
    KeyUsageSummary, ListApiKeysRequest, OrganizationUsage, OrganizationUsageRequest, Outcome,
    RateLimit, RateLimitState, Scope, ScopeUse, UpdateApiKeyRequest, Usage, UsageBucket,
    Validation,
};

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
