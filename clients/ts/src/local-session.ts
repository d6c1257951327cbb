// The validator's half of the subscription protocol (local_validation.proto's header): one SubscribeKeys stream at a
// time, applied in seq order into a KeyTable, acknowledged at once and every heartbeat, and the freshness rule.
// Any error, gap, end of stream or silence drops everything and subscribes again with backoff.
import type { Client } from "@connectrpc/connect";
import { FailedPreconditionError, FluxError, UnavailableError } from "./errors.js";
import { toFluxError } from "./error-mapping.js";
import { DigestAlgorithm, type LocalValidationService, type SubscribeKeysResponse } from "./gen/flux/apikeys/v1/local_validation_pb.js";
import { createDigester, type Digester, pepperId } from "./local-checks.js";
import { KeyTable, type LocalEntry } from "./local-table.js";

export interface SessionEvents {
  /** A new session started (its id), before its snapshot. */
  session(sessionId: string): void;
  /** The key with this id changed (`before` → `after`, undefined when absent): its leases may have to go. */
  keyChanged(keyId: string, before: LocalEntry | undefined, after: LocalEntry | undefined): void;
  /** An organisation's validate_remotely changed. */
  orgChanged(orgId: string): void;
  /** Every local state is gone (stale): drop every lease. */
  reset(): void;
  /** Something that may change `fresh` happened. */
  poke(): void;
}

/** A failure that retrying cannot mend (wrong admin key or right, pepper mismatch): the validator does not start. */
const isFatal = (e: FluxError) => e.code === 16 /* UNAUTHENTICATED */ || e.code === 7 /* PERMISSION_DENIED */ || e.reason === "PEPPER_MISMATCH";

export class KeySubscription {
  /** The table while the snapshot is complete; undefined otherwise. */
  table: KeyTable | undefined;
  digest: Digester = createDigester(undefined);
  sessionId = "";
  resyncs = 0;
  lastError: FluxError | undefined;
  #applied = 0n;
  #required = 0n;
  #staleAfterMs = 1500;
  #heartbeatMs = 250;
  #lastAckStartMono = -Infinity;
  #lastMessageMono = 0;
  #acking = false;
  #ackAgain = false;
  #abort: AbortController | undefined;
  #closed = false;
  #generation = 0;
  readonly #timers: ReturnType<typeof setInterval>[] = [];

  constructor(
    private readonly client: Client<typeof LocalValidationService>,
    private readonly events: SessionEvents,
    private readonly options: { name: string; pepper: string | undefined },
  ) {}

  /** Rule 2: snapshot complete, last acknowledgement started under stale_after_ms ago, applied ≥ required. */
  isFresh(nowMono: number): boolean {
    return this.table !== undefined && nowMono - this.#lastAckStartMono < this.#staleAfterMs && this.#applied >= this.#required;
  }

