// The validator's freshness rule against a scripted LocalValidationService in memory (a router transport): it answers
// locally only while its snapshot is complete, its last acknowledgement started under stale_after_ms ago and it has
// applied the required seq; otherwise over the network. A gap in the stream resubscribes.
import { create } from "@bufbuild/protobuf";
import { createRouterTransport } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { KeyState } from "../../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import {
  DigestAlgorithm,
  LocalValidationService,
  type SubscribeKeysResponse,
  SubscribeKeysResponseSchema,
} from "../../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { Outcome } from "../../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { API_KEY_PREFIX, createDigester, generateSecret } from "../../../src/domain/key-material.js";
import { Flux, type LocalValidator } from "../src/node.js";

const SECRET = generateSecret(API_KEY_PREFIX);
const DIGEST = createDigester(undefined)(SECRET);

type Ev = SubscribeKeysResponse["event"];

/**
 * A scripted server: each subscription gets a queue the test pushes events into (numbered 1, 2, 3 … as sent, with
 * a heartbeat every 20 ms when idle once the session is out; `gap()` skips a number); acks obey `ackMode`.
 */
function scripted() {
  const streams: { push(e: SubscribeKeysResponse["event"]): void; gap(): void; seq(): bigint; quiet: boolean }[] = [];
  const s = {
    ackMode: "ok" as "ok" | "fail",
    requiredSeq: 0n,
    acks: 0,
    networkCalls: 0,
    streams,
    transport: createRouterTransport(({ service }) => {
      service(LocalValidationService, {
        async *subscribeKeys(_req, ctx) {
          const queue: SubscribeKeysResponse["event"][] = [];
          let seq = 0n;
          let wake: (() => void) | undefined;
          const stream = { push: (e: Ev) => (queue.push(e), wake?.()), gap: () => seq++, seq: () => seq, quiet: false };
          streams.push(stream);
          while (!ctx.signal.aborted) {
            if (queue.length === 0) await new Promise<void>((r) => ((wake = r), setTimeout(r, 20)));
            const event = queue.shift() ?? (seq > 0n && !stream.quiet ? { case: "heartbeat" as const, value: {} as never } : undefined);
            if (event) yield create(SubscribeKeysResponseSchema, { seq: ++seq, event });
          }
        },
        acknowledgeKeyChanges() {
          s.acks++;
          if (s.ackMode === "fail") throw new Error("acknowledgements are failing");
          return { requiredSeq: s.requiredSeq };
        },
        leaseLimits: () => ({}),
        reportLocalUsage: () => ({}),
      });
      service(ApiKeyService, {
        validateApiKey() {
          s.networkCalls++;
          return { valid: false, outcome: Outcome.NOT_FOUND };
        },
      });
    }),
  };
  return s;
}

const session = (staleAfterMs = 150): Ev => ({ case: "session", value: { sessionId: "s1", digestAlgorithm: DigestAlgorithm.SHA256, heartbeatIntervalMs: 20, staleAfterMs } as never });
const snapshot = (state = KeyState.ACTIVE): Ev => ({
  case: "snapshot",
  value: { complete: true, keys: [{ digest: DIGEST, state, info: { id: "key_1", orgId: "o", name: "k" } }] } as never,
});
const revoke = (): Ev => ({ case: "change", value: { change: { case: "key", value: { digest: DIGEST, state: KeyState.REVOKED, info: { id: "key_1", orgId: "o", name: "k" } } } } as never });

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`never: ${what}`);
}

let v: LocalValidator | undefined;
afterEach(async () => {
  await v?.close().catch(() => {});
  v = undefined;
});

async function started(s: ReturnType<typeof scripted>, staleAfterMs?: number): Promise<LocalValidator> {
  const flux = Flux.fromTransport(s.transport, "fluxadm_test");
  const starting = flux.apiKeys.localValidator({ startTimeoutMs: 5000 });
  await until(() => s.streams.length === 1, "subscribed");
  s.streams[0]!.push(session(staleAfterMs));
  s.streams[0]!.push(snapshot());
  return (v = await starting);
}

describe("the freshness rule", () => {
  it("answers locally once the snapshot is acknowledged, and applies a change before acknowledging it", async () => {
    const s = scripted();
    const lv = await started(s);
    expect(lv.state).toBe("fresh");
    expect((await lv.check(SECRET)).outcome).toBe("VALID");
    const acks = s.acks;
    s.streams[0]!.push(revoke());
    await until(() => s.acks > acks, "acknowledged");
    expect((await lv.check(SECRET)).outcome).toBe("REVOKED");
    expect(s.networkCalls).toBe(0);
  });

  it("turns stale when acknowledgements stop succeeding, answering over the network, and fresh when they succeed again", async () => {
    const s = scripted();
    const lv = await started(s);
    s.ackMode = "fail";
    await until(() => lv.state === "stale", "stale");
    expect((await lv.check(SECRET)).outcome).toBe("NOT_FOUND"); // the scripted network's answer
    expect(s.networkCalls).toBe(1);
    s.ackMode = "ok";
    await until(() => lv.state === "fresh", "fresh again");
    expect((await lv.check(SECRET)).outcome).toBe("VALID");
  });

  it("is stale while it has not applied the required seq", async () => {
    const s = scripted();
    const lv = await started(s, 5000); // no stale_after within this test: only required_seq makes it stale
    const stream = s.streams[0]!;
    stream.quiet = true; // no heartbeats: the next message is the change
    s.requiredSeq = stream.seq() + 1n; // the server sent a change this validator has not applied yet
    await until(() => lv.state === "stale", "stale");
    expect((await lv.check(SECRET)).outcome).toBe("NOT_FOUND");
    stream.push(revoke());
    await until(() => lv.state === "fresh", "fresh once the required seq is applied");
    expect((await lv.check(SECRET)).outcome).toBe("REVOKED");
  });

  it("drops everything on a gap in seq and subscribes again", async () => {
    const s = scripted();
    const lv = await started(s);
    s.streams[0]!.gap();
    await until(() => s.streams.length === 2, "subscribed again");
    expect(lv.state).toBe("stale");
    expect(lv.stats()).toMatchObject({ resyncs: 1, keys: 0 });
    s.streams[1]!.push(session());
    s.streams[1]!.push(snapshot(KeyState.DISABLED));
    await until(() => lv.state === "fresh", "fresh on the new session");
    expect((await lv.check(SECRET)).outcome).toBe("DISABLED");
  });
});
