// `flux.apiKeys.localValidator()`: validate in this process from a table the server keeps exact (local-session.ts),
// with leased limits (local-leases.ts) and usage reported every second (local-usage.ts). Anything it cannot decide
// from fresh state goes to ValidateApiKey over the network, with the same answer and errors.
import type { Client } from "@connectrpc/connect";
import type { ApiKeys } from "./api-keys.js";
import { UnavailableError } from "./errors.js";
import { toFluxError } from "./error-mapping.js";
import type { LocalValidationService } from "./gen/flux/apikeys/v1/local_validation_pb.js";
import { isPlainRequest, isWellFormedKey, KEY_LENGTH_MAX } from "./local-checks.js";
import { decideKey, MALFORMED, meter, type NeedLease, validResult } from "./local-decision.js";
import { creditChunk, type KeyLeases, LeaseBook, rateChunk } from "./local-leases.js";
import { KeySubscription } from "./local-session.js";
import type { LocalEntry } from "./local-table.js";
import { UsageCounter } from "./local-usage.js";
import type { ValidateOptions } from "./requests.js";
import { KeyInfo, type ValidationResult } from "./types.js";
import type { LocalValidatorOptions, LocalValidatorState, LocalValidatorStats } from "./local-api-keys.js";
import { acceptedKey, refusalError } from "./validation.js";

const EMPTY: ValidateOptions = Object.freeze({});
const isNeed = (r: KeyInfo | ValidationResult | NeedLease): r is NeedLease => (r as NeedLease).need === "lease";
/** A local answer (a metered VALID is its key info alone), a promise of one, or undefined: ask the network. */
type Local = KeyInfo | ValidationResult | Promise<ValidationResult> | undefined;

export class LocalValidator {
  readonly #sub: KeySubscription;
  readonly #book = new LeaseBook();
  readonly #usage = new UsageCounter();
  #local = 0;
  #network = 0;
  #state: LocalValidatorState = "stale";
  #closing: Promise<void> | undefined;
  #reportTimer: ReturnType<typeof setInterval> | undefined;

  /** Use `flux.apiKeys.localValidator()`. */
  constructor(
    private readonly api: ApiKeys,
    private readonly client: Client<typeof LocalValidationService>,
    private readonly options: LocalValidatorOptions = {},
  ) {
    this.#sub = new KeySubscription(
      client,
      {
        session: (id) => this.#usage.newSession(id),
        keyChanged: (id, before, after) => {
          // Points leased from the key's window stay good while its limit is the same; credits are dropped on any
          // change (a balance set anew must not be topped up by credits leased from the old one).
          const sameWindow = before?.rateLimit && after?.rateLimit && before.rateLimit.requests === after.rateLimit.requests && before.rateLimit.windowSeconds === after.rateLimit.windowSeconds;
          if (sameWindow) this.#book.dropCredits(id);
          else this.#book.drop(id);
        },
        orgChanged: (orgId) => {
          for (const id of this.#book.keyIds()) if (this.#sub.table?.byId(id)?.orgId === orgId) this.#book.drop(id);
        },
        reset: () => this.#book.dropAll(),
        poke: () => {
          this.#usage.coarseNowMs = Date.now();
          this.#updateState();
        },
      },
      { name: options.name ?? "", pepper: options.pepper ?? process.env.FLUX_KEY_PEPPER ?? undefined },
    );
  }

  /** Subscribes and resolves once the first snapshot is applied and acknowledged. */
  async start(): Promise<this> {
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#onFresh = resolve;
        timer = setTimeout(() => {
          const why = this.#sub.lastError ? `: ${this.#sub.lastError.message}` : "";
          reject(new UnavailableError(`the local validator was not fresh within ${timeoutMs} ms${why}`, { code: 14, reason: "UNAVAILABLE", cause: this.#sub.lastError }));
        }, timeoutMs);
        this.#sub.run(reject);
      });
    } catch (err) {
      await this.close().catch(() => {});
      throw err;
    } finally {
      clearTimeout(timer);
      this.#onFresh = undefined;
    }
    this.#reportTimer = setInterval(() => void this.#report(false), this.options.reportIntervalMs ?? 1000);
    this.#reportTimer.unref?.();
    return this;
  }

  #onFresh: (() => void) | undefined;

  /** "fresh": answering locally; "stale": over the network until resynced; "closed". */
  get state(): LocalValidatorState {
    return this.#state;
  }

