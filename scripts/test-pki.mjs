// A throwaway certificate authority for TLS tests, made at test time with the openssl command: a CA, server
// certificates for 127.0.0.1 / ::1 / localhost with chosen serials, and client certificates for mTLS.
// Plain ESM so scripts/with-server.mjs (Python and Rust SDK runs) and the vitest suites share it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

function openssl(args, cwd) {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed (is the openssl command installed?): ${err.stderr ?? err.message}`);
  }
}

/** A new key pair (EC P-256: fast to make) and its PEM file. */
function newKey(dir, name) {
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`], dir);
  return path.join(dir, `${name}.key`);
}

/**
 * Makes a CA in a new temporary directory (or `dir`). `issueServer` and `issueClient` sign certificates with it;
 * `remove` deletes the directory.
 */
export function createTestPki({ dir, name = "Flux Test CA" } = {}) {
  const root = dir ?? mkdtempSync(path.join(os.tmpdir(), "flux-pki-"));
  const caKey = newKey(root, "ca");
  openssl(["req", "-x509", "-new", "-key", "ca.key", "-subj", `/CN=${name}`, "-days", "2", "-sha256", "-out", "ca.crt",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], root);
  const caCert = path.join(root, "ca.crt");

  /** Signs `<name>.crt` for `<name>.key` with the given serial (hex) and extensions. */
  function issue(fileName, subject, serialHex, extensions) {
    const key = newKey(root, fileName);
    openssl(["req", "-new", "-key", `${fileName}.key`, "-subj", subject, "-out", `${fileName}.csr`], root);
    writeFileSync(path.join(root, `${fileName}.ext`), extensions.join("\n") + "\n");
    openssl(["x509", "-req", "-in", `${fileName}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial", `0x${serialHex}`,
      "-days", "2", "-sha256", "-extfile", `${fileName}.ext`, "-out", `${fileName}.crt`], root);
    return { cert: path.join(root, `${fileName}.crt`), key, serial: serialHex.toUpperCase() };
  }

  let next = 0x1000;
  return {
    dir: root,
    caCert,
    caKey,
    /** A server certificate valid for 127.0.0.1, ::1 and localhost; its serial is returned upper-case hex. */
    issueServer(fileName = "server", serialHex = (next++).toString(16)) {
      return issue(fileName, "/CN=localhost", serialHex, [
        "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
        "extendedKeyUsage=serverAuth",
        "keyUsage=critical,digitalSignature",
      ]);
    },
    /** A client certificate for mTLS. */
    issueClient(fileName = "client", serialHex = (next++).toString(16)) {
      return issue(fileName, `/CN=${fileName}`, serialHex, ["extendedKeyUsage=clientAuth", "keyUsage=critical,digitalSignature"]);
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
