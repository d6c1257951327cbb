//! The async client: `AsyncFlux` (also `flux_sdk::r#async::Flux`) and its `api_keys()` facade.
//! Every method maps failures through `error::from_status`.
use std::time::Duration;

use crate::builder::FluxBuilder;
use crate::convert::{issued, required};
use crate::credits::{OrganizationPolicy, UpdateOrganizationPolicyRequest, ValidateRequest};
use crate::error::Error;
use crate::local::{AsyncLocalValidator, LocalValidatorOptions};
use crate::proto::v1 as pb;
use crate::transport::{
    Connection, RawAdminKeyClient, RawApiKeyClient, RawOrganizationClient, Settings,
};
use crate::types::*;

/// The async Flux client. Cheap to clone; connects on first use.
#[derive(Clone)]
pub struct Flux {
    conn: Connection,
}

impl Flux {
    /// A client authenticated with the admin key `api_key`, for the server at `FLUX_URL`
    /// (else `http://127.0.0.1:50051`). Must be called inside a tokio runtime.
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
        Flux {
            conn: Connection::open(settings),
        }
    }

    /// Key lifecycle, validation, usage and scopes.
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys { flux: self }
    }

    /// Usage rolled up per organisation.
    pub fn organizations(&self) -> Organizations<'_> {
        Organizations { flux: self }
    }

    /// The generated OrganizationService client on this connection.
    pub fn raw_organizations(&self) -> Result<RawOrganizationClient, Error> {
        self.conn.organizations()
    }

    /// The generated ApiKeyService client on this connection, for calls the facade lacks.
    pub fn raw_api_keys(&self) -> Result<RawApiKeyClient, Error> {
        self.conn.api_keys()
    }

    /// The generated AdminKeyService client on this connection.
    pub fn raw_admin_keys(&self) -> Result<RawAdminKeyClient, Error> {
        self.conn.admin_keys()
    }

    /// One unauthenticated round trip: proves the server is reachable.
    pub async fn ping(&self) -> Result<(), Error> {
        self.conn.ping()?.ping(pb::PingRequest {}).await?;
        Ok(())
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        self.conn.check()
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// The API keys facade of an async [`Flux`] client.
#[derive(Clone, Copy)]
pub struct ApiKeys<'a> {
    flux: &'a Flux,
}

