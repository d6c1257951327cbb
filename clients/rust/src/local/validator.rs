//! `AsyncLocalValidator`: the async client's local validator, and its start and close.
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::core::Shared;
use super::material::Digester;
use super::{session, usage, LocalStats, LocalValidatorOptions, ValidatorState};
use crate::async_client::Flux as AsyncFlux;
use crate::credits::ValidateRequest;
use crate::error::Error;
use crate::types::{KeyInfo, Validation};

/// A local validator of the async client: the network `validate`'s methods and answers, decided in
/// this process while fresh. Cheap to clone; closes (best-effort) when the last clone is dropped.
#[derive(Clone)]
pub struct AsyncLocalValidator {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    handle: Handle,
}

impl AsyncLocalValidator {
    /// Starts a validator; returns once it is fresh. Must run inside the client's tokio runtime.
    pub(crate) async fn start(
        flux: AsyncFlux,
        options: LocalValidatorOptions,
    ) -> Result<Self, Error> {
        let pepper = options
            .pepper
            .or_else(|| std::env::var("FLUX_KEY_PEPPER").ok())
            .filter(|p| !p.is_empty());
        let (prefetch, asks) = tokio::sync::mpsc::unbounded_channel();
        let digester = Digester::new(pepper.as_deref());
        let shared = Arc::new(Shared::new(
            digester,
            flux,
            options.on_state_change,
            prefetch,
        ));
        let (started_tx, started) = oneshot::channel();
        let name = options.name.unwrap_or_default();
        let tasks = vec![
            tokio::spawn(session::run(shared.clone(), name, started_tx)),
            tokio::spawn(usage::run(shared.clone())),
            tokio::spawn({
                let shared = shared.clone();
                async move { shared.run_prefetch(asks).await }
            }),
        ];
        let validator = AsyncLocalValidator {
            inner: Arc::new(Inner {
                shared,
                tasks: Mutex::new(tasks),
                handle: Handle::current(),
            }),
        };
        match tokio::time::timeout(options.start_timeout, started).await {
            Ok(Ok(Ok(()))) => Ok(validator),
            Ok(Ok(Err(e))) => {
                validator.inner.stop();
                Err(e)
            }
            _ => {
                let _ = validator.close().await;
                Err(Error::Unavailable {
                    reason: String::new(),
                    message: format!(
                        "the local validator was not fresh within {:?}",
                        options.start_timeout
                    ),
                    retry_after: None,
                })
            }
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// `"fresh"` (answers locally), `"stale"` (answers over the network) or `"closed"`.
    pub fn state(&self) -> ValidatorState {
        self.inner.shared.state()
    }

    /// Local and network answers so far, and resyncs.
    pub fn stats(&self) -> LocalStats {
        let s = &self.inner.shared;
        LocalStats {
            local: s.local.load(Ordering::Relaxed),
            network: s.network.load(Ordering::Relaxed),
            resyncs: s.resyncs.load(Ordering::Relaxed),
        }
    }

    /// Reports the last usage (and gives back every lease), ends the session, stops the background
    /// tasks. Later validations go over the network. Idempotent.
    pub async fn close(&self) -> Result<(), Error> {
        close(&self.inner.shared).await;
        self.inner.stop();
        Ok(())
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

    /// Like `validate`, for a call from the end client at `client_ip`.
    pub async fn validate_from(&self, raw_key: &str, client_ip: &str) -> Result<KeyInfo, Error> {
        self.check_from(raw_key, &[], client_ip)
            .await?
            .into_result()
    }

    /// Like `validate`, spending `cost` credits (0 reads the balance without spending).
    pub async fn validate_with_cost(&self, raw_key: &str, cost: u32) -> Result<KeyInfo, Error> {
        self.shared()
            .check::<&str>(raw_key, &[], Some(cost), "")
            .await?
            .into_result()
    }

    /// A validation with every option (scopes, client address, cost), as a `Result`.
    pub async fn validate_with(&self, request: ValidateRequest) -> Result<KeyInfo, Error> {
        self.check_with(request).await?.into_result()
    }

    /// A validation with every option, whatever the outcome; `Err` only when the call fails.
    pub async fn check_with(&self, request: ValidateRequest) -> Result<Validation, Error> {
        self.shared()
            .check(
                &request.key,
                &request.required_scopes,
                request.cost,
                &request.client_ip,
            )
            .await
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
        self.shared()
            .check(raw_key, required_scopes, None, client_ip)
            .await
    }
}

/// The closing report, retried briefly while the server is unreachable.
pub(crate) async fn close(shared: &Shared) {
    if shared.closed.swap(true, Ordering::AcqRel) {
        return;
    }
    shared.set_state(ValidatorState::Closed);
    for attempt in 0..3 {
        match usage::report(shared, true).await {
            Ok(()) => break,
            Err(e) if e.is_retryable() && attempt < 2 => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(_) => break,
        }
    }
    shared.shutdown.notify_waiters();
}

impl Inner {
    fn stop(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.set_state(ValidatorState::Closed);
        self.shared.shutdown.notify_waiters();
        for task in self.tasks.lock().expect("tasks lock").drain(..) {
            task.abort();
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.shared.closed.load(Ordering::Acquire) {
            let shared = self.shared.clone();
            self.handle.spawn(async move { close(&shared).await });
        }
        for task in self.tasks.lock().expect("tasks lock").drain(..) {
            task.abort();
        }
    }
}
