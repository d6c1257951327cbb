// The `flux-apikeys` command: serve, and admin-key management straight on the configured store.
import { ConfigError, loadConfig } from "./config.js";
import { openStores } from "./deps.js";
import { systemClock } from "./domain/clock.js";
import { createDigester } from "./domain/key-material.js";
import { AdminKeyService } from "./services/admin-key-service.js";
import { fail, serve } from "./main.js";
import { describeStartupError } from "./startup-errors.js";

const HELP = `flux-apikeys — self-hosted API keys service

Usage:
  flux-apikeys serve                               start the gRPC and HTTP servers
  flux-apikeys admin-keys create [--name NAME] [--org ID] [--validate-only] [--local-validation]
                                                   issue an admin key (secret printed once)
  flux-apikeys admin-keys list                     list admin keys
  flux-apikeys admin-keys revoke ID                revoke an admin key

Settings come from the environment: FLUX_MONGODB_URI (else the embedded store in FLUX_DATA_DIR, default ./data),
FLUX_GRPC_ADDR (127.0.0.1:50051), FLUX_HTTP_ADDR (127.0.0.1:8080), FLUX_ADMIN_KEY, FLUX_LOG_LEVEL.
The admin-keys commands work on the store directly: stop a server using the embedded store first.
`;

async function adminKeys(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  let stores;
  try {
    stores = await openStores(config);
  } catch (err) {
    const where = config.FLUX_MONGODB_URI ? "MongoDB" : `embedded store in ${config.FLUX_DATA_DIR}`;
    fail(`cannot open the ${where}: ${describeStartupError(err)}`, 1);
  }
  const digest = createDigester(config.FLUX_KEY_PEPPER);
  // Running servers drop cached admin keys within their cache TTL (5 s).
  const service = new AdminKeyService(stores.adminKeys, () => {}, systemClock, digest);
  try {
    if (sub === "create") {
      const flag = (name: string) => {
        const i = rest.indexOf(name);
        return i >= 0 ? rest[i + 1] : undefined;
      };
      const { key, secret } = await service.issue({
        name: flag("--name") ?? "cli",
        orgId: flag("--org"),
        validateOnly: rest.includes("--validate-only"),
        localValidation: rest.includes("--local-validation"),
      });
      process.stdout.write(`created admin key ${key.id}${key.orgId ? ` (org ${key.orgId})` : ""}${key.validateOnly ? " (validate only)" : ""}${key.localValidation ? " (local validation)" : ""}\n`);
      process.stdout.write(`secret (shown once — store this now): ${secret}\n`);
    } else if (sub === "list") {
      for (const k of await stores.adminKeys.list()) {
        const rights = [k.orgId ? `org=${k.orgId}` : "all orgs", k.validateOnly ? "validate-only" : "full", ...(k.localValidation ? ["local-validation"] : [])].join(", ");
        process.stdout.write(`${k.id}\t${k.displayHint}\t${k.name}\t${rights}\t${k.revokedAtMs ? "revoked" : "active"}\n`);
      }
    } else if (sub === "revoke" && rest[0]) {
      const k = await stores.adminKeys.revoke(rest[0], Date.now());
      if (!k) fail(`no admin key with id ${rest[0]} (see: flux-apikeys admin-keys list)`, 1);
      process.stdout.write(`revoked admin key ${k.id}\n`);
    } else {
      fail(`unknown admin-keys command ${JSON.stringify(sub ?? "")}\n\n${HELP}`, 2);
    }
  } catch (err) {
    fail(describeStartupError(err), 1);
  } finally {
    await stores.close();
  }
}

const [command, ...args] = process.argv.slice(2);
if (command === "serve") await serve();
else if (command === "admin-keys") await adminKeys(args);
else if (command === undefined || command === "--help" || command === "-h" || command === "help") process.stdout.write(HELP);
else fail(`unknown command ${JSON.stringify(command)}\n\n${HELP}`, 2);
