// A raw local validator for the limits suites: a SubscribeKeys session (RawValidator, acknowledging at once) plus
// LeaseLimits / ReportLocalUsage through a real caller, and a "validator" that admits only from what it leased.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { LocalValidationService } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import type { Caller } from "./callers.js";
import { RawValidator } from "./raw-validators.js";
import { ADMIN_KEY } from "./server.js";

export interface KeyReport {
  keyId: string;
  outcomes?: [Outcome, number][];
  scopeUses?: [string, number][];
  lastUsedAtMs?: number;
  points?: number;
  credits?: number;
}

/** An admin key with the local_validation right (optionally limited to one organisation). */
export async function validatorAdminKey(c: Caller, orgId?: string): Promise<string> {
  return (await c.call(AdminKeyService, "createAdminKey", { name: "validators", localValidation: true, orgId }, ADMIN_KEY)).secret;
}

export class LimitsClient {
  readonly stream: RawValidator;
  private seq = 0;
  /** What a validator would hold: admitted locally, and leased but unused. */
  admitted = 0;
  unusedPoints = 0;
  unusedCredits = 0;

  constructor(readonly caller: Caller, readonly adminKey: string, port: { grpc: number; http: number }) {
    this.stream = new RawValidator({ transport: caller.name, port: caller.name === "grpc" ? port.grpc : port.http, adminKey, caller, autoAckDelayMs: 0 }).start();
  }

  async ready(): Promise<this> {
    await this.stream.snapshotComplete();
    return this;
  }

  get sessionId(): string {
    return this.stream.sessionId;
  }

  lease(keyId: string, rateLimitPoints = 0, credits = 0n) {
    return this.caller.call(LocalValidationService, "leaseLimits", { sessionId: this.sessionId, keyId, rateLimitPoints, credits }, this.adminKey);
  }

  /** ReportLocalUsage with the next report_seq (or `seq`); returns the seq sent. */
  async report(keys: KeyReport[], opts: { seq?: number; malformed?: number; closing?: boolean } = {}): Promise<number> {
    const seq = opts.seq ?? ++this.seq;
    await this.caller.call(
      LocalValidationService,
      "reportLocalUsage",
      {
        sessionId: this.sessionId,
        reportSeq: BigInt(seq),
        malformed: BigInt(opts.malformed ?? 0),
        closing: opts.closing ?? false,
        keys: keys.map((k) => ({
          keyId: k.keyId,
          outcomes: (k.outcomes ?? []).map(([outcome, count]) => ({ outcome, count: BigInt(count) })),
          scopeUses: (k.scopeUses ?? []).map(([scope, count]) => ({ scope, count: BigInt(count) })),
          lastUsedAt: k.lastUsedAtMs === undefined ? undefined : timestampFromMs(k.lastUsedAtMs),
          returnedRateLimitPoints: k.points ?? 0,
          returnedCredits: BigInt(k.credits ?? 0),
        })),
      },
      this.adminKey,
    );
    return seq;
  }

  /** Leases until the server grants nothing; admits `use(granted)` of each grant and keeps the rest unused. */
  async leaseAll(keyId: string, ask: { points?: number; credits?: number }, use: (granted: number) => number): Promise<void> {
    for (;;) {
      const a = await this.lease(keyId, ask.points ?? 0, BigInt(ask.credits ?? 0));
      const granted = Number(a.rateLimit?.granted ?? a.credits?.granted ?? 0);
      if (granted === 0) return;
      const used = use(granted);
      this.admitted += used;
      if (a.rateLimit) this.unusedPoints += granted - used;
      else this.unusedCredits += granted - used;
    }
  }

  /** Reports the local admissions and returns everything unused, as a validator does. */
  async returnAll(keyId: string, opts: { closing?: boolean } = {}): Promise<void> {
    await this.report([{ keyId, outcomes: this.admitted ? [[Outcome.VALID, this.admitted]] : [], points: this.unusedPoints, credits: this.unusedCredits }], opts);
    this.unusedPoints = this.unusedCredits = 0;
  }

  close(): void {
    this.stream.close();
  }
}
