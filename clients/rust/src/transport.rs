//! The connection: settings, a lazily connecting channel, and the interceptor that adds
//! `authorization: Bearer <admin key>` to every call. The raw generated clients live on top of it.
use std::time::Duration;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::{Error, ERROR_DOMAIN};
use crate::proto::v1::admin_key_service_client::AdminKeyServiceClient;
use crate::proto::v1::api_key_service_client::ApiKeyServiceClient;
use crate::proto::v1::local_validation_service_client::LocalValidationServiceClient;
use crate::proto::v1::organization_service_client::OrganizationServiceClient;
use crate::proto::v1::ping_service_client::PingServiceClient;

/// Where the SDK connects when neither `init_with_url` nor `FLUX_URL` says otherwise.
pub const DEFAULT_URL: &str = "http://127.0.0.1:50051";

/// The generated `ApiKeyService` client, authenticated: the escape hatch to the raw API.
pub type RawApiKeyClient = ApiKeyServiceClient<InterceptedService<Channel, AuthInterceptor>>;
/// The generated `AdminKeyService` client, authenticated.
pub type RawAdminKeyClient = AdminKeyServiceClient<InterceptedService<Channel, AuthInterceptor>>;
/// The generated `OrganizationService` client, authenticated.
pub type RawOrganizationClient =
    OrganizationServiceClient<InterceptedService<Channel, AuthInterceptor>>;

/// The generated `LocalValidationService` client, authenticated (local validators use it).
pub type RawLocalValidationClient =
    LocalValidationServiceClient<InterceptedService<Channel, AuthInterceptor>>;

/// Connection settings; see `Flux::builder`. `Debug` hides the admin key.
#[derive(Clone)]
pub struct Settings {
    pub(crate) api_key: String,
    pub(crate) url: Option<String>,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Option<Duration>,
    /// PEM CA certificates trusted for `https://` URLs instead of the system's roots.
    pub(crate) ca_certificate_pem: Option<Vec<u8>>,
    /// PEM certificate and key presented to a server that asks for client certificates (mTLS).
    pub(crate) client_identity_pem: Option<(Vec<u8>, Vec<u8>)>,
}

impl Settings {
    pub(crate) fn new(api_key: impl Into<String>) -> Self {
        Settings {
            api_key: api_key.into(),
            url: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Some(Duration::from_secs(30)),
            ca_certificate_pem: None,
            client_identity_pem: None,
        }
    }

    fn resolved_url(&self) -> String {
        self.url
            .clone()
            .or_else(|| std::env::var("FLUX_URL").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| DEFAULT_URL.to_string())
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("api_key", &"<redacted>")
            .field("url", &self.url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("custom_ca", &self.ca_certificate_pem.is_some())
            .field("client_identity", &self.client_identity_pem.is_some())
            .finish()
    }
}

/// `https://` URLs speak TLS (rustls): verified against the system's roots, or only against the
/// CA given to `FluxBuilder::ca_certificate_pem`. Plain `http://` URLs stay cleartext h2c.
fn with_tls(endpoint: Endpoint, settings: &Settings) -> Result<Endpoint, tonic::transport::Error> {
    if endpoint.uri().scheme_str() != Some("https") {
        return Ok(endpoint);
    }
    let config = match &settings.ca_certificate_pem {
        Some(pem) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)),
        None => ClientTlsConfig::new().with_native_roots(),
    };
    let config = match &settings.client_identity_pem {
        Some((cert, key)) => config.identity(Identity::from_pem(cert, key)),
        None => config,
    };
    endpoint.tls_config(config)
}

/// Adds the admin key to each call's metadata.
#[derive(Clone)]
pub struct AuthInterceptor {
    header: Option<MetadataValue<Ascii>>,
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        match &self.header {
            Some(value) => {
                request
                    .metadata_mut()
                    .insert("authorization", value.clone());
                Ok(request)
            }
            // Mirror the server's answer so callers see the same error either way.
            None => Err(Status::with_error_details(
                Code::Unauthenticated,
                "the admin key cannot be sent as a header value",
                ErrorDetails::with_error_info("ADMIN_KEY_INVALID", ERROR_DOMAIN, []),
            )),
        }
    }
}

/// A channel plus credentials; cheap to clone. An unusable URL is kept as an error that every
/// call returns, so that `init` can stay infallible.
#[derive(Clone)]
pub(crate) struct Connection {
    channel: Result<Channel, String>,
    auth: AuthInterceptor,
}

impl Connection {
    /// Must run inside a tokio runtime: the lazy channel spawns its worker there.
    pub(crate) fn open(settings: &Settings) -> Self {
        let url = settings.resolved_url();
        let channel = Endpoint::from_shared(url.clone())
            .and_then(|endpoint| with_tls(endpoint, settings))
            .map(|endpoint| {
                let endpoint = endpoint.connect_timeout(settings.connect_timeout);
                match settings.timeout {
                    Some(timeout) => endpoint.timeout(timeout),
                    None => endpoint,
                }
                .connect_lazy()
            })
            .map_err(|e| format!("invalid Flux URL {url:?}: {e}"));
        let header = format!("Bearer {}", settings.api_key).parse().ok();
        Connection {
            channel,
            auth: AuthInterceptor { header },
        }
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        self.channel().map(drop)
    }

    fn channel(&self) -> Result<Channel, Error> {
        self.channel
            .clone()
            .map_err(|message| Error::transport(message, None))
    }

    pub(crate) fn api_keys(&self) -> Result<RawApiKeyClient, Error> {
        Ok(ApiKeyServiceClient::with_interceptor(
            self.channel()?,
            self.auth.clone(),
        ))
    }

    pub(crate) fn admin_keys(&self) -> Result<RawAdminKeyClient, Error> {
        Ok(AdminKeyServiceClient::with_interceptor(
            self.channel()?,
            self.auth.clone(),
        ))
    }

    pub(crate) fn organizations(&self) -> Result<RawOrganizationClient, Error> {
        Ok(OrganizationServiceClient::with_interceptor(
            self.channel()?,
            self.auth.clone(),
        ))
    }

    pub(crate) fn local_validation(&self) -> Result<RawLocalValidationClient, Error> {
        Ok(LocalValidationServiceClient::with_interceptor(
            self.channel()?,
            self.auth.clone(),
        ))
    }

    pub(crate) fn ping(&self) -> Result<PingServiceClient<Channel>, Error> {
        Ok(PingServiceClient::new(self.channel()?))
    }
}