impl ApiKeys<'_> {
    fn raw(&self) -> Result<RawApiKeyClient, Error> {
        self.flux.conn.api_keys()
    }

    /// Starts a local validator (see [`crate::AsyncLocalValidator`]) with the default options;
    /// returns once it is fresh. Needs an admin key with the local-validation right.
    pub async fn local_validator(&self) -> Result<AsyncLocalValidator, Error> {
        self.local_validator_with(LocalValidatorOptions::default())
            .await
    }

    /// Like `local_validator`, with a name, a pepper, a state callback or another start timeout.
    pub async fn local_validator_with(
        &self,
        options: LocalValidatorOptions,
    ) -> Result<AsyncLocalValidator, Error> {
        AsyncLocalValidator::start(self.flux.clone(), options).await
    }

    /// Issues a key; the result's `secret` is shown only here.
    pub async fn create(&self, request: CreateApiKeyRequest) -> Result<IssuedApiKey, Error> {
        let pb::CreateApiKeyResponse { api_key, secret } = self
            .raw()?
            .create_api_key(pb::CreateApiKeyRequest::from(request))
            .await?
            .into_inner();
        issued(api_key, secret, 0)
    }

    /// The key's info when `raw_key` is valid; `Error::InvalidKey` or `Error::RateLimited` when not.
    pub async fn validate(&self, raw_key: &str) -> Result<KeyInfo, Error> {
        self.check(raw_key, &[]).await?.into_result()
    }

    /// Like `validate`, and also refuses (outcome `InsufficientScope`) a key lacking any of `scopes`.
    pub async fn validate_with_scopes(
        &self,
        raw_key: &str,
        scopes: &[&str],
    ) -> Result<KeyInfo, Error> {
        self.check(raw_key, scopes).await?.into_result()
    }

    /// Like `validate`, for a call from the end client at `client_ip` (IPv4 or IPv6): a key with
    /// allowed CIDRs refuses an address outside them with outcome `IpNotAllowed`.
    pub async fn validate_from(&self, raw_key: &str, client_ip: &str) -> Result<KeyInfo, Error> {
        self.check_from(raw_key, &[], client_ip)
            .await?
            .into_result()
    }

    /// Like `validate`, spending `cost` credits (0 reads the balance without spending): a key or
    /// organisation whose balance cannot pay is refused with `Error::UsageExceeded`.
    pub async fn validate_with_cost(&self, raw_key: &str, cost: u32) -> Result<KeyInfo, Error> {
        self.check_with(ValidateRequest {
            key: raw_key.to_string(),
            cost: Some(cost),
            ..Default::default()
        })
        .await?
        .into_result()
    }

    /// A validation with every option (scopes, client address, cost), as a `Result`.
    pub async fn validate_with(&self, request: ValidateRequest) -> Result<KeyInfo, Error> {
        self.check_with(request).await?.into_result()
    }

    /// A validation with every option, whatever the outcome; `Err` only when the call fails.
    pub async fn check_with(&self, request: ValidateRequest) -> Result<Validation, Error> {
        let request = pb::ValidateApiKeyRequest::from(request);
        let response = self.raw()?.validate_api_key(request).await?.into_inner();
        Ok(response.into())
    }

    /// The full validation answer, whatever the outcome; `Err` only when the call itself fails.
    pub async fn check(
        &self,
        raw_key: &str,
        required_scopes: &[&str],
    ) -> Result<Validation, Error> {
        self.check_from(raw_key, required_scopes, "").await
    }

    /// Like `check`, with the end client's address (empty: none given).
    pub async fn check_from(
        &self,
        raw_key: &str,
        required_scopes: &[&str],
        client_ip: &str,
    ) -> Result<Validation, Error> {
        let request = pb::ValidateApiKeyRequest {
            key: raw_key.to_string(),
            required_scopes: required_scopes.iter().map(|s| s.to_string()).collect(),
            client_ip: client_ip.to_string(),
            ..Default::default()
        };
        let response = self.raw()?.validate_api_key(request).await?.into_inner();
        Ok(response.into())
    }

    /// Issues a new secret for key `id`; the old one stops working at once (on every replica that
    /// confirmed: see `IssuedApiKey::unconfirmed_replicas`).
    pub async fn rotate(&self, id: &str) -> Result<IssuedApiKey, Error> {
        self.rotate_with_grace(id, Duration::ZERO).await
    }

    /// Issues a new secret and keeps the old one valid for `grace` (whole seconds, at most 7 days).
    pub async fn rotate_with_grace(
        &self,
        id: &str,
        grace: Duration,
    ) -> Result<IssuedApiKey, Error> {
        let request = pb::RotateApiKeyRequest {
            id: id.to_string(),
            grace_period_seconds: u32::try_from(grace.as_secs()).unwrap_or(u32::MAX),
        };
        let pb::RotateApiKeyResponse {
            api_key,
            secret,
            unconfirmed_replicas,
        } = self.raw()?.rotate_api_key(request).await?.into_inner();
        issued(api_key, secret, unconfirmed_replicas)
    }

    /// Changes the fields set in `request`; returns the key after the change.
    pub async fn update(&self, request: UpdateApiKeyRequest) -> Result<ApiKey, Error> {
        let response = self
            .raw()?
            .update_api_key(pb::UpdateApiKeyRequest::from(request))
            .await?
            .into_inner();
        Ok(required(response.api_key, "api_key")?.into())
    }

    pub async fn get(&self, id: &str) -> Result<ApiKey, Error> {
        let request = pb::GetApiKeyRequest { id: id.to_string() };
        let response = self.raw()?.get_api_key(request).await?.into_inner();
        Ok(required(response.api_key, "api_key")?.into())
    }

    /// One page of keys, newest first.
    pub async fn list(&self, request: ListApiKeysRequest) -> Result<ApiKeyPage, Error> {
        let response = self
            .raw()?
            .list_api_keys(pb::ListApiKeysRequest::from(request))
            .await?
            .into_inner();
        Ok(ApiKeyPage {
            api_keys: response.api_keys.into_iter().map(Into::into).collect(),
            next_page_token: response.next_page_token,
        })
    }

    /// Permanently revokes key `id`; returns it, now revoked.
    pub async fn revoke(&self, id: &str) -> Result<ApiKey, Error> {
        let request = pb::RevokeApiKeyRequest { id: id.to_string() };
        let response = self.raw()?.revoke_api_key(request).await?.into_inner();
        Ok(required(response.api_key, "api_key")?.into())
    }

    /// Request counts, errors and a daily series for key `id` in the current month.
    pub async fn get_usage(&self, id: &str) -> Result<Usage, Error> {
        self.get_usage_with_scope_window(id, 0).await
    }

    /// Like `get_usage`, with `unused_scopes` over the last `unused_scope_days` (1–365; 0: 30).
    pub async fn get_usage_with_scope_window(
        &self,
        id: &str,
        unused_scope_days: u32,
    ) -> Result<Usage, Error> {
        let request = pb::GetApiKeyUsageRequest {
            id: id.to_string(),
            unused_scope_days,
            ..Default::default()
        };
        Ok(self
            .raw()?
            .get_api_key_usage(request)
            .await?
            .into_inner()
            .into())
    }

    /// Defines (or redescribes) a scope that keys may then carry.
    pub async fn define_scope(&self, name: &str, description: &str) -> Result<Scope, Error> {
        let scope = pb::Scope {
            name: name.to_string(),
            description: description.to_string(),
            created_at: None,
        };
        let request = pb::DefineScopeRequest { scope: Some(scope) };
        let response = self.raw()?.define_scope(request).await?.into_inner();
        Ok(required(response.scope, "scope")?.into())
    }

    /// All defined scopes, sorted by name.
    pub async fn list_scopes(&self) -> Result<Vec<Scope>, Error> {
        let response = self.raw()?.list_scopes(pb::ListScopesRequest {}).await?;
        Ok(response
            .into_inner()
            .scopes
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Deletes a scope that no live key carries (else `Error::FailedPrecondition`, SCOPE_IN_USE).
    pub async fn delete_scope(&self, name: &str) -> Result<(), Error> {
        let request = pb::DeleteScopeRequest {
            name: name.to_string(),
        };
        self.raw()?.delete_scope(request).await?;
        Ok(())
    }
}

/// The organisations facade of an async [`Flux`] client.
#[derive(Clone, Copy)]
pub struct Organizations<'a> {
    flux: &'a Flux,
}

