// Node reports a failed TLS handshake as an Error carrying an OpenSSL code, which connect-node passes on as
// INTERNAL. That reads as a server fault; the SDK says instead that the connection could not be secured, and why.

// OpenSSL's verification results, as Node names them, for a server certificate this client cannot trust.
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_REVOKED",
]);

/** A message for a TLS handshake failure somewhere in `err`'s cause chain; undefined for anything else. */
export function tlsHandshakeFailure(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (UNTRUSTED.has(code)) {
      return `TLS handshake failed: the server's certificate is not trusted (${code}: ${e.message}); pass the CA that signed it as \`ca\``;
    }
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return `TLS handshake failed: ${e.message}`;
    if (code === "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED") {
      return "TLS handshake failed: the server requires a client certificate; pass clientCert and clientKey";
    }
    if (code.startsWith("ERR_SSL_") && code.includes("ALERT")) {
      return `TLS handshake failed: the server refused the connection (${code}); check clientCert, clientKey and the server's client CA`;
    }
  }
  return undefined;
}
