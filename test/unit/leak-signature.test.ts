// Reporter keys and report signatures (services/leak-signature.ts): what the keys file must hold, which signatures
// verify (DER as GitHub and openssl make them, raw r‖s as WebCrypto makes them), and a key file replaced while
// serving (GitHub rotates its keys) taking effect without a restart, a broken replacement keeping the old keys.
import { generateKeyPairSync, sign } from "node:crypto";
import { utimesSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseReporterKeys, ReporterKeys, ReporterKeysError } from "../../src/services/leak-signature.js";
import { loadConfig } from "../../src/config.js";
import { newReporter, writeKeysFile } from "../support/leak-reporter.js";

const body = Buffer.from('[{"token":"flux_x","type":"t"}]');

describe("the reporter keys file", () => {
  it("refuses a file that is not GitHub's public-keys shape, naming the problem", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }) as string;
    const cases: [string, RegExp][] = [
      ["not json", /not JSON/],
      ["{}", /public_keys/],
      ['{"public_keys":[]}', /public_keys/],
      ['{"public_keys":[{"key":"x"}]}', /key_identifier/],
      ['{"public_keys":[{"key_identifier":"a","key":"nope"}]}', /not a PEM public key/],
      [JSON.stringify({ public_keys: [{ key_identifier: "a", key: rsa }] }), /must be an EC key/],
    ];
    for (const [text, why] of cases) {
      expect(() => parseReporterKeys(text), text).toThrow(ReporterKeysError);
      expect(() => parseReporterKeys(text), text).toThrow(why);
    }
  });

  it("is checked by the configuration: FLUX_LEAK_ACTION takes only revoke, disable or report", () => {
    expect(loadConfig({}).FLUX_LEAK_ACTION).toBe("revoke");
    expect(() => loadConfig({ FLUX_LEAK_ACTION: "delete" })).toThrow(/FLUX_LEAK_ACTION/);
    expect(() => loadConfig({ FLUX_LEAK_REPORTS_PER_MINUTE: "-1" })).toThrow(/FLUX_LEAK_REPORTS_PER_MINUTE/);
  });
});

describe("signature checks", () => {
  it("accepts DER and raw r‖s signatures of the exact body by a listed key, and nothing else", () => {
    const r = newReporter();
    const keys = new ReporterKeys(writeKeysFile(r));
    const der = sign("sha256", body, r.privateKey).toString("base64");
    const raw = sign("sha256", body, { key: r.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64");
    expect(keys.check(body, r.keyId, der)).toEqual({ ok: true, keyId: r.keyId });
    expect(keys.check(body, r.keyId, raw)).toEqual({ ok: true, keyId: r.keyId });
    expect(keys.check(body, undefined, der)).toEqual({ ok: false, why: "unsigned" });
    expect(keys.check(body, r.keyId, undefined)).toEqual({ ok: false, why: "unsigned" });
    expect(keys.check(body, "other", der)).toEqual({ ok: false, why: "unknown key" });
    expect(keys.check(Buffer.from(body.toString() + " "), r.keyId, der)).toEqual({ ok: false, why: "bad signature" });
    expect(keys.check(body, r.keyId, "!!!")).toEqual({ ok: false, why: "bad signature" });
    expect(keys.check(body, r.keyId, Buffer.alloc(300).toString("base64"))).toEqual({ ok: false, why: "bad signature" });
  });

  it("follows a replaced keys file without a restart and keeps the previous keys when the new file is broken", () => {
    const [a, b] = [newReporter(), newReporter()];
    const path = writeKeysFile(a);
    const problems: string[] = [];
    const keys = new ReporterKeys(path, (m) => problems.push(m));
    const sigB = sign("sha256", body, b.privateKey).toString("base64");
    expect(keys.check(body, b.keyId, sigB).ok).toBe(false);
    writeFileSync(path, JSON.stringify({ public_keys: [{ key_identifier: b.keyId, key: b.publicPem, is_current: true }] }));
    utimesSync(path, new Date(), new Date(Date.now() + 5000)); // a distinct mtime, however coarse the filesystem's
    expect(keys.check(body, b.keyId, sigB).ok).toBe(true);
    writeFileSync(path, "{ broken");
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    expect(keys.check(body, b.keyId, sigB).ok).toBe(true);
    expect(problems).toEqual(["is not JSON"]);
  });
});
