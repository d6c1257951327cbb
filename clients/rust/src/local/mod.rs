//! Local validators (`flux.api_keys().local_validator()`): answer `validate` in the caller's own
//! process from a table the server keeps exact (proto/flux/apikeys/v1/local_validation.proto), with
//! the network `validate`'s answers and errors; stale → the network.
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

mod acks;
mod blocking;
mod cidr;
mod core;
mod decide;
#[cfg(test)]
mod decide_tests;
mod leasing;
mod material;
mod session;
mod table;
mod usage;
mod validator;

pub use blocking::LocalValidator;
pub use validator::AsyncLocalValidator;

/// Called with the new state whenever a validator's state changes (from a background thread: keep
/// it short and do not block).
pub type StateCallback = Arc<dyn Fn(ValidatorState) + Send + Sync>;

/// Whether a validator answers locally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValidatorState {
    /// In step with the server: answers locally.
    Fresh = 0,
    /// Not (yet, or no longer) in step: answers over the network while it resyncs.
    Stale = 1,
    /// `close()` was called: answers over the network.
    Closed = 2,
}

impl ValidatorState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => ValidatorState::Fresh,
            1 => ValidatorState::Stale,
            _ => ValidatorState::Closed,
        }
    }

    /// `"fresh"`, `"stale"` or `"closed"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ValidatorState::Fresh => "fresh",
            ValidatorState::Stale => "stale",
            ValidatorState::Closed => "closed",
        }
    }
}

/// How a validator answered so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalStats {
    /// Answers decided in this process.
    pub local: u64,
    /// Answers asked of ValidateApiKey (stale, unknown digest, unusual request, …).
    pub network: u64,
    /// New sessions after the first (after an error, a gap, silence or a cut-off).
    pub resyncs: u64,
}

/// Options of `local_validator_with`; `Default` gives the defaults.
#[derive(Clone)]
pub struct LocalValidatorOptions {
    /// Names the validator in the server's logs and metrics (at most 100 characters).
    pub name: Option<String>,
    /// The server's `FLUX_KEY_PEPPER` when it has one; `None`: the `FLUX_KEY_PEPPER` environment
    /// variable. Checked against the server's at start (a mismatch fails the start).
    pub pepper: Option<String>,
    /// Told of every state change.
    pub on_state_change: Option<StateCallback>,
    /// How long the start waits for the first snapshot to be applied and acknowledged (10 s).
    pub start_timeout: Duration,
}

impl Default for LocalValidatorOptions {
    fn default() -> Self {
        LocalValidatorOptions {
            name: None,
            pepper: None,
            on_state_change: None,
            start_timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for LocalValidatorOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalValidatorOptions")
            .field("name", &self.name)
            .field("pepper", &self.pepper.as_ref().map(|_| "<redacted>"))
            .field("on_state_change", &self.on_state_change.is_some())
            .field("start_timeout", &self.start_timeout)
            .finish()
    }
}
