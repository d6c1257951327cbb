//! The Rust validator agent of the cross-SDK suite (test/local/, shared.md "The validator agent"):
//! holds one local validator and answers one JSON request per stdin line with one JSON line on
//! stdout, in order; logs go to stderr. Environment: FLUX_URL, FLUX_ADMIN_KEY (with the
//! local-validation right), optional FLUX_KEY_PEPPER. Launched by `clients/rust/local-agent.sh`.
use std::io::{BufRead, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flux_sdk::{Error, Flux, LocalValidator, Outcome, ValidateRequest, Validation};
use serde_json::{json, Value};

fn main() {
    let url = std::env::var("FLUX_URL").unwrap_or_default();
    let admin_key = std::env::var("FLUX_ADMIN_KEY").unwrap_or_default();
    let flux = Flux::init_with_url(admin_key, url);
    let options = flux_sdk::LocalValidatorOptions {
        name: Some("rust-agent".into()),
        ..Default::default()
    };
    let validator = match flux.api_keys().local_validator_with(options) {
        Ok(v) => v,
        Err(e) => {
            say(&json!({ "ready": false, "error": e.to_string() }));
            return;
        }
    };
    say(&json!({ "ready": true }));
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let request: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("local_agent: unreadable request: {e}");
                say(&json!({ "error": "INVALID_ARGUMENT" }));
                continue;
            }
        };
        let key = request["key"].as_str().unwrap_or_default();
        let answer = match request["op"].as_str().unwrap_or_default() {
            "validate" => validate(&validator, &request),
            "race" => race(&validator, key, &request),
            "burst" => burst(&validator, key, request["n"].as_u64().unwrap_or(0)),
            "status" => status(&validator),
            "bench" => bench(&validator, key, request["ms"].as_u64().unwrap_or(1000)),
            "close" => {
                if let Err(e) = validator.close() {
                    eprintln!("local_agent: close: {e}");
                }
                say(&json!({ "closed": true }));
                return;
            }
            other => {
                eprintln!("local_agent: unknown op {other:?}");
                json!({ "error": "UNIMPLEMENTED" })
            }
        };
        say(&answer);
    }
    let _ = validator.close();
}

fn say(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The outcome's proto name without `OUTCOME_`.
fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Valid => "VALID",
        Outcome::NotFound => "NOT_FOUND",
        Outcome::Malformed => "MALFORMED",
        Outcome::Expired => "EXPIRED",
        Outcome::Revoked => "REVOKED",
        Outcome::Disabled => "DISABLED",
        Outcome::RateLimited => "RATE_LIMITED",
        Outcome::InsufficientScope => "INSUFFICIENT_SCOPE",
        Outcome::IpNotAllowed => "IP_NOT_ALLOWED",
        Outcome::UsageExceeded => "USAGE_EXCEEDED",
        Outcome::Unknown(_) => "UNSPECIFIED",
    }
}

/// The gRPC code name of an error.
fn code_name(e: &Error) -> String {
    match e {
        Error::Unauthenticated { .. } => "UNAUTHENTICATED".into(),
        Error::PermissionDenied { .. } => "PERMISSION_DENIED".into(),
        Error::InvalidArgument { .. } => "INVALID_ARGUMENT".into(),
        Error::NotFound { .. } => "NOT_FOUND".into(),
        Error::FailedPrecondition { .. } => "FAILED_PRECONDITION".into(),
        Error::Throttled { .. } | Error::RateLimited { .. } | Error::UsageExceeded { .. } => {
            "RESOURCE_EXHAUSTED".into()
        }
        Error::Unavailable { .. } | Error::Transport { .. } => "UNAVAILABLE".into(),
        Error::Internal { .. } => "INTERNAL".into(),
        Error::Other { code, .. } => format!("{code:?}")
            .chars()
            .flat_map(|c| {
                let upper = c.is_ascii_uppercase();
                [upper.then_some('_'), Some(c.to_ascii_uppercase())]
            })
            .flatten()
            .collect::<String>()
            .trim_start_matches('_')
            .to_string(),
        _ => "UNKNOWN".into(),
    }
}

fn request_of(r: &Value) -> ValidateRequest {
    ValidateRequest {
        key: r["key"].as_str().unwrap_or_default().to_string(),
        required_scopes: r["scopes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        client_ip: r["client_ip"].as_str().unwrap_or_default().to_string(),
        cost: r["cost"]
            .as_u64()
            .map(|c| u32::try_from(c).unwrap_or(u32::MAX)),
    }
}

fn validate(validator: &LocalValidator, r: &Value) -> Value {
    let before = validator.stats().local;
    let answer: Result<Validation, Error> = validator.check_with(request_of(r));
    let local = validator.stats().local > before;
    match answer {
        Ok(v) => json!({
            "valid": v.valid,
            "outcome": outcome_name(v.outcome),
            "local": local,
            "key_id": v.key.as_ref().map(|k| k.id.clone()),
            "remaining": v.rate_limit.map(|r| r.remaining),
            "credits": v.credits.map(|c| c.remaining),
            "error": null,
        }),
        Err(e) => {
            eprintln!("local_agent: validate failed: {e}");
            json!({ "valid": false, "outcome": null, "local": local, "key_id": null,
                    "remaining": null, "credits": null, "error": code_name(&e) })
        }
    }
}

fn valid(validator: &LocalValidator, key: &str) -> bool {
    validator.check(key, &[]).is_ok_and(|v| v.valid)
}

fn race(validator: &LocalValidator, key: &str, r: &Value) -> Value {
    let min_n = r["min_n"].as_u64().unwrap_or(10_000);
    let refused_for = Duration::from_millis(r["refused_ms"].as_u64().unwrap_or(200));
    let max = Duration::from_millis(r["max_ms"].as_u64().unwrap_or(15_000));
    let local_before = validator.stats().local;
    let began = Instant::now();
    let (mut count, mut accepts, mut first_refusal, mut last_start) = (0u64, Vec::new(), None, 0.0);
    let mut refused_since: Option<Instant> = None;
    while began.elapsed() < max {
        let at = now_ms();
        last_start = at;
        count += 1;
        if valid(validator, key) {
            accepts.push(at);
        } else if refused_since.is_none() {
            refused_since = Some(Instant::now());
            first_refusal = Some(at);
        }
        if count >= min_n && refused_since.is_some_and(|t| t.elapsed() >= refused_for) {
            break;
        }
    }
    json!({
        "count": count,
        "local": validator.stats().local - local_before,
        "accept_starts_ms": accepts,
        "first_refusal_start_ms": first_refusal,
        "last_start_ms": last_start,
    })
}

fn burst(validator: &LocalValidator, key: &str, n: u64) -> Value {
    let local_before = validator.stats().local;
    let accepted = (0..n).filter(|_| valid(validator, key)).count() as u64;
    json!({ "valid": accepted, "refused": n - accepted, "local": validator.stats().local - local_before })
}

fn status(validator: &LocalValidator) -> Value {
    let s = validator.stats();
    json!({ "state": validator.state().as_str(), "local": s.local, "network": s.network, "resyncs": s.resyncs })
}

fn bench(validator: &LocalValidator, key: &str, ms: u64) -> Value {
    let began = Instant::now();
    let span = Duration::from_millis(ms);
    let mut n = 0u64;
    while began.elapsed() < span {
        for _ in 0..256 {
            std::hint::black_box(validator.check(key, &[]).is_ok());
        }
        n += 256;
    }
    json!({ "per_s": n as f64 / began.elapsed().as_secs_f64() })
}
