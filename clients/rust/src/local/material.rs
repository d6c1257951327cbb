//! Key material as a local validator needs it: the offline shape and checksum check (the same rule
//! as the server's `src/domain/key-material.ts`), the digest the server's stream carries, and the
//! pepper id that proves both sides hold the same `FLUX_KEY_PEPPER`. Never logs or keeps a secret.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::{digest, hmac};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PREFIX: &str = "flux_";
const RANDOM_CHARS: usize = 30;
const CHECKSUM_CHARS: usize = 6;
/// Longer keys are MALFORMED on the server before any other check (LIMITS.keyLength).
pub(crate) const MAX_KEY_LENGTH: usize = 512;

/// CRC-32 (IEEE, as zlib's `crc32`), table built at compile time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// The six base62 characters the server appends to a key's body.
fn checksum(body: &[u8]) -> [u8; CHECKSUM_CHARS] {
    let mut n = crc32(body);
    let mut out = [0u8; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// True when `secret` has the shape of a Flux API key and its checksum matches.
pub(crate) fn is_well_formed(secret: &str) -> bool {
    let bytes = secret.as_bytes();
    if bytes.len() != PREFIX.len() + RANDOM_CHARS + CHECKSUM_CHARS || !secret.starts_with(PREFIX) {
        return false;
    }
    if !bytes[PREFIX.len()..].iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let split = bytes.len() - CHECKSUM_CHARS;
    checksum(&bytes[..split]) == bytes[split..]
}

/// How secrets become the 32-byte digests the table is keyed by.
#[derive(Clone)]
pub(crate) enum Digester {
    Sha256,
    Hmac(hmac::Key),
}

impl Digester {
    pub(crate) fn new(pepper: Option<&str>) -> Self {
        match pepper {
            Some(p) if !p.is_empty() => {
                Digester::Hmac(hmac::Key::new(hmac::HMAC_SHA256, p.as_bytes()))
            }
            _ => Digester::Sha256,
        }
    }

    pub(crate) fn digest(&self, secret: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        match self {
            Digester::Sha256 => {
                out.copy_from_slice(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref())
            }
            Digester::Hmac(key) => out.copy_from_slice(hmac::sign(key, secret.as_bytes()).as_ref()),
        }
        out
    }

    /// What `ValidatorSession.pepper_id` must be for this digester ("" without a pepper).
    pub(crate) fn pepper_id(&self) -> String {
        match self {
            Digester::Sha256 => String::new(),
            Digester::Hmac(key) => URL_SAFE_NO_PAD.encode(hmac::sign(key, b"flux-pepper-id")),
        }
    }
}

/// A digest as the stream sends it (base64url, unpadded) in the table's form; `None` if malformed.
pub(crate) fn decode_digest(text: &str) -> Option<[u8; 32]> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a well-formed key from a 30-character body, as the server does.
    fn key(body: &str) -> String {
        let head = format!("{PREFIX}{body}");
        let sum = checksum(head.as_bytes());
        format!("{head}{}", std::str::from_utf8(&sum).unwrap())
    }

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn accepts_a_key_with_its_checksum_and_refuses_every_other_shape() {
        let good = key("abcdefghijABCDEFGHIJ0123456789");
        assert!(is_well_formed(&good));
        let mut typo = good.clone().into_bytes();
        typo[10] = if typo[10] == b'x' { b'y' } else { b'x' };
        assert!(!is_well_formed(std::str::from_utf8(&typo).unwrap()));
        assert!(!is_well_formed(&good[..good.len() - 1]));
        assert!(!is_well_formed(&format!("{good}a")));
        assert!(!is_well_formed(&good.replacen("flux_", "flax_", 1)));
        assert!(!is_well_formed(&good.replacen('a', "-", 1)));
        assert!(!is_well_formed(&good.replacen('a', "é", 1)));
        assert!(!is_well_formed(""));
    }

    #[test]
    fn digests_match_the_servers_encoding() {
        // sha256("abc") and HMAC-SHA-256("key", "The quick brown fox jumps over the lazy dog").
        let sha = Digester::new(None).digest("abc");
        assert_eq!(
            URL_SAFE_NO_PAD.encode(sha),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        let mac = Digester::new(Some("key")).digest("The quick brown fox jumps over the lazy dog");
        assert_eq!(
            URL_SAFE_NO_PAD.encode(mac),
            "97yD9DBThCSxMpjmqm-xQ-9NWaFJRhdZl0edvC0aPNg"
        );
        assert_eq!(decode_digest(&URL_SAFE_NO_PAD.encode(mac)), Some(mac));
        assert_eq!(decode_digest("not base64!"), None);
        assert_eq!(Digester::new(None).pepper_id(), "");
        assert_eq!(Digester::new(Some("")).pepper_id(), "");
        // pepperIdOf("p") in src/services/validator-hub.ts.
        assert_eq!(
            Digester::new(Some("p")).pepper_id(),
            "IDEfqk3s5oazHIfCxQ-bv8mqfMZUroJ6FHo8XWzU2WQ"
        );
    }
}
