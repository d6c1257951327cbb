// Webhook signing secrets at rest. HMAC signing needs the secret itself (a digest will not do), so with
// FLUX_KEY_PEPPER set the stores keep it sealed with AES-256-GCM under a key derived from the pepper (HKDF-SHA-256);
// without a pepper there is no key to seal with and it is kept as is (as the README says).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const PREFIX = "sealed:v1:";

export interface SecretBox {
  seal(secret: string): string;
  open(stored: string): string;
}

export function createSecretBox(pepper: string | undefined): SecretBox {
  if (!pepper) return { seal: (s) => s, open: (s) => openWith(undefined, s) };
  const key = Buffer.from(hkdfSync("sha256", pepper, "flux-apikeys", "webhook signing secrets v1", 32));
  return {
    seal(secret) {
      const iv = randomBytes(12);
      const c = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([c.update(secret, "utf8"), c.final()]);
      return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString("base64");
    },
    open: (stored) => openWith(key, stored),
  };
}

function openWith(key: Buffer | undefined, stored: string): string {
  if (!stored.startsWith(PREFIX)) return stored; // stored before a pepper was set
  if (!key) throw new Error("a sealed webhook secret needs FLUX_KEY_PEPPER to be opened");
  const raw = Buffer.from(stored.slice(PREFIX.length), "base64");
  const d = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString("utf8");
}
