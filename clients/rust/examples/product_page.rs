//! The product page's Rust snippets (shared/seed/api-keys.md), as written, with the set-up they
//! assume around them. Run: `FLUX_URL=… FLUX_API_KEY=… cargo run --example product_page`.
//! `tests/product_page.rs` runs `run()` against a real server.
use std::fmt;

use flux_sdk::Flux;

/// The application's own error type that the page's validation snippet returns.
#[derive(Debug)]
pub enum AuthError {
    Forbidden,
    Flux(flux_sdk::Error),
}

impl From<flux_sdk::Error> for AuthError {
    fn from(e: flux_sdk::Error) -> Self {
        AuthError::Flux(e)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Forbidden => write!(f, "forbidden"),
            AuthError::Flux(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AuthError {}

/// The organisation the page's snippets issue keys to.
pub struct Org {
    pub id: String,
}

/// "Validate an inbound key and check its scopes."
pub fn authorize(flux: &Flux, raw_key: String) -> Result<flux_sdk::KeyInfo, AuthError> {
    let key_info = flux.api_keys().validate(&raw_key)?;

    if !key_info.has_scope("data:read") {
        return Err(AuthError::Forbidden);
    }
    Ok(key_info)
}

/// The page's admin key: "your-api-key" there, the environment's here.
fn your_api_key() -> String {
    std::env::var("FLUX_API_KEY")
        .or_else(|_| std::env::var("FLUX_TEST_ADMIN_KEY"))
        .expect("set FLUX_API_KEY (and FLUX_URL) to a Flux admin key")
}

pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let org = Org {
        id: format!("org-page-{}-{}", std::process::id(), nanos.as_nanos()),
    };

    // Generating a Key
    let flux = Flux::init(your_api_key());
    flux.api_keys().define_scope("data:read", "Read data")?;
    flux.api_keys()
        .define_scope("webhooks:write", "Manage webhooks")?;

    let key = flux.api_keys().create(flux_sdk::CreateApiKeyRequest {
        org_id: org.id.clone(),
        name: "CI pipeline".into(),
        scopes: vec!["data:read".into(), "webhooks:write".into()],
        expires_at: None, // No expiry; set a timestamp to auto-expire
        ..Default::default()
    })?;

    // key.secret is shown once — store it securely
    println!("Created key: {}", key.secret);

    // Scoping Permissions
    let raw_key = key.secret.clone();
    let key_info = authorize(&flux, raw_key)?;
    assert_eq!(key_info.id, key.id);

    // Key Rotation
    let new_key = flux.api_keys().rotate(&key.id)?;
    println!("New secret: {}", new_key.secret);
    match authorize(&flux, key.secret.clone()) {
        Err(AuthError::Flux(flux_sdk::Error::InvalidKey { .. })) => {}
        other => return Err(format!("the old secret still works: {other:?}").into()),
    }
    authorize(&flux, new_key.secret.clone())?;

    // Rate Limiting
    let key = flux.api_keys().create(flux_sdk::CreateApiKeyRequest {
        org_id: org.id.clone(),
        name: "Public API client".into(),
        scopes: vec!["data:read".into()],
        rate_limit: Some(flux_sdk::RateLimit {
            requests: 1000,
            window_seconds: 60,
        }),
        expires_at: None,
        ..Default::default()
    })?;
    authorize(&flux, key.secret.clone())?;

    // Usage Tracking
    let usage = flux.api_keys().get_usage(&key.id)?;
    println!("Requests this month: {}", usage.requests_current_period);
    assert_eq!(usage.requests_current_period, 1);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run()
}