  /** Subscribes until closed; `fatal` is called once with an error that retrying cannot mend. */
  run(fatal: (e: FluxError) => void): void {
    this.#timers.push(setInterval(() => this.#tick(), 50));
    for (const t of this.#timers) t.unref?.();
    void this.#loop(fatal);
  }

  async #loop(fatal: (e: FluxError) => void): Promise<void> {
    let backoffMs = 100;
    while (!this.#closed) {
      const started = performance.now();
      try {
        await this.#stream();
        throw new UnavailableError("the key stream ended", { code: 14, reason: "UNAVAILABLE" });
      } catch (err) {
        if (this.#closed) return;
        const e = toFluxError(err);
        this.lastError = e;
        if (isFatal(e)) return fatal(e);
      }
      this.#reset();
      this.resyncs++;
      // A stream that stayed up a while starts the backoff over.
      if (performance.now() - started > 5000) backoffMs = 100;
      await sleep(backoffMs * (0.5 + Math.random() / 2));
      backoffMs = Math.min(backoffMs * 2, 5000);
    }
  }

  async #stream(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    const gen = ++this.#generation;
    let building: KeyTable | undefined = new KeyTable();
    let expected = 1n;
    this.#lastMessageMono = performance.now();
    for await (const m of this.client.subscribeKeys({ validatorName: this.options.name }, { signal: abort.signal })) {
      if (m.seq !== expected) throw new UnavailableError(`key stream gap: seq ${m.seq} after ${expected - 1n}`, { code: 14, reason: "UNAVAILABLE" });
      expected++;
      this.#lastMessageMono = performance.now();
      this.#apply(m, building);
      if (m.event.case === "snapshot" && m.event.value.complete) {
        this.table = building;
        building = undefined;
      }
      this.#applied = m.seq;
      if (gen === this.#generation) void this.#ack(gen);
    }
  }

  #apply(m: SubscribeKeysResponse, building: KeyTable | undefined): void {
    const ev = m.event;
    if (m.seq === 1n) {
      if (ev.case !== "session") throw protocolError("the key stream did not start with a session");
      const s = ev.value;
      this.#staleAfterMs = s.staleAfterMs || 1500;
      this.#heartbeatMs = s.heartbeatIntervalMs || 250;
      if (s.digestAlgorithm === DigestAlgorithm.HMAC_SHA256_PEPPER) {
        const pepper = this.options.pepper;
        if (!pepper || pepperId(pepper) !== s.pepperId) {
          throw new FailedPreconditionError(
            pepper ? "the validator's pepper is not the server's (FLUX_KEY_PEPPER)" : "the server digests keys with a pepper: pass `pepper` or set FLUX_KEY_PEPPER",
            { code: 9, reason: "PEPPER_MISMATCH" },
          );
        }
        this.digest = createDigester(pepper);
      } else if (s.digestAlgorithm === DigestAlgorithm.SHA256) {
        this.digest = createDigester(undefined);
      } else {
        throw protocolError("the server named a digest algorithm this SDK does not know");
      }
      this.sessionId = s.sessionId;
      this.events.session(s.sessionId);
      return;
    }
    switch (ev.case) {
      case "snapshot":
        if (!building) throw protocolError("a snapshot chunk after the snapshot was complete");
        for (const k of ev.value.keys) building.put(k);
        for (const o of ev.value.organizations) building.organization(o);
        return;
      case "change": {
        if (!this.table) throw protocolError("a change before the snapshot was complete");
        const c = ev.value.change;
        if (c.case === undefined) throw protocolError("a change this SDK does not understand");
        const touched = c.case === "key" ? c.value.info?.id : c.case === "removedKeyId" ? c.value : undefined;
        const before = touched === undefined ? undefined : this.table.byId(touched);
        const id = this.table.apply(ev.value);
        if (c.case === "organization") this.events.orgChanged(c.value.orgId);
        else if (id !== undefined) this.events.keyChanged(id, before, this.table.byId(id));
        return;
      }
      case "heartbeat":
        return;
      default:
        throw protocolError("an unexpected message on the key stream");
    }
  }

  /** Acknowledges the applied seq; calls made while one is in flight are coalesced into one more. */
  async #ack(gen: number): Promise<void> {
    if (this.#acking) {
      this.#ackAgain = true;
      return;
    }
    this.#acking = true;
    try {
      do {
        this.#ackAgain = false;
        const startMono = performance.now();
        const sessionId = this.sessionId;
        try {
          const res = await this.client.acknowledgeKeyChanges({ sessionId, appliedSeq: this.#applied });
          if (gen !== this.#generation) return;
          if (startMono > this.#lastAckStartMono) this.#lastAckStartMono = startMono;
          if (res.requiredSeq > this.#required) this.#required = res.requiredSeq;
          this.events.poke();
        } catch (err) {
          // A session the server ended cannot come back: subscribe again. Other failures: freshness lapses by itself.
          if (gen === this.#generation && toFluxError(err).reason === "VALIDATOR_SESSION_ENDED") this.#abort?.abort();
          return;
        }
      } while (this.#ackAgain && gen === this.#generation);
    } finally {
      this.#acking = false;
    }
  }

  #tick(): void {
    const now = performance.now();
    if (this.#abort && !this.#abort.signal.aborted && now - this.#lastMessageMono > this.#staleAfterMs) this.#abort.abort(); // silence
    else if (this.table && now - this.#lastAckStartMono >= this.#heartbeatMs && !this.#acking) void this.#ack(this.#generation);
    this.events.poke();
  }

  #reset(): void {
    this.#generation++;
    this.table = undefined;
    this.#applied = 0n;
    this.#required = 0n;
    this.#lastAckStartMono = -Infinity;
    this.sessionId = "";
    this.events.reset();
    this.events.poke();
  }

  /** Stops subscribing again and cutting silent streams, keeping the current session for the closing report. */
  quiesce(): void {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
  }

  /** Ends the stream for good (the caller sends the closing report first). */
  close(): void {
    if (this.#abort === undefined && this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#abort?.abort();
    this.#abort = undefined;
    this.#reset();
  }

  /** Ends the current stream and subscribes again (a lease or report call learned the session ended). */
  resync(): void {
    this.#abort?.abort();
  }
}

const protocolError = (msg: string) => new UnavailableError(msg, { code: 14, reason: "UNAVAILABLE" });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());
