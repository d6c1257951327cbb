// Small helpers shared by the RPC suites: defining scopes and creating keys through a caller.
import { randomBytes } from "node:crypto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import type { Caller } from "./callers.js";
import { ADMIN_KEY } from "./server.js";

export const newOrg = () => `org_${randomBytes(4).toString("hex")}`;

export async function defineScopes(c: Caller, ...names: string[]) {
  for (const name of names) await c.call(ApiKeyService, "defineScope", { scope: { name, description: `lets a key ${name}` } }, ADMIN_KEY);
}

export async function createKey(
  c: Caller,
  opts: { orgId?: string; scopes?: string[]; rateLimit?: { requests: number; windowSeconds: number }; expiresAtMs?: number; metadata?: Record<string, string> } = {},
) {
  const res = await c.call(
    ApiKeyService,
    "createApiKey",
    {
      orgId: opts.orgId ?? newOrg(),
      name: "test key",
      scopes: opts.scopes ?? [],
      rateLimit: opts.rateLimit,
      expiresAt: opts.expiresAtMs === undefined ? undefined : timestampFromMs(opts.expiresAtMs),
      metadata: opts.metadata ?? {},
    },
    ADMIN_KEY,
  );
  return { key: res.apiKey!, secret: res.secret };
}

export const validate = (c: Caller, key: string, requiredScopes: string[] = [], adminKey = ADMIN_KEY) =>
  c.call(ApiKeyService, "validateApiKey", { key, requiredScopes }, adminKey);
