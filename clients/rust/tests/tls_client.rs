//! `https://` URLs speak TLS (rustls) and `http://` URLs cleartext HTTP/2: seen in the first bytes the client
//! sends to a bare TCP listener. Needs no server; the end-to-end TLS tests run against a TLS-serving Flux.
use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use flux_sdk::{Error, Flux};

/// The first bytes a client built for `scheme://localhost:<port>` sends, and the error its call ends with.
fn first_bytes(scheme: &str) -> ([u8; 3], Error) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let reader = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("accept");
        let mut first = [0u8; 3];
        socket.read_exact(&mut first).expect("read");
        first // dropping the socket fails the handshake
    });
    let flux = Flux::builder("admin key")
        .url(format!("{scheme}://localhost:{port}"))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Some(Duration::from_secs(5)))
        .build()
        .expect("client");
    let err = flux.ping().expect_err("nobody answers");
    (reader.join().expect("reader"), err)
}

#[test]
fn https_urls_start_a_tls_handshake() {
    let (first, err) = first_bytes("https");
    assert_eq!(first[0], 0x16, "a TLS handshake record");
    assert_eq!(first[1], 0x03, "TLS major version 3");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

#[test]
fn http_urls_stay_cleartext_http2() {
    let (first, _) = first_bytes("http");
    assert_eq!(&first, b"PRI", "the HTTP/2 connection preface");
}
