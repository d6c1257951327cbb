//! The blocking client shown on the product page. It owns a small tokio runtime and drives the
//! async client on it, so it must not be used from inside an async runtime (use `AsyncFlux` there).
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::async_client;
use crate::builder::FluxBuilder;
use crate::credits::{OrganizationPolicy, UpdateOrganizationPolicyRequest, ValidateRequest};
use crate::error::Error;
use crate::local::{LocalValidator, LocalValidatorOptions};
use crate::transport::{RawAdminKeyClient, RawApiKeyClient, Settings};
use crate::types::*;

/// The blocking Flux client. Cheap to clone (clones share one runtime and connection).
#[derive(Clone)]
pub struct Flux {
    runtime: Arc<OwnedRuntime>,
    inner: async_client::Flux,
}

/// Shuts its runtime down without waiting, so that dropping the last client never blocks (and
/// never panics, even inside an async context).
struct OwnedRuntime(Option<Runtime>);

impl OwnedRuntime {
    fn get(&self) -> &Runtime {
        self.0.as_ref().expect("runtime present until drop")
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Flux {
    /// A client authenticated with the admin key `api_key`, for the server at `FLUX_URL`
    /// (else `http://127.0.0.1:50051`). Never fails: it connects on first use, and an unusable
    /// URL surfaces as `Error::Transport` from every call.
    ///
    /// # Panics
    /// If the OS refuses to start the runtime's worker thread.
    pub fn init(api_key: impl Into<String>) -> Self {
        Self::from_settings(&Settings::new(api_key))
    }

    /// Like [`Flux::init`], for the server at `url` (e.g. `http://127.0.0.1:50051`).
    pub fn init_with_url(api_key: impl Into<String>, url: impl Into<String>) -> Self {
        let mut settings = Settings::new(api_key);
        settings.url = Some(url.into());
        Self::from_settings(&settings)
    }

    /// Settings beyond the key and URL (timeouts).
    pub fn builder(api_key: impl Into<String>) -> FluxBuilder {
        FluxBuilder::new(api_key)
    }

    pub(crate) fn from_settings(settings: &Settings) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("flux-sdk")
            .enable_all()
            .build()
            .expect("failed to start the Flux SDK's tokio runtime");
        // The lazy channel spawns its worker on the runtime it is created in.
        let inner = {
            let _guard = runtime.enter();
            async_client::Flux::from_settings(settings)
        };
        Flux {
            runtime: Arc::new(OwnedRuntime(Some(runtime))),
            inner,
        }
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        self.inner.check()
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.get().block_on(future)
    }

    /// Key lifecycle, validation, usage and scopes.
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys {
            flux: self,
            inner: self.inner.api_keys(),
        }
    }

    /// Usage rolled up per organisation.
    pub fn organizations(&self) -> Organizations<'_> {
        Organizations {
            flux: self,
            inner: self.inner.organizations(),
        }
    }

    /// The async client sharing this connection.
    pub fn as_async(&self) -> &async_client::Flux {
        &self.inner
    }

    /// The runtime this client's calls run on, e.g. to drive the raw clients.
    pub fn runtime(&self) -> &Runtime {
        self.runtime.get()
    }

    /// The generated ApiKeyService client on this connection (async; drive it with `runtime()`).
    pub fn raw_api_keys(&self) -> Result<RawApiKeyClient, Error> {
        self.inner.raw_api_keys()
    }

    /// The generated AdminKeyService client on this connection (async; drive it with `runtime()`).
    pub fn raw_admin_keys(&self) -> Result<RawAdminKeyClient, Error> {
        self.inner.raw_admin_keys()
    }

    /// One unauthenticated round trip: proves the server is reachable.
    pub fn ping(&self) -> Result<(), Error> {
        self.block_on(self.inner.ping())
    }
}

/// The API keys facade of a blocking [`Flux`] client; the same methods as the async one.
pub struct ApiKeys<'a> {
    flux: &'a Flux,
    inner: async_client::ApiKeys<'a>,
}