impl Organizations<'_> {
    /// The last 30 days of all of `org_id`'s keys, by day, with the top 10 keys.
    pub async fn get_usage(&self, org_id: &str) -> Result<OrganizationUsage, Error> {
        self.get_usage_with(OrganizationUsageRequest {
            org_id: org_id.to_string(),
            ..Default::default()
        })
        .await
    }

    /// The organisation's shared policy (`None` fields when not set; `credits.remaining`: now).
    pub async fn get_policy(&self, org_id: &str) -> Result<OrganizationPolicy, Error> {
        let request = pb::GetOrganizationPolicyRequest {
            org_id: org_id.to_string(),
        };
        let response = self
            .flux
            .conn
            .organizations()?
            .get_organization_policy(request)
            .await?
            .into_inner();
        Ok(required(response.policy, "policy")?.into())
    }

    /// Sets the shared limits given in `request`; every replica applies it before this returns.
    pub async fn update_policy(
        &self,
        request: UpdateOrganizationPolicyRequest,
    ) -> Result<OrganizationPolicy, Error> {
        let request = pb::UpdateOrganizationPolicyRequest::from(request);
        let response = self
            .flux
            .conn
            .organizations()?
            .update_organization_policy(request)
            .await?
            .into_inner();
        Ok(required(response.policy, "policy")?.into())
    }

    /// Totals, outcomes, a series and the top keys (by requests, by error rate) as `request` asks.
    pub async fn get_usage_with(
        &self,
        request: OrganizationUsageRequest,
    ) -> Result<OrganizationUsage, Error> {
        let request = pb::GetOrganizationUsageRequest::from(request);
        Ok(self
            .flux
            .conn
            .organizations()?
            .get_organization_usage(request)
            .await?
            .into_inner()
            .into())
    }
}
