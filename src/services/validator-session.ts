// One local validator's session in this process: the ordered messages of its stream (seq 1, 2, 3, …), what it has
// acknowledged, the changes waiting for its acknowledgement, and how it ends. Transport-free: the stream handler
// drains `messages()`; the hub (validator-hub.ts) pushes and judges.
import { FluxError } from "../domain/errors.js";
import type { ApiKeyRecord } from "../domain/types.js";

/** What a validator learns about an organisation: whether its keys must be validated over the network. */
export interface LocalOrg {
  orgId: string;
  validateRemotely: boolean;
}

export type ValidatorEvent =
  | { kind: "session" }
  | { kind: "snapshot"; keys: ApiKeyRecord[]; orgs: LocalOrg[]; complete: boolean }
  | { kind: "key"; key: ApiKeyRecord }
  | { kind: "org"; org: LocalOrg }
  | { kind: "heartbeat" };

export interface ValidatorMessage {
  seq: number;
  event: ValidatorEvent;
}

/** A change pushed to this session, waiting for its acknowledgement. */
interface Need {
  seq: number;
  /** The acknowledgement deadline runs from here: a stream that stopped taking messages is cut off like a mute one
   * (only small messages can be ahead of a change: the snapshot's chunks are never waited for). */
  pushedAt: number;
  done: () => void;
}

export const sessionEnded = (why: string) => new FluxError("VALIDATOR_SESSION_ENDED", `the validator session ended: ${why}; subscribe again`);

export class ValidatorSession {
  private nextSeq = 1;
  private readonly queue: ValidatorMessage[] = [];
  private wake?: () => void;
  private taken?: () => void;
  private readonly needs: Need[] = [];
  /** Changes that arrived while the snapshot was being read: sent right after it, in arrival order. */
  private deferred?: ValidatorEvent[] = [];
  /** Highest seq the validator acknowledged. */
  ackedSeq = 0;
  /** Highest seq sent that changed keys or organisations (the snapshot's last chunk included). */
  requiredSeq = 0;
  /** On the server's monotonic clock: when it last answered AcknowledgeKeyChanges for this session (-∞: never). */
  lastAckAnswerAt = -Infinity;
  /** When the last message was handed to the stream (heartbeats fill silences longer than the interval). */
  lastTakenAt: number;
  /** When the stream took the snapshot's last chunk: from then on the validator acknowledges at least every interval. */
  snapshotTakenAt?: number;
  ended?: FluxError;
  /** Resolves once ended and stale: staleAfterMs after the last acknowledgement answer. */
  stale?: Promise<void>;

  constructor(
    readonly id: string,
    readonly adminKeyId: string,
    /** Undefined: every organisation. */
    readonly orgId: string | undefined,
    readonly name: string,
    readonly startedAt: number,
  ) {
    this.lastTakenAt = startedAt;
  }

  get snapshotting(): boolean {
    return this.deferred !== undefined;
  }

  canSee(orgId: string): boolean {
    return this.orgId === undefined || this.orgId === orgId;
  }

  /** Queues a message; returns its seq. Changes (`required`) are what acknowledgements must reach. */
  push(event: ValidatorEvent, required: boolean): number {
    const seq = this.nextSeq++;
    this.queue.push({ seq, event });
    if (required) this.requiredSeq = seq;
    this.wake?.();
    return seq;
  }

  /**
   * A change for this session: resolves once acknowledged, or once the session ended and is stale. Undefined when
   * nothing needs waiting for: a session never answered an acknowledgement cannot be fresh, and every answer it gets
   * from now on requires this change (its seq is pushed before, or with the snapshot's end before, any such answer).
   */
  change(event: ValidatorEvent, now: number): Promise<void> | undefined {
    if (this.ended) return this.stale!;
    if (this.deferred) return void this.deferred.push(event);
    const seq = this.push(event, true);
    if (this.lastAckAnswerAt === -Infinity) return undefined;
    return new Promise((done) => this.needs.push({ seq, pushedAt: now, done }));
  }

  /** The snapshot's last chunk is queued: the changes that arrived meanwhile follow it at once (same tick). */
  snapshotDone(): void {
    const deferred = this.deferred ?? [];
    this.deferred = undefined;
    for (const e of deferred) this.push(e, true);
  }

  /** Messages queued and not yet taken by the stream. */
  get queued(): number {
    return this.queue.length;
  }

  /** Resolves once at most `n` messages wait (or the session ended): the snapshot reader's backpressure. */
  async drained(n: number): Promise<void> {
    while (this.queue.length > n && !this.ended) await new Promise<void>((r) => (this.taken = r));
  }

  acknowledge(appliedSeq: number, now: number): number {
    if (this.ended) throw this.ended;
    if (appliedSeq > this.ackedSeq) this.ackedSeq = Math.min(appliedSeq, this.nextSeq - 1);
    while (this.needs.length && this.needs[0]!.seq <= this.ackedSeq) this.needs.shift()!.done();
    this.lastAckAnswerAt = now;
    return this.requiredSeq;
  }

  /** When the oldest change not acknowledged yet was pushed. */
  oldestUnacknowledgedAt(): number | undefined {
    return this.needs[0]?.pushedAt;
  }

  /** Ends the session; waiters resolve once the validator is certainly stale (staleAfterMs after the last answer). */
  end(err: FluxError, now: number, staleAfterMs: number, sleep: (ms: number) => Promise<void>): void {
    if (this.ended) return;
    this.ended = err;
    const waitMs = Math.max(0, this.lastAckAnswerAt + staleAfterMs - now);
    this.stale = waitMs === 0 ? Promise.resolve() : sleep(Math.ceil(waitMs));
    const waiting = this.needs.map((n) => n.done);
    this.needs.length = 0;
    this.deferred = undefined;
    void this.stale.then(() => waiting.forEach((done) => done()));
    this.wake?.();
    this.taken?.();
  }

  /** The stream's messages in order; ends by throwing the session's end (or returning when `signal` aborts). */
  async *messages(now: () => number, signal?: AbortSignal): AsyncGenerator<ValidatorMessage> {
    const onAbort = () => this.wake?.();
    signal?.addEventListener("abort", onAbort);
    try {
      for (;;) {
        if (this.ended) throw this.ended;
        if (signal?.aborted) return;
        const m = this.queue.shift();
        if (!m) {
          await new Promise<void>((r) => (this.wake = r));
          this.wake = undefined;
          continue;
        }
        this.lastTakenAt = now();
        if (m.event.kind === "snapshot" && m.event.complete) this.snapshotTakenAt = this.lastTakenAt;
        this.taken?.();
        yield m;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
}
