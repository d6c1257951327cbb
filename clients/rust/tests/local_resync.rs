//! A validator whose connection breaks: it turns stale at once, answers over the network (never from
//! the table it dropped), and is fresh again after it resubscribed. The break is a TCP proxy in front
//! of the real server that this test cuts and restores.
mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use flux_sdk::proto::v1::CreateAdminKeyRequest;
use flux_sdk::{Flux, ValidatorState};

/// Forwards 127.0.0.1:<port> to the server while open; `cut()` breaks every connection and refuses
/// new ones until `restore()`.
struct Proxy {
    port: u16,
    open: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let live = Arc::new(Mutex::new(Vec::new()));
        let (o, l) = (open.clone(), live.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !o.load(Ordering::Acquire) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut live = l.lock().unwrap();
                live.push(client.try_clone().unwrap());
                live.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Proxy { port, open, live }
    }

    fn cut(&self) {
        self.open.store(false, Ordering::Release);
        for s in self.live.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.open.store(true, Ordering::Release);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// Waits (bounded) for an event the validator reports on its own, e.g. a broken stream noticed.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_broken_connection_makes_it_stale_answering_over_the_network_then_fresh_again() {
    let flux = admin();
    let key = create_key(&flux, &[]);
    let mut raw = flux.raw_admin_keys().expect("raw admin client");
    let request = CreateAdminKeyRequest {
        name: unique("rust-local-resync"),
        local_validation: true,
        ..Default::default()
    };
    let secret = flux
        .runtime()
        .block_on(raw.create_admin_key(request))
        .expect("admin key")
        .into_inner()
        .secret;
    let upstream = url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let proxy = Proxy::start(upstream);
    let client = Flux::init_with_url(secret, format!("http://127.0.0.1:{}", proxy.port));
    let validator = client.api_keys().local_validator().expect("start");
    assert!(validator.validate(&key.secret).is_ok());
    assert_eq!(validator.stats().local, 1);

    proxy.cut();
    until("stale after the cut", || {
        validator.state() == ValidatorState::Stale
    });
    let before = validator.stats();
    let answer = validator.validate(&key.secret);
    assert!(
        answer.is_err_and(|e| e.is_retryable()),
        "stale: asked the (unreachable) network"
    );
    let after = validator.stats();
    assert_eq!(
        (after.local, after.network),
        (before.local, before.network + 1)
    );

    proxy.restore();
    until("fresh after resubscribing", || {
        validator.state() == ValidatorState::Fresh
    });
    assert!(validator.validate(&key.secret).is_ok());
    let stats = validator.stats();
    assert_eq!(stats.local, 2, "{stats:?}");
    assert!(stats.resyncs >= 1, "{stats:?}");
    validator.close().expect("close");
}