impl ApiKeys<'_> {
    /// Starts a local validator (see [`crate::LocalValidator`]) with the default options; returns
    /// once it is fresh. Needs an admin key with the local-validation right.
    pub fn local_validator(&self) -> Result<LocalValidator, Error> {
        self.local_validator_with(LocalValidatorOptions::default())
    }

    /// Like `local_validator`, with a name, a pepper, a state callback or another start timeout.
    pub fn local_validator_with(
        &self,
        options: LocalValidatorOptions,
    ) -> Result<LocalValidator, Error> {
        let inner = self
            .flux
            .block_on(self.inner.local_validator_with(options))?;
        Ok(LocalValidator::new(self.flux.clone(), inner))
    }

    /// Issues a key; the result's `secret` is shown only here.
    pub fn create(&self, request: CreateApiKeyRequest) -> Result<IssuedApiKey, Error> {
        self.flux.block_on(self.inner.create(request))
    }

    /// The key's info when `raw_key` is valid; `Error::InvalidKey` or `Error::RateLimited` when not.
    pub fn validate(&self, raw_key: &str) -> Result<KeyInfo, Error> {
        self.flux.block_on(self.inner.validate(raw_key))
    }

    /// Like `validate`, and also refuses (outcome `InsufficientScope`) a key lacking any of `scopes`.
    pub fn validate_with_scopes(&self, raw_key: &str, scopes: &[&str]) -> Result<KeyInfo, Error> {
        self.flux
            .block_on(self.inner.validate_with_scopes(raw_key, scopes))
    }

    /// Like `validate`, for a call from the end client at `client_ip` (IPv4 or IPv6): a key with
    /// allowed CIDRs refuses an address outside them with outcome `IpNotAllowed`.
    pub fn validate_from(&self, raw_key: &str, client_ip: &str) -> Result<KeyInfo, Error> {
        self.flux
            .block_on(self.inner.validate_from(raw_key, client_ip))
    }

    /// Like `check`, with the end client's address (empty: none given).
    pub fn check_from(
        &self,
        raw_key: &str,
        required_scopes: &[&str],
        client_ip: &str,
    ) -> Result<Validation, Error> {
        self.flux
            .block_on(self.inner.check_from(raw_key, required_scopes, client_ip))
    }

    /// Like `validate`, spending `cost` credits (0 reads the balance without spending): a key or
    /// organisation whose balance cannot pay is refused with `Error::UsageExceeded`.
    pub fn validate_with_cost(&self, raw_key: &str, cost: u32) -> Result<KeyInfo, Error> {
        self.flux
            .block_on(self.inner.validate_with_cost(raw_key, cost))
    }

    /// A validation with every option (scopes, client address, cost), as a `Result`.
    pub fn validate_with(&self, request: ValidateRequest) -> Result<KeyInfo, Error> {
        self.flux.block_on(self.inner.validate_with(request))
    }

    /// A validation with every option, whatever the outcome; `Err` only when the call fails.
    pub fn check_with(&self, request: ValidateRequest) -> Result<Validation, Error> {
        self.flux.block_on(self.inner.check_with(request))
    }

    /// The full validation answer, whatever the outcome; `Err` only when the call itself fails.
    pub fn check(&self, raw_key: &str, required_scopes: &[&str]) -> Result<Validation, Error> {
        self.flux
            .block_on(self.inner.check(raw_key, required_scopes))
    }

    /// Issues a new secret for key `id`; the old one stops working at once (on every replica that
    /// confirmed: see `IssuedApiKey::unconfirmed_replicas`).
    pub fn rotate(&self, id: &str) -> Result<IssuedApiKey, Error> {
        self.flux.block_on(self.inner.rotate(id))
    }

    /// Issues a new secret and keeps the old one valid for `grace` (whole seconds, at most 7 days).
    pub fn rotate_with_grace(&self, id: &str, grace: Duration) -> Result<IssuedApiKey, Error> {
        self.flux.block_on(self.inner.rotate_with_grace(id, grace))
    }

    /// Changes the fields set in `request`; returns the key after the change.
    pub fn update(&self, request: UpdateApiKeyRequest) -> Result<ApiKey, Error> {
        self.flux.block_on(self.inner.update(request))
    }

    pub fn get(&self, id: &str) -> Result<ApiKey, Error> {
        self.flux.block_on(self.inner.get(id))
    }

    /// One page of keys, newest first.
    pub fn list(&self, request: ListApiKeysRequest) -> Result<ApiKeyPage, Error> {
        self.flux.block_on(self.inner.list(request))
    }

    /// Permanently revokes key `id`; returns it, now revoked.
    pub fn revoke(&self, id: &str) -> Result<ApiKey, Error> {
        self.flux.block_on(self.inner.revoke(id))
    }

    /// Request counts, errors and a daily series for key `id` in the current month.
    pub fn get_usage(&self, id: &str) -> Result<Usage, Error> {
        self.flux.block_on(self.inner.get_usage(id))
    }

    /// Like `get_usage`, with `unused_scopes` over the last `unused_scope_days` (1–365; 0: 30).
    pub fn get_usage_with_scope_window(
        &self,
        id: &str,
        unused_scope_days: u32,
    ) -> Result<Usage, Error> {
        self.flux.block_on(
            self.inner
                .get_usage_with_scope_window(id, unused_scope_days),
        )
    }

    /// Defines (or redescribes) a scope that keys may then carry.
    pub fn define_scope(&self, name: &str, description: &str) -> Result<Scope, Error> {
        self.flux
            .block_on(self.inner.define_scope(name, description))
    }

    /// All defined scopes, sorted by name.
    pub fn list_scopes(&self) -> Result<Vec<Scope>, Error> {
        self.flux.block_on(self.inner.list_scopes())
    }

    /// Deletes a scope that no live key carries (else `Error::FailedPrecondition`, SCOPE_IN_USE).
    pub fn delete_scope(&self, name: &str) -> Result<(), Error> {
        self.flux.block_on(self.inner.delete_scope(name))
    }
}

