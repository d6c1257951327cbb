// A bare local validator for the server's tests: SubscribeKeys over grpc-js or connect-node (Connect protocol),
// every message kept with its raw bytes, acknowledgements sent when and how a test says (at once, late, never).
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/ts/google/rpc/status_pb.js";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import {
  LocalValidationService,
  type SubscribeKeysResponse,
  SubscribeKeysResponseSchema,
  SubscribeKeysRequestSchema,
} from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { type Caller, RpcFailure } from "./callers.js";

export type Transport = "grpc" | "connect";

export interface RawValidatorOptions {
  transport: Transport;
  /** The gRPC port (grpc) or the HTTP port (connect). */
  port: number;
  /** Undefined: no authorization header. */
  adminKey: string | undefined;
  name?: string;
  /** Acknowledges every message this long after it arrived (undefined: only when the test calls ack()). */
  autoAckDelayMs?: number;
  /** Where AcknowledgeKeyChanges goes (a caller on the same server). */
  caller: Caller;
}

export class RawValidator {
  readonly messages: SubscribeKeysResponse[] = [];
  /** Every message's bytes as received on the wire (for scans: no secret may appear). */
  readonly raw: Buffer[] = [];
  /** How the stream ended: undefined while open. */
  endedWith?: RpcFailure | "ok";
  private waiters: (() => void)[] = [];
  private cancel: () => void = () => {};
  /** Acknowledgement calls answered OK / refused; the highest seq sent in one, and when it was sent (Date.now()). */
  acks = 0;
  maxAckSent = 0;
  /** When the last acknowledgement that was answered OK was sent: the server answered it later than that. */
  lastOkAckSentAtMs = 0;
  ackFailures: RpcFailure[] = [];
  autoAckDelayMs?: number;

  constructor(private readonly o: RawValidatorOptions) {
    this.autoAckDelayMs = o.autoAckDelayMs;
  }

  get sessionId(): string {
    const first = this.messages[0];
    return first?.event.case === "session" ? first.event.value.sessionId : "";
  }

  get lastSeq(): number {
    return Number(this.messages[this.messages.length - 1]?.seq ?? 0n);
  }

  start(): this {
    if (this.o.transport === "grpc") this.startGrpc();
    else void this.startConnect();
    return this;
  }

  /** Closes the stream from the client's side (the client went away). */
  close(): void {
    this.cancel();
  }

  /** Waits until a message satisfies `pred` (or the stream ends: then throws). */
  async until(pred: (m: SubscribeKeysResponse, all: SubscribeKeysResponse[]) => boolean, what = "a message", timeoutMs = 15_000): Promise<SubscribeKeysResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find((m) => pred(m, this.messages));
      if (found) return found;
      if (this.endedWith) throw new Error(`stream ended (${this.endedWith === "ok" ? "OK" : this.endedWith.message}) before ${what}`);
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Waits for the snapshot's last chunk. */
  snapshotComplete() {
    return this.until((m) => m.event.case === "snapshot" && m.event.value.complete, "a complete snapshot");
  }

  /** Waits until the stream ends; returns how. */
  async ended(timeoutMs = 15_000): Promise<RpcFailure | "ok"> {
    const deadline = Date.now() + timeoutMs;
    while (!this.endedWith) {
      if (Date.now() > deadline) throw new Error(`stream still open after ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.endedWith;
  }

  /** AcknowledgeKeyChanges with `seq` (default: the last received); returns required_seq. */
  async ack(seq = this.lastSeq): Promise<number> {
    this.maxAckSent = Math.max(this.maxAckSent, seq);
    const sentAt = Date.now();
    try {
      const res = await this.o.caller.call(LocalValidationService, "acknowledgeKeyChanges", { sessionId: this.sessionId, appliedSeq: BigInt(seq) }, this.o.adminKey);
      this.acks++;
      this.lastOkAckSentAtMs = Math.max(this.lastOkAckSentAtMs, sentAt);
      return Number(res.requiredSeq);
    } catch (err) {
      if (err instanceof RpcFailure) this.ackFailures.push(err);
      throw err;
    }
  }

  private received(bytes: Buffer) {
    this.raw.push(bytes);
    const m = fromBinary(SubscribeKeysResponseSchema, bytes);
    this.messages.push(m);
    if (this.autoAckDelayMs !== undefined) {
      const seq = Number(m.seq);
      setTimeout(() => void this.ack(seq).catch(() => {}), this.autoAckDelayMs);
    }
    this.wake();
  }

  private finish(how: RpcFailure | "ok") {
    this.endedWith ??= how;
    this.wake();
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }

  private startGrpc() {
    const client = new grpc.Client(`127.0.0.1:${this.o.port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    if (this.o.adminKey !== undefined) md.set("authorization", `Bearer ${this.o.adminKey}`);
    const call = client.makeServerStreamRequest(
      "/flux.apikeys.v1.LocalValidationService/SubscribeKeys",
      (v: unknown) => Buffer.from(toBinary(SubscribeKeysRequestSchema, create(SubscribeKeysRequestSchema, v as never))),
      (b: Buffer) => b,
      { validatorName: this.o.name ?? "" },
      md,
    );
    call.on("data", (b: Buffer) => this.received(b));
    call.on("error", (err: grpc.ServiceError) => {
      const raw = err.metadata?.get("grpc-status-details-bin")[0];
      let reason: string | undefined;
      if (raw) for (const any of fromBinary(StatusSchema, raw as Buffer).details) reason ??= anyUnpack(any, ErrorInfoSchema)?.reason;
      this.finish(new RpcFailure(err.code as number as Code, err.details, reason));
      client.close();
    });
    call.on("end", () => {
      this.finish("ok");
      client.close();
    });
    this.cancel = () => {
      call.cancel();
      client.close();
    };
  }

  private async startConnect() {
    const abort = new AbortController();
    this.cancel = () => abort.abort();
    // Binary Connect over HTTP/1.1, as curl or a browser would (the fast lane must leave the stream alone).
    const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${this.o.port}`, httpVersion: "1.1", useBinaryFormat: true });
    const client = createClient(LocalValidationService, transport);
    try {
      for await (const m of client.subscribeKeys({ validatorName: this.o.name ?? "" }, { headers: this.o.adminKey === undefined ? {} : { authorization: `Bearer ${this.o.adminKey}` }, signal: abort.signal })) {
        this.received(Buffer.from(toBinary(SubscribeKeysResponseSchema, m)));
      }
      this.finish("ok");
    } catch (err) {
      const ce = ConnectError.from(err);
      this.finish(new RpcFailure(ce.code, ce.rawMessage, ce.findDetails(ErrorInfoSchema)[0]?.reason));
    }
  }
}

/** Seqs 1, 2, 3, … with no gap, and the first message is the session. */
export function checkSequence(messages: SubscribeKeysResponse[]): void {
  messages.forEach((m, i) => {
    if (Number(m.seq) !== i + 1) throw new Error(`message ${i} has seq ${m.seq}, expected ${i + 1}`);
  });
  if (messages[0] && messages[0].event.case !== "session") throw new Error("the first message is not the session");
}