  stats(): LocalValidatorStats {
    return { localAnswers: this.#local, networkAnswers: this.#network, resyncs: this.#sub.resyncs, keys: this.#sub.table?.size ?? 0, state: this.#state };
  }

  /** Exactly `flux.apiKeys.validate`: resolves to the key's info, rejects with InvalidKeyError and its subclasses. */
  validate(rawKey: string, options: ValidateOptions = EMPTY): Promise<KeyInfo> {
    const r = this.#decide(rawKey, options);
    if (r === undefined) {
      this.#network++;
      return this.api.validate(rawKey, options);
    }
    if (r instanceof KeyInfo) return Promise.resolve(r);
    if (r instanceof Promise) return r.then(acceptedKey);
    return r.valid ? Promise.resolve(r.key!) : Promise.reject(refusalError(r));
  }

  /** Exactly `flux.apiKeys.check`: the whole answer, refusals included, without rejecting. */
  check(rawKey: string, options: ValidateOptions = EMPTY): Promise<ValidationResult> {
    const r = this.#decide(rawKey, options);
    if (r === undefined) {
      this.#network++;
      return this.api.check(rawKey, options);
    }
    if (r instanceof KeyInfo) return Promise.resolve(validResult(r));
    return r instanceof Promise ? r : Promise.resolve(r);
  }

  /** A local answer, a promise of one (a lease first), or undefined: ask the network. */
  #decide(rawKey: string, o: ValidateOptions): Local {
    const nowMono = performance.now();
    if (!this.#sub.isFresh(nowMono) || this.#closing || typeof rawKey !== "string") return undefined;
    if (o !== EMPTY && !isPlainRequest(o)) return undefined;
    // The server checks the shape before the lookup; a secret whose digest is in the table is a key's own secret,
    // and every issued secret is well formed, so the shape is checked only for digests the table lacks.
    const e = rawKey.length > KEY_LENGTH_MAX ? undefined : this.#sub.table!.byDigest(this.#sub.digest(rawKey));
    if (!e) {
      if (rawKey.length <= KEY_LENGTH_MAX && isWellFormedKey(rawKey)) return undefined; // unknown here: the network
      this.#local++;
      this.#usage.malformed();
      return MALFORMED;
    }
    if (this.#sub.table!.isRemoteOrg(e.orgId)) return undefined;
    // The wall clock only where an answer depends on it (expiry); usage's last-used time takes a coarse one.
    const nowMs = e.expiresAtMs !== undefined ? Date.now() : 0;
    const checked = decideKey(e, nowMs, o.clientIp, o.requiredScopes);
    if (checked) return this.#counted(e, checked, o, nowMs);
    const l = this.#book.get(e.id);
    const r = meter(e, this.#book, l, o.cost ?? 1, nowMono);
    if (isNeed(r)) return this.#leaseThenDecide(e, o, r, rawKey, 0);
    if (!(r instanceof KeyInfo)) return this.#counted(e, r, o, nowMs);
    if (e.rateLimit) this.#leaseAhead(e, l);
    this.#local++;
    this.#usage.count(e.id, "VALID", nowMs, o.requiredScopes);
    return r;
  }

  /** Half a chunk left: lease the next one in the background, so the hot path rarely waits for LeaseLimits. */
  #leaseAhead(e: LocalEntry, l: KeyLeases): void {
    const r = l.rate;
    if (!r || l.pending || r.spent || r.left * 2 > r.chunk) return;
    l.pending = this.#lease(e, { need: "lease", points: 1, credits: 0 }, 1)
      .catch(() => {}) // the next call that finds no points asks (or answers over the network)
      .finally(() => (l.pending = undefined));
  }

  #counted(e: LocalEntry, r: ValidationResult, o: ValidateOptions, nowMs: number): ValidationResult {
    this.#local++;
    this.#usage.count(e.id, r.outcome, nowMs, r.outcome === "VALID" ? o.requiredScopes : undefined);
    return r;
  }

  /** Leases (one LeaseLimits call per key at a time), then decides again; the network answers if that fails. */
  async #leaseThenDecide(e: LocalEntry, o: ValidateOptions, need: NeedLease, rawKey: string, attempt: number): Promise<ValidationResult> {
    const l = this.#book.get(e.id);
    try {
      if (l.pending) await l.pending;
      else await (l.pending = this.#lease(e, need, o.cost ?? 1).finally(() => (l.pending = undefined)));
    } catch {
      this.#network++;
      return this.api.check(rawKey, o);
    }
    const nowMono = performance.now();
    const current = this.#sub.isFresh(nowMono) ? this.#sub.table!.byId(e.id) : undefined;
    if (current !== e || attempt >= 3) {
      // The key changed (or the state went stale) while leasing: decide from scratch.
      const again = attempt >= 3 ? undefined : this.#decide(rawKey, o);
      if (again === undefined) {
        this.#network++;
        return this.api.check(rawKey, o);
      }
      return again instanceof KeyInfo ? validResult(again) : again;
    }
    const r = meter(e, this.#book, this.#book.get(e.id), o.cost ?? 1, nowMono);
    if (isNeed(r)) return this.#leaseThenDecide(e, o, r, rawKey, attempt + 1);
    return this.#counted(e, r instanceof KeyInfo ? validResult(r) : r, o, 0);
  }

  async #lease(e: LocalEntry, need: NeedLease, cost: number): Promise<void> {
    const l = this.#book.get(e.id);
    const generation = l.generation;
    const sessionId = this.#sub.sessionId;
    const points = need.points > 0 && e.rateLimit ? rateChunk(e.rateLimit.requests) : 0;
    const credits = need.credits > 0 ? creditChunk(cost, l.credits?.unleased) : 0;
    // What this validator gave back for the key must reach the server before it asks again, or the grant would
    // come up short by its own returns.
    if (this.#book.returned.has(e.id)) await this.#report(false).catch(() => {});
    const startMono = performance.now();
    let res;
    try {
      res = await this.client.leaseLimits({ sessionId, keyId: e.id, rateLimitPoints: points, credits: BigInt(credits) });
    } catch (err) {
      if (toFluxError(err).reason === "VALIDATOR_SESSION_ENDED") this.#sub.resync();
      throw err;
    }
    if (this.#book.peek(e.id) === l && l.generation === generation && this.#sub.sessionId === sessionId) {
      this.#book.grant(e.id, l, res, startMono, credits);
    } else {
      // The key's leases were dropped meanwhile: what was just granted goes straight back.
      this.#book.giveBack(e.id, res.rateLimit?.granted ?? 0, Number(res.credits?.granted ?? 0n));
    }
  }

  /** Sends what was counted (and given back), one report at a time; `closing` ends the session. */
  #report(closing: boolean): Promise<void> {
    const next = this.#reports.then(() => this.#sendReport(closing));
    this.#reports = next.catch(() => {});
    return next;
  }

  #reports: Promise<void> = Promise.resolve();
  #closingCounted = false;

  async #sendReport(closing: boolean): Promise<void> {
    const sessionId = this.#sub.sessionId;
    if (sessionId === "" || this.#closingCounted || (!this.#usage.pending(this.#book.returned) && !closing)) return;
    const back = this.#book.takeReturned();
    const req = this.#usage.next(sessionId, back, closing);
    for (const [id, r] of back) this.#book.giveBack(id, r.points, r.credits);
    try {
      await this.client.reportLocalUsage(req);
      this.#usage.acknowledged(req);
      if (req.closing) this.#closingCounted = true; // the session has ended: nothing more can be reported
    } catch (err) {
      if (toFluxError(err).reason === "VALIDATOR_SESSION_ENDED" && !closing) this.#sub.resync();
      if (closing) throw err;
    }
  }

  /**
   * Reports the last usage with closing = true (returning unused leases) and ends the session. Idempotent; answers
   * over the network afterwards. Rejects (UnavailableError or the report's error) when the last usage could not be
   * reported, e.g. while the server is unreachable; the validator is closed all the same.
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    clearInterval(this.#reportTimer);
    // No resubscribing from here on, but the stream stays open until the closing report is counted: a stream that
    // goes away ends its session, and the report would find it ended.
    this.#sub.quiesce();
    this.#updateState();
    // A lease still in flight (e.g. one asked ahead) must land before the last report, which returns it too.
    await Promise.allSettled(this.#book.pendingLeases());
    this.#book.dropAll();
    let error: unknown;
    for (let i = 0; i < 3 && this.#sub.sessionId !== "" && !this.#closingCounted; i++) {
      try {
        await this.#report(true);
        error = undefined;
      } catch (err) {
        error = err;
      }
    }
    if (!error && !this.#closingCounted && this.#usage.pending(this.#book.returned)) {
      // Stale with no session (e.g. the server is down): what was counted since the last report cannot be sent.
      error = new UnavailableError("the local validator closed without a session: its last usage could not be reported", { code: 14, reason: "UNAVAILABLE" });
    }
    this.#sub.close();
    this.#updateState();
    if (error) throw toFluxError(error);
  }

  #updateState(): void {
    const previous = this.#state;
    const next: LocalValidatorState = this.#closing ? "closed" : this.#sub.isFresh(performance.now()) ? "fresh" : "stale";
    if (next === previous) return;
    this.#state = next;
    if (next === "fresh") this.#onFresh?.();
    try {
      this.options.onStateChange?.(next, previous);
    } catch {
      // A callback's failure must not stop the validator.
    }
  }
}
