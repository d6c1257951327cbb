// Start-up failures as one line a person can act on, never a stack trace.

export function describeStartupError(err: unknown): string {
  const e = err as { code?: string; message?: string; name?: string; address?: string; port?: number; path?: string };
  switch (e?.code) {
    case "EADDRINUSE":
      return `address ${e.address ?? ""}:${e.port ?? ""} is already in use (set FLUX_GRPC_ADDR / FLUX_HTTP_ADDR to free ones)`;
    case "EADDRNOTAVAIL":
      return `address ${e.address ?? ""} is not on this machine`;
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return `permission denied${e.path ? ` for ${e.path}` : ""} (choose a writable FLUX_DATA_DIR)`;
    case "SQLITE_CANTOPEN":
      return "cannot open the database file (is FLUX_DATA_DIR writable?)";
  }
  if (e?.name?.startsWith("MongoServerSelection") || e?.name?.startsWith("MongoNetwork")) {
    return "MongoDB is unreachable (check FLUX_MONGODB_URI and that the server is running)";
  }
  const msg = e?.message ?? String(err);
  // grpc-js reports bind failures as plain errors with this text.
  if (/No address added out of total/.test(msg)) return `cannot bind the gRPC address (in use or invalid): ${msg}`;
  return msg.split("\n")[0]!.slice(0, 300);
}

/** A MongoDB URI without its password, for messages. */
export function redactUri(uri: string): string {
  return uri.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
