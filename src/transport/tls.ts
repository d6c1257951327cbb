// The server's TLS material (certificate, key, optional client CA for mTLS), read from files at start and again
// on reload (SIGHUP). Both listeners swap their secure context in place: new handshakes see the new
// certificate, connections already open keep theirs, so no call is dropped.
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import * as tls from "node:tls";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Set: clients must present a certificate signed by one of these CAs (mTLS). */
  clientCaFile?: string;
}

/** What a loaded certificate is, for logs and tests; never the key. */
export interface CertificateInfo {
  serialNumber: string;
  subject: string;
  validTo: string;
}

export class TlsLoadError extends Error {}

interface Material {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  info: CertificateInfo;
}

export interface ServerTls {
  readonly requireClientCert: boolean;
  /** The options for tls.createSecureContext / setSecureContext, as last loaded. */
  contextOptions(): tls.SecureContextOptions;
  certificate(): CertificateInfo;
  /**
   * Reads the files again and hands the new context to every listener. Throws TlsLoadError and keeps serving
   * the old certificate when the files are unreadable, mismatched or not PEM (e.g. caught half-written).
   */
  reload(): CertificateInfo;
  /** Called with the new context options after each successful reload; returns the unsubscribe. */
  onReload(listener: (options: tls.SecureContextOptions) => void): () => void;
}

export function loadServerTls(files: TlsFiles): ServerTls {
  let current = readMaterial(files);
  const listeners = new Set<(options: tls.SecureContextOptions) => void>();
  const options = () => ({ cert: current.cert, key: current.key, ...(current.ca ? { ca: current.ca } : {}) });
  return {
    requireClientCert: files.clientCaFile !== undefined,
    contextOptions: options,
    certificate: () => current.info,
    reload() {
      current = readMaterial(files);
      for (const l of listeners) l(options());
      return current.info;
    },
    onReload(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function readMaterial(files: TlsFiles): Material {
  const read = (setting: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TlsLoadError(`cannot read ${setting} (${file}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const cert = read("FLUX_TLS_CERT_FILE", files.certFile);
  const key = read("FLUX_TLS_KEY_FILE", files.keyFile);
  const ca = files.clientCaFile === undefined ? undefined : read("FLUX_TLS_CLIENT_CA_FILE", files.clientCaFile);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new TlsLoadError(`FLUX_TLS_CERT_FILE (${files.certFile}) is not a PEM certificate: ${(err as Error).message}`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error("the key does not belong to the certificate");
  } catch (err) {
    throw new TlsLoadError(`FLUX_TLS_KEY_FILE (${files.keyFile}) does not fit FLUX_TLS_CERT_FILE: ${(err as Error).message}`);
  }
  try {
    // What setSecureContext would throw on, found before any listener sees it.
    tls.createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new TlsLoadError(`the TLS files do not make a usable context: ${(err as Error).message}`);
  }
  return { cert, key, ca, info: { serialNumber: x509.serialNumber, subject: x509.subject, validTo: x509.validTo } };
}

/**
 * grpc-js server credentials that follow reloads. grpc-js's certificate-provider credentials call
 * `setSecureContext` on its HTTP/2 server for each update (grpc-js ≥ 1.10), which is the in-place swap we need;
 * `ServerCredentials.createSsl` is fixed for the server's life.
 */
export function grpcServerCredentials(t: ServerTls): grpc.ServerCredentials {
  const identity = new ReloadingProvider(t);
  // The exported function's parameter names are swapped relative to what it does: the first provider supplies
  // the identity (certificate and key), the second the CA that client certificates are checked against.
  return grpc.experimental.createCertificateProviderServerCredentials(identity, t.requireClientCert ? identity : null, t.requireClientCert);
}

class ReloadingProvider implements grpc.experimental.CertificateProvider {
  readonly #ca = new Set<grpc.experimental.CaCertificateUpdateListener>();
  readonly #identity = new Set<grpc.experimental.IdentityCertificateUpdateListener>();

  constructor(private readonly t: ServerTls) {
    t.onReload(() => {
      for (const l of this.#ca) l(this.caUpdate());
      for (const l of this.#identity) l(this.identityUpdate());
    });
  }

  private caUpdate() {
    const { ca } = this.t.contextOptions();
    return ca ? { caCertificate: ca as Buffer } : null;
  }

  private identityUpdate() {
    const { cert, key } = this.t.contextOptions();
    return { certificate: cert as Buffer, privateKey: key as Buffer };
  }

  // grpc-js subscribes before it registers the server's own watcher, so the first value must come later
  // (a synchronous one would be recorded but never applied, and every connection refused).
  addCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener) {
    this.#ca.add(l);
    queueMicrotask(() => this.#ca.has(l) && l(this.caUpdate()));
  }
  removeCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener) {
    this.#ca.delete(l);
  }
  addIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener) {
    this.#identity.add(l);
    queueMicrotask(() => this.#identity.has(l) && l(this.identityUpdate()));
  }
  removeIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener) {
    this.#identity.delete(l);
  }
}
