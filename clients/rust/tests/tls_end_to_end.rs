//! Over TLS against a real Flux serving `FLUX_TLS_CERT_FILE` / `FLUX_TLS_KEY_FILE` with a CA made at test time
//! (`node scripts/with-server.mjs --tls` sets FLUX_TLS_URL, FLUX_TEST_CA_FILE and FLUX_TEST_WRONG_CA_FILE).
mod common;

use std::time::Duration;

use common::{admin_key, env, unique};
use flux_sdk::{CreateApiKeyRequest, Error, Flux};

fn tls_client(ca_file: &str) -> Flux {
    let ca = std::fs::read(env(ca_file)).expect("read the test CA");
    Flux::builder(admin_key())
        .url(env("FLUX_TLS_URL"))
        .ca_certificate_pem(ca)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

#[test]
fn issues_and_validates_a_key_over_tls_with_the_servers_ca() {
    let flux = tls_client("FLUX_TEST_CA_FILE");
    flux.ping().expect("ping over TLS");
    let key = flux
        .api_keys()
        .create(CreateApiKeyRequest {
            org_id: unique("org-tls"),
            name: "over TLS".into(),
            ..Default::default()
        })
        .expect("create over TLS");
    let info = flux
        .api_keys()
        .validate(&key.secret)
        .expect("validate over TLS");
    assert_eq!(info.id, key.id);
}

#[test]
fn a_ca_that_did_not_sign_the_servers_certificate_is_a_transport_error_naming_it() {
    let flux = tls_client("FLUX_TEST_WRONG_CA_FILE");
    let err = flux.ping().expect_err("the handshake must fail");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let text = error_chain(&err);
    // e.g. "transport error: Unavailable: invalid peer certificate: UnknownIssuer"
    assert!(text.contains("invalid peer certificate"), "{text}");
}

/// The error and every source under it, as one line.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
