// flux.apiKeys.localValidator() against a live server, over gRPC and Connect: it answers exactly as the network
// validate does (same outcomes, key info and error classes), locally; it refuses to start without the right, with a
// wrong admin key or a wrong pepper; state, stats and close.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthenticationError,
  FailedPreconditionError,
  Flux,
  InsufficientScopeError,
  InvalidKeyError,
  type LocalValidator,
  type LocalValidatorState,
  PermissionDeniedError,
  type ValidationResult,
} from "../src/node.js";
import { ADMIN_KEY, PROTOCOLS, rejection, startSdkServer, type SdkServer, urlFor } from "./helpers.js";
import { API_KEY_PREFIX, generateSecret } from "../../../src/domain/key-material.js";
import { startTestServer } from "../../../test/support/server.js";

/** What must be equal between a local and a network answer (timestamps and counters aside). */
const shape = (r: ValidationResult) => ({
  valid: r.valid,
  outcome: r.outcome,
  missingScopes: r.missingScopes,
  key: r.key && { id: r.key.id, orgId: r.key.orgId, name: r.key.name, scopes: [...r.key.scopes], metadata: { ...r.key.metadata }, expiresAt: r.key.expiresAt },
});

describe.each(PROTOCOLS)("local validator over %s", (protocol) => {
  let s: SdkServer;
  let admin: Flux;
  let validatorAdmin: string;
  let v: LocalValidator;
  const states: LocalValidatorState[] = [];

  beforeAll(async () => {
    s = await startSdkServer(`local-${protocol}`, ["data:read", "data:write"]);
    admin = s.flux(protocol);
    validatorAdmin = (await admin.raw.adminKeys.createAdminKey({ name: "validator", localValidation: true, validateOnly: true })).secret;
    v = await s.flux(protocol, validatorAdmin).apiKeys.localValidator({ name: `sdk-test-${protocol}`, onStateChange: (st) => states.push(st) });
  });
  afterAll(async () => {
    await v?.close().catch(() => {});
    await s?.stop();
  });

  it("starts fresh, holding the keys the admin key may see", () => {
    expect(v.state).toBe("fresh");
    expect(states).toEqual(["fresh"]);
  });

  it("answers every outcome it decides exactly as ValidateApiKey does, without the network", async () => {
    const org = `org_${protocol}`;
    const plain = await admin.apiKeys.create({ orgId: org, name: "plain", scopes: ["data:read"], metadata: { plan: "pro" } });
    const revoked = await admin.apiKeys.create({ orgId: org, name: "revoked" });
    await admin.apiKeys.revoke(revoked.id);
    const disabled = await admin.apiKeys.create({ orgId: org, name: "disabled" });
    await admin.apiKeys.update(disabled.id, { enabled: false });
    const office = await admin.apiKeys.create({ orgId: org, name: "office", allowedCidrs: ["203.0.113.0/24"] });
    const cases: [string, { requiredScopes?: string[]; clientIp?: string }][] = [
      [plain.secret, {}],
      [plain.secret, { requiredScopes: ["data:read"] }],
      [plain.secret, { requiredScopes: ["data:write", "data:read", "other"] }],
      [revoked.secret, {}],
      [disabled.secret, {}],
      [office.secret, { clientIp: "203.0.113.7" }],
      [office.secret, { clientIp: "::ffff:203.0.113.7" }],
      [office.secret, { clientIp: "198.51.100.1" }],
      [office.secret, {}],
      [plain.secret.slice(0, -1) + (plain.secret.endsWith("a") ? "b" : "a"), {}],
    ];
    const before = v.stats();
    for (const [key, opts] of cases) {
      const local = await v.check(key, opts);
      const network = await admin.apiKeys.check(key, opts);
      expect(shape(local), JSON.stringify(opts)).toEqual(shape(network));
    }
    const after = v.stats();
    expect(after.localAnswers - before.localAnswers).toBe(cases.length);
    expect(after.networkAnswers).toBe(before.networkAnswers);
    const info = await v.validate(plain.secret);
    expect(info.hasScope("data:read")).toBe(true);
    expect(info.metadata).toEqual({ plan: "pro" });
  });

  it("rejects with the network validate's error classes", async () => {
    const key = await admin.apiKeys.create({ orgId: "o", name: "k", scopes: ["data:read"] });
    await admin.apiKeys.revoke((await admin.apiKeys.create({ orgId: "o", name: "r" })).id);
    const scope = await rejection(v.validate(key.secret, { requiredScopes: ["data:write"] }));
    expect(scope).toBeInstanceOf(InsufficientScopeError);
    expect((scope as InsufficientScopeError).missingScopes).toEqual(["data:write"]);
    const malformed = await rejection(v.validate("flux_nope"));
    expect(malformed).toBeInstanceOf(InvalidKeyError);
    expect((malformed as InvalidKeyError).outcome).toBe("MALFORMED");
  });

  it("sends unknown secrets and requests the server would refuse to the network, so errors are the server's", async () => {
    const before = v.stats().networkAnswers;
    expect((await v.check(generateSecret(API_KEY_PREFIX))).outcome).toBe("NOT_FOUND");
    const err = await rejection(v.validate("flux_x", { requiredScopes: ["bad scope"] }));
    expect(err).toMatchObject({ code: 3, reason: "INVALID_ARGUMENT" });
    expect(v.stats().networkAnswers - before).toBe(2);
  });

  it("sends keys of an organisation with a shared limit to the network, and takes them back when it is lifted", async () => {
    const org = `shared_${protocol}`;
    const key = await admin.apiKeys.create({ orgId: org, name: "shared" });
    await admin.organizations.updatePolicy(org, { rateLimit: { requests: 1000, windowSeconds: 60 } });
    let before = v.stats();
    expect((await v.validate(key.secret)).id).toBe(key.id);
    expect(v.stats().networkAnswers).toBe(before.networkAnswers + 1);
    await admin.organizations.updatePolicy(org, { rateLimit: null });
    before = v.stats();
    expect((await v.validate(key.secret)).id).toBe(key.id);
    expect(v.stats().localAnswers).toBe(before.localAnswers + 1);
  });

  it("closes once (a final usage report), then answers over the network", async () => {
    const key = await admin.apiKeys.create({ orgId: "o", name: "after close" });
    await v.close();
    await v.close();
    expect(v.state).toBe("closed");
    expect(states.at(-1)).toBe("closed");
    const before = v.stats().networkAnswers;
    expect((await v.validate(key.secret)).id).toBe(key.id);
    expect(v.stats().networkAnswers).toBe(before + 1);
  });
});

