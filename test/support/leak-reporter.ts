// A secret scanner for the leak-report tests: its own EC P-256 key pair, the public-keys file the server reads
// (GitHub's shape), and signed POSTs to /v1/leaks/report over plain HTTP/1.1.
import { generateKeyPairSync, hash, type KeyObject, randomBytes, sign } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Reporter {
  keyId: string;
  privateKey: KeyObject;
  publicPem: string;
  privatePem: string;
}

export function newReporter(): Reporter {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return {
    keyId: randomBytes(32).toString("hex"), // GitHub's identifiers: 64 hex characters
    privateKey,
    publicPem: publicKey.export({ type: "spki", format: "pem" }) as string,
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  };
}

/** Writes the keys file (GitHub's public-keys response) and returns its path. */
export function writeKeysFile(...reporters: Pick<Reporter, "keyId" | "publicPem">[]): string {
  const dir = mkdtempSync(join(tmpdir(), "flux-leak-keys-"));
  const path = join(dir, "reporter-keys.json");
  writeFileSync(path, JSON.stringify({ public_keys: reporters.map((r, i) => ({ key_identifier: r.keyId, key: r.publicPem, is_current: i === 0 })) }));
  return path;
}

/** The example in GitHub's partner-program documentation: a payload GitHub signed, its signature and GitHub's key. */
export const GITHUB_EXAMPLE = {
  keyId: "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a",
  publicPem: [
    "-----BEGIN PUBLIC KEY-----",
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq",
    "kCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==",
    "-----END PUBLIC KEY-----",
    "",
  ].join("\n"),
  payload: '[{"token":"some_token","type":"some_type","url":"some_url"}]',
  signature: "MEUCIQDKZokqnCjrRtw0tni+2Ltvl/uiMJ1EGumEsp1BsNr32AIgQY1YXD2nlj+XNfGK4rBfkMJ1JDOQcYXxa2sY8FNkrKc=",
};

export const tokenHash = (token: string) => hash("sha256", token, "hex");

export interface LeakEntry {
  token: string;
  type: string;
  url: string;
  source: string;
}

export const entry = (token: string, n = 0): LeakEntry => ({ token, type: "flux_api_key", url: `https://github.com/octo/repo/blob/main/config-${n}.env`, source: "content" });

/** GitHub's headers, signed by `signer` (default: the reporter) with node:crypto (ASN.1 DER, base64). */
export function githubHeaders(r: Reporter, body: Buffer, signer: KeyObject = r.privateKey): Record<string, string> {
  return { "github-public-key-identifier": r.keyId, "github-public-key-signature": sign("sha256", body, signer).toString("base64") };
}

export interface LeakAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json(): unknown;
}

export function postReport(port: number, body: Buffer | string, headers: Record<string, string> = {}, path = "/v1/leaks/report", method = "POST"): Promise<LeakAnswer> {
  const data = typeof body === "string" ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, headers: { "content-type": "application/json", "content-length": data.length, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, headers: res.headers, body: text, json: () => JSON.parse(text) });
      });
    });
    req.on("error", reject);
    req.end(data);
  });
}

/** A signed report of these entries, sent with GitHub's headers. */
export function sendReport(port: number, r: Reporter, entries: LeakEntry[]): Promise<LeakAnswer> {
  const body = Buffer.from(JSON.stringify(entries));
  return postReport(port, body, githubHeaders(r, body));
}
