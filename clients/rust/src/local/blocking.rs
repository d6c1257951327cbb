//! `LocalValidator`: the blocking client's local validator. A local answer runs on the caller's
//! thread without touching the runtime; only leases and network answers block on it.
use std::time::Duration;

use super::core::First;
use super::validator::AsyncLocalValidator;
use super::{LocalStats, ValidatorState};
use crate::blocking::Flux;
use crate::credits::ValidateRequest;
use crate::error::Error;
use crate::types::{KeyInfo, Validation};

/// A local validator of the blocking client: the network `validate`'s methods and answers,
/// decided in this process while fresh. Closes (best-effort) when dropped.
pub struct LocalValidator {
    flux: Flux,
    inner: AsyncLocalValidator,
}

impl LocalValidator {
    pub(crate) fn new(flux: Flux, inner: AsyncLocalValidator) -> Self {
        LocalValidator { flux, inner }
    }

    /// The async validator this one drives.
    pub fn as_async(&self) -> &AsyncLocalValidator {
        &self.inner
    }

    /// `Fresh` (answers locally), `Stale` (answers over the network) or `Closed`.
    pub fn state(&self) -> ValidatorState {
        self.inner.state()
    }

    /// Local and network answers so far, and resyncs.
    pub fn stats(&self) -> LocalStats {
        self.inner.stats()
    }

    /// Reports the last usage (and gives back every lease) and ends the session. Idempotent.
    pub fn close(&self) -> Result<(), Error> {
        self.flux.runtime().block_on(self.inner.close())
    }

    fn run<S: AsRef<str>>(
        &self,
        raw: &str,
        scopes: &[S],
        cost: Option<u32>,
        ip: &str,
    ) -> Result<Validation, Error> {
        match self.inner.shared().first(raw, scopes, cost, ip, true) {
            First::Done(v) => Ok(v),
            _ => self
                .flux
                .runtime()
                .block_on(self.inner.shared().check(raw, scopes, cost, ip)),
        }
    }

    /// The key's info when `raw_key` is valid; `Error::InvalidKey` or `Error::RateLimited` when not.
    pub fn validate(&self, raw_key: &str) -> Result<KeyInfo, Error> {
        self.run::<&str>(raw_key, &[], None, "")?.into_result()
    }

    /// Like `validate`, and also refuses (outcome `InsufficientScope`) a key lacking any of `scopes`.
    pub fn validate_with_scopes(&self, raw_key: &str, scopes: &[&str]) -> Result<KeyInfo, Error> {
        self.run(raw_key, scopes, None, "")?.into_result()
    }

    /// Like `validate`, for a call from the end client at `client_ip`.
    pub fn validate_from(&self, raw_key: &str, client_ip: &str) -> Result<KeyInfo, Error> {
        self.run::<&str>(raw_key, &[], None, client_ip)?
            .into_result()
    }

    /// Like `validate`, spending `cost` credits (0 reads the balance without spending).
    pub fn validate_with_cost(&self, raw_key: &str, cost: u32) -> Result<KeyInfo, Error> {
        self.run::<&str>(raw_key, &[], Some(cost), "")?
            .into_result()
    }

    /// A validation with every option (scopes, client address, cost), as a `Result`.
    pub fn validate_with(&self, request: ValidateRequest) -> Result<KeyInfo, Error> {
        self.check_with(request)?.into_result()
    }

    /// A validation with every option, whatever the outcome; `Err` only when the call fails.
    pub fn check_with(&self, request: ValidateRequest) -> Result<Validation, Error> {
        self.run(
            &request.key,
            &request.required_scopes,
            request.cost,
            &request.client_ip,
        )
    }

    /// The full validation answer, whatever the outcome; `Err` only when the call itself fails.
    pub fn check(&self, raw_key: &str, required_scopes: &[&str]) -> Result<Validation, Error> {
        self.run(raw_key, required_scopes, None, "")
    }

    /// Like `check`, with the end client's address (empty: none given).
    pub fn check_from(
        &self,
        raw_key: &str,
        required_scopes: &[&str],
        client_ip: &str,
    ) -> Result<Validation, Error> {
        self.run(raw_key, required_scopes, None, client_ip)
    }
}

impl Drop for LocalValidator {
    fn drop(&mut self) {
        // Outside an async context the closing report can be waited for (briefly); inside one,
        // the async validator's own drop sends it in the background.
        if self.inner.state() != ValidatorState::Closed
            && tokio::runtime::Handle::try_current().is_err()
        {
            let close = self.inner.close();
            let _ = self
                .flux
                .runtime()
                .block_on(async { tokio::time::timeout(Duration::from_secs(2), close).await });
        }
    }
}