describe("starting a local validator", () => {
  let s: SdkServer;
  beforeAll(async () => {
    s = await startSdkServer("local-start");
  });
  afterAll(() => s?.stop());

  it("fails with PermissionDeniedError without the local_validation right, AuthenticationError with a wrong key", async () => {
    const plain = (await s.flux("grpc").raw.adminKeys.createAdminKey({ name: "no right" })).secret;
    expect(await rejection(s.flux("grpc", plain).apiKeys.localValidator())).toBeInstanceOf(PermissionDeniedError);
    expect(await rejection(s.flux("grpc", "fluxadm_wrong").apiKeys.localValidator())).toBeInstanceOf(AuthenticationError);
  });
});

describe("a server with FLUX_KEY_PEPPER", () => {
  it("needs the same pepper: none or another fails with PEPPER_MISMATCH, the right one validates locally", async () => {
    const t = await startTestServer("embedded", "sdk-local-pepper", { config: { FLUX_KEY_PEPPER: "pepper-for-tests-0123456789" } });
    const clients: Flux[] = [];
    const flux = (key: string) => {
      const c = Flux.init(key, { url: urlFor(t, "grpc") });
      clients.push(c);
      return c;
    };
    try {
      const admin = flux(ADMIN_KEY);
      const vk = (await admin.raw.adminKeys.createAdminKey({ name: "v", localValidation: true })).secret;
      const key = await admin.apiKeys.create({ orgId: "o", name: "k" });
      for (const pepper of ["", "another-pepper"]) {
        const err = await rejection(flux(vk).apiKeys.localValidator({ pepper, startTimeoutMs: 5000 }));
        expect(err).toBeInstanceOf(FailedPreconditionError);
        expect((err as FailedPreconditionError).reason).toBe("PEPPER_MISMATCH");
      }
      const v = await flux(vk).apiKeys.localValidator({ pepper: "pepper-for-tests-0123456789" });
      try {
        const before = v.stats().localAnswers;
        expect((await v.validate(key.secret)).id).toBe(key.id);
        expect(v.stats().localAnswers).toBe(before + 1);
      } finally {
        await v.close().catch(() => {});
      }
    } finally {
      for (const c of clients) c.close();
      await t.stop();
    }
  });
});