/// The organisations facade of a blocking [`Flux`] client; the same methods as the async one.
pub struct Organizations<'a> {
    flux: &'a Flux,
    inner: async_client::Organizations<'a>,
}

impl Organizations<'_> {
    /// The last 30 days of all of `org_id`'s keys, by day, with the top 10 keys.
    pub fn get_usage(&self, org_id: &str) -> Result<OrganizationUsage, Error> {
        self.flux.block_on(self.inner.get_usage(org_id))
    }

    /// The organisation's shared policy (`None` fields when not set; `credits.remaining`: now).
    pub fn get_policy(&self, org_id: &str) -> Result<OrganizationPolicy, Error> {
        self.flux.block_on(self.inner.get_policy(org_id))
    }

    /// Sets the shared limits given in `request`; every replica applies it before this returns.
    pub fn update_policy(
        &self,
        request: UpdateOrganizationPolicyRequest,
    ) -> Result<OrganizationPolicy, Error> {
        self.flux.block_on(self.inner.update_policy(request))
    }

    /// Totals, outcomes, a series and the top keys (by requests, by error rate) as `request` asks.
    pub fn get_usage_with(
        &self,
        request: OrganizationUsageRequest,
    ) -> Result<OrganizationUsage, Error> {
        self.flux.block_on(self.inner.get_usage_with(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_never_fails_and_reports_an_unusable_url_on_use() {
        let flux = Flux::init_with_url("admin key", "not a url");
        assert!(matches!(flux.ping(), Err(Error::Transport { .. })));
        assert!(matches!(
            flux.api_keys().get("key_1"),
            Err(Error::Transport { .. })
        ));
    }

    #[tokio::test]
    async fn dropping_the_blocking_client_inside_an_async_context_does_not_panic() {
        let flux = Flux::init_with_url("admin key", "http://127.0.0.1:1");
        let clone = flux.clone();
        drop(flux);
        drop(clone);
    }
}
