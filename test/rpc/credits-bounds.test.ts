// Every credits field's bound from src/domain/limits.ts, at the limit (accepted) and one past it (INVALID_ARGUMENT
// naming the field, nothing written), on both stores and over grpc-js and Connect: balances, refill amounts,
// intervals and days of the month on keys (create and update) and organisation policies, and ValidateApiKey.cost.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { LIMITS } from "../../src/domain/limits.js";
import { type BoundsRequest as Req, type BoundsRow, expectBoundHeld, outcome } from "../support/bounds.js";
import { newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

interface Ctx {
  orgId: string;
  keyId: string;
  /** A key of its own for the cost rows, with the largest balance (the update rows change the other one). */
  secret: string;
}
type Row = BoundsRow<Ctx>;

const MAX = LIMITS.creditsMax;
const every = (s: number) => ({ case: "intervalSeconds", value: s });
const onDay = (d: number) => ({ case: "dayOfMonth", value: d });
const refill = (amount: number, schedule = every(3600)) => ({ remaining: 1n, refill: { amount: BigInt(amount), schedule } });
const create = (c: Ctx, credits: unknown): Req => [ApiKeyService, "createApiKey", { orgId: c.orgId, name: "bounds", credits }];
const update = (c: Ctx, credits: unknown): Req => [ApiKeyService, "updateApiKey", { apiKey: { id: c.keyId, credits }, updateMask: { paths: ["credits"] } }];
const cost = (c: Ctx, n: number): Req => [ApiKeyService, "validateApiKey", { key: c.secret, cost: n }];

export const CREDIT_ROWS: Row[] = [
  { field: "credits.remaining maximum", limit: MAX, at: (c) => create(c, { remaining: BigInt(MAX) }), past: (c) => create(c, { remaining: BigInt(MAX) + 1n }) },
  { field: "credits.refill.amount minimum", limit: 1, at: (c) => create(c, refill(1)), past: (c) => create(c, refill(0)) },
  { field: "credits.refill.amount maximum", limit: MAX, at: (c) => create(c, refill(MAX)), past: (c) => create(c, { remaining: 1n, refill: { amount: BigInt(MAX) + 1n, schedule: every(3600) } }) },
  { field: "credits.refill.interval_seconds minimum", limit: LIMITS.refillIntervalSecondsMin, at: (c) => create(c, refill(5, every(60))), past: (c) => create(c, refill(5, every(59))) },
  { field: "credits.refill.interval_seconds maximum", limit: LIMITS.refillIntervalSecondsMax, at: (c) => create(c, refill(5, every(31_536_000))), past: (c) => create(c, refill(5, every(31_536_001))) },
  { field: "credits.refill.day_of_month minimum", limit: 1, at: (c) => create(c, refill(5, onDay(1))), past: (c) => create(c, refill(5, onDay(0))) },
  { field: "credits.refill.day_of_month maximum", limit: 31, at: (c) => create(c, refill(5, onDay(31))), past: (c) => create(c, refill(5, onDay(32))) },
  { field: "update credits.remaining maximum", limit: MAX, at: (c) => update(c, { remaining: BigInt(MAX) }), past: (c) => update(c, { remaining: BigInt(MAX) + 1n }) },
  { field: "update credits.refill.interval_seconds minimum", limit: 60, at: (c) => update(c, refill(5, every(60))), past: (c) => update(c, refill(5, every(59))) },
  { field: "validate cost", limit: LIMITS.costMax, at: (c) => cost(c, LIMITS.costMax), past: (c) => cost(c, LIMITS.costMax + 1) },
];

it("a refill with no schedule is refused", async () => {
  const t = await startTestServer("embedded", "credits-bounds-schedule");
  try {
    const r = await outcome(t.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "x", credits: { remaining: 1n, refill: { amount: 5n } } }, ADMIN_KEY));
    expect(r.code).toBe(Code.InvalidArgument);
    expect(r.err?.metadata.field).toBe("credits.refill");
  } finally {
    await t.stop();
  }
});

describe.each(STORE_KINDS)("on the %s store", (kind) => {
  let t: TestServer;
  const ctx = {} as Ctx;
  beforeAll(async () => {
    t = await startTestServer(kind, "credits-bounds");
    ctx.orgId = newOrg();
    const res = await t.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: ctx.orgId, name: "bounds", credits: { remaining: BigInt(MAX) } }, ADMIN_KEY);
    const spender = await t.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: ctx.orgId, name: "spender", credits: { remaining: BigInt(MAX) } }, ADMIN_KEY);
    Object.assign(ctx, { keyId: res.apiKey!.id, secret: spender.secret });
  });
  afterAll(() => t?.stop());

  it.each(CREDIT_ROWS)("$field: accepted at $limit, INVALID_ARGUMENT one past it with nothing written", (row) =>
    expectBoundHeld(t, row, ctx, {
      at: (at, method, via) => {
        if (method === "validateApiKey") expect(at.res?.outcome, via).toBe(Outcome.VALID);
      },
      // The refusal names the field: the row's name without its "update"/"validate" and "minimum"/"maximum".
      past: (past, via) => expect(past.err?.metadata.field, via).toBe(row.field.replace(/^(update|validate) /, "").replace(/ (minimum|maximum)$/, "")),
    }),
  );
});
