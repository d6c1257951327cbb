// The product page's flow (API Keys: generate, scope, rotate, rate-limit, track usage) with the TypeScript SDK, as plain JavaScript that runs with plain node.
//   FLUX_URL=http://127.0.0.1:50051 FLUX_ADMIN_KEY=<admin key> node clients/ts/examples/product-page.mjs (after npm run build in clients/ts)
// "@flux/sdk" resolves to this package (its exports map: dist/ after `npm run build`); under Node it is the gRPC entry.
import { randomUUID } from "node:crypto";
import { Flux, InvalidKeyError, RateLimitedError } from "@flux/sdk";

// The page's `Flux::init("your-api-key")`, with the admin key from the environment; the address comes from FLUX_URL.
const flux = Flux.init(process.env.FLUX_ADMIN_KEY ?? "your-api-key");
const org = { id: `org_${randomUUID().replaceAll("-", "")}` };

try {
  // --- set-up: scopes are defined once, "in the API Keys settings" ---
  await flux.apiKeys.defineScope("data:read", "Read data");
  await flux.apiKeys.defineScope("webhooks:write", "Manage webhooks");

  // --- Generating a Key ---
  const key = await flux.apiKeys.create({
    orgId: org.id,
    name: "CI pipeline",
    scopes: ["data:read", "webhooks:write"],
    expiresAt: null, // No expiry; set a Date to auto-expire
  });
  // key.secret is shown once — store it securely
  console.log(`Created key: ${key.secret}`);

  // --- Scoping Permissions: validate an inbound key and check its scopes ---
  const rawKey = key.secret; // what a machine-to-machine client would present
  const keyInfo = await flux.apiKeys.validate(rawKey);
  if (!keyInfo.hasScope("data:read")) {
    throw new Error("Forbidden");
  }
  console.log(`Validated key ${keyInfo.id}: data:read=${keyInfo.hasScope("data:read")}`);

  // --- Key Rotation: the old secret stops working immediately ---
  const newKey = await flux.apiKeys.rotate(key.id);
  console.log(`New secret: ${newKey.secret}`);
  try {
    await flux.apiKeys.validate(rawKey);
    throw new Error("the old secret still works");
  } catch (err) {
    if (!(err instanceof InvalidKeyError)) throw err;
    console.log(`Old secret rejected: ${err.outcome}`);
  }

  // --- Rate Limiting: validate() rejects once the limit is exceeded ---
  const limited = await flux.apiKeys.create({
    orgId: org.id,
    name: "Public API client",
    scopes: ["data:read"],
    rateLimit: { requests: 2, windowSeconds: 60 }, // the page uses 1000 per 60 s; 2 shows the error sooner
    expiresAt: null,
  });
  for (let i = 1; i <= 3; i++) {
    try {
      const info = await flux.apiKeys.validate(limited.secret);
      console.log(`Request ${i}: allowed, ${info.rateLimit?.remaining} left`);
    } catch (err) {
      if (!(err instanceof RateLimitedError)) throw err;
      console.log(`Request ${i}: rate limited, retry in ${err.retryAfterMs} ms (window resets ${err.resetAt?.toISOString()})`);
    }
  }

  // --- Usage Tracking ---
  const usage = await flux.apiKeys.getUsage(key.id);
  console.log(`Requests this month: ${usage.requestsCurrentPeriod}`);
  const limitedUsage = await flux.apiKeys.getUsage(limited.id);
  console.log(`Public API client: ${limitedUsage.requestsCurrentPeriod} requests, error rate ${limitedUsage.errorRate.toFixed(2)}`);
} finally {
  flux.close();
}
