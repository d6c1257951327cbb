//! `FluxBuilder`: the settings beyond an admin key, for both the blocking and the async client.
use std::time::Duration;

use crate::error::Error;
use crate::transport::Settings;

/// Builds a blocking [`crate::Flux`] or an async [`crate::AsyncFlux`] client.
///
/// ```no_run
/// let flux = flux_sdk::Flux::builder("admin key")
///     .url("http://127.0.0.1:50051")
///     .timeout(Some(std::time::Duration::from_secs(5)))
///     .build()?;
/// # Ok::<(), flux_sdk::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct FluxBuilder {
    settings: Settings,
}

impl FluxBuilder {
    pub(crate) fn new(api_key: impl Into<String>) -> Self {
        FluxBuilder {
            settings: Settings::new(api_key),
        }
    }

    /// The server's gRPC URL; default `FLUX_URL`, else `http://127.0.0.1:50051`.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.settings.url = Some(url.into());
        self
    }

    /// How long to wait for a connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// Deadline of each call (default 30 s); `None` waits indefinitely.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Trust only these PEM CA certificates for an `https://` URL (default: the system's roots),
    /// e.g. a private CA's `ca.pem`.
    pub fn ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.settings.ca_certificate_pem = Some(pem.into());
        self
    }

    /// The client certificate and its private key (both PEM) for a server that requires mTLS.
    pub fn client_identity_pem(
        mut self,
        cert: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.settings.client_identity_pem = Some((cert.into(), key.into()));
        self
    }

    /// A blocking client; `Err(Error::Transport)` when the URL is unusable.
    /// Must not be called from inside an async runtime (use `build_async` there).
    pub fn build(self) -> Result<crate::Flux, Error> {
        let flux = crate::Flux::from_settings(&self.settings);
        flux.check()?;
        Ok(flux)
    }

    /// An async client; `Err(Error::Transport)` when the URL is unusable.
    /// Must be called inside a tokio runtime.
    pub fn build_async(self) -> Result<crate::AsyncFlux, Error> {
        let flux = crate::AsyncFlux::from_settings(&self.settings);
        flux.check()?;
        Ok(flux)
    }
}
