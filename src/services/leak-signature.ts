// Who may send leak reports: reporters' public keys (a file shaped like GitHub's secret-scanning public-keys
// response) and the check of a report's ECDSA signature over its raw body bytes, with node:crypto.
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { readFileSync, statSync } from "node:fs";

export class ReporterKeysError extends Error {}

/** Key identifiers longer than this are refused in the file (GitHub's are 64 hex characters). */
const KEY_ID_MAX = 200;

/**
 * Parses {"public_keys":[{"key_identifier":"…","key":"-----BEGIN PUBLIC KEY-----…","is_current":true}]}. Every
 * listed key is accepted (is_current only tells which one the reporter signs new reports with); each must be an
 * EC key (P-256 for GitHub). Throws ReporterKeysError naming what is wrong.
 */
export function parseReporterKeys(text: string): Map<string, KeyObject> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ReporterKeysError("is not JSON");
  }
  const list = (doc as { public_keys?: unknown })?.public_keys;
  if (!Array.isArray(list) || list.length === 0) throw new ReporterKeysError('needs a non-empty "public_keys" array');
  const keys = new Map<string, KeyObject>();
  list.forEach((entry: { key_identifier?: unknown; key?: unknown }, i) => {
    const id = entry?.key_identifier;
    if (typeof id !== "string" || id.length === 0 || id.length > KEY_ID_MAX) {
      throw new ReporterKeysError(`public_keys[${i}].key_identifier must be a string of 1–${KEY_ID_MAX} characters`);
    }
    if (typeof entry.key !== "string") throw new ReporterKeysError(`public_keys[${i}].key must be a PEM public key`);
    let key: KeyObject;
    try {
      key = createPublicKey(entry.key);
    } catch {
      throw new ReporterKeysError(`public_keys[${i}].key is not a PEM public key`);
    }
    if (key.asymmetricKeyType !== "ec") throw new ReporterKeysError(`public_keys[${i}].key must be an EC key (ECDSA), not ${key.asymmetricKeyType}`);
    keys.set(id, key);
  });
  return keys;
}

export function loadReporterKeys(path: string): Map<string, KeyObject> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ReporterKeysError(`cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  return parseReporterKeys(text);
}

export type SignatureCheck = { ok: true; keyId: string } | { ok: false; why: "unsigned" | "unknown key" | "bad signature" };

/**
 * The reporter keys of one file, re-read when the file changes (GitHub rotates its keys: replace the file, no
 * restart). A file that turns bad keeps the previous keys and reports the problem through onReloadError.
 */
export class ReporterKeys {
  private keys: Map<string, KeyObject>;
  private mtimeMs: number;

  constructor(private readonly path: string, private readonly onReloadError: (message: string) => void = () => {}) {
    this.mtimeMs = this.stat();
    this.keys = loadReporterKeys(path);
  }

  /** `signature`: base64 of an ASN.1 DER ECDSA signature (GitHub's, openssl's), or of raw r‖s (IEEE P1363, WebCrypto's). */
  check(body: Uint8Array, keyId: string | undefined, signature: string | undefined): SignatureCheck {
    if (!keyId || !signature) return { ok: false, why: "unsigned" };
    this.reloadIfChanged();
    const key = this.keys.get(keyId);
    if (!key) return { ok: false, why: "unknown key" };
    const sig = Buffer.from(signature, "base64");
    if (sig.length === 0 || sig.length > 256) return { ok: false, why: "bad signature" };
    // DER is what GitHub and openssl send; raw r‖s is tried too when the length allows (one verify costs ~0.2 ms).
    const encodings = sig.length === 64 || sig.length === 96 || sig.length === 132 ? (["der", "ieee-p1363"] as const) : (["der"] as const);
    for (const dsaEncoding of encodings) {
      try {
        if (verify("sha256", body, { key, dsaEncoding }, sig)) return { ok: true, keyId };
      } catch {
        // not this encoding
      }
    }
    return { ok: false, why: "bad signature" };
  }

  private stat(): number {
    try {
      return statSync(this.path).mtimeMs;
    } catch {
      return -1;
    }
  }

  private reloadIfChanged(): void {
    const m = this.stat();
    if (m === this.mtimeMs) return;
    this.mtimeMs = m;
    try {
      this.keys = loadReporterKeys(this.path);
    } catch (err) {
      this.onReloadError((err as Error).message);
    }
  }
}
