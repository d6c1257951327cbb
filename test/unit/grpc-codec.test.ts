// The gRPC adapter's codecs (src/transport/grpc-server.ts › serverCodec) read and write exactly what protobuf-es
// does for every method Flux serves: the shortcut for messages without fields (Ping's) included, with unknown
// fields, with bytes that do not parse, and with answers that carry unknown fields.
import { create, type DescMessage, type DescMethod, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { AuditService } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { LocalValidationService } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { PingService } from "../../gen/ts/flux/apikeys/v1/ping_service_pb.js";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { serverCodec } from "../../src/transport/grpc-server.js";
import { MalformedRequest } from "../../src/transport/request-checks.js";

const METHODS: DescMethod[] = [AdminKeyService, ApiKeyService, AuditService, LocalValidationService, OrganizationService, PingService, WebhookService]
  .flatMap((s) => s.methods)
  .filter((m) => m.methodKind === "unary" || m.methodKind === "server_streaming");

// Field 999 (never used by Flux's messages) as a varint and as length-delimited bytes: unknown to every message.
const UNKNOWN = Buffer.from([0xb8, 0x3e, 0x2a, 0xba, 0x3e, 0x03, 0x61, 0x62, 0x63]);
const TRUNCATED = Buffer.from([0xba, 0x3e, 0x05, 0x61]); // length 5, one byte given
const plain = (m: unknown) => JSON.parse(JSON.stringify(m, (_k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? [...v] : v)));

describe("serverCodec against protobuf-es, every served method", () => {
  it("covers the field-less shortcut on both sides of Ping (so the cases below test it)", () => {
    const ping = METHODS.find((m) => m.name === "Ping")!;
    expect(ping.input.fields).toHaveLength(0);
    expect(ping.output.fields).toHaveLength(0);
    expect(METHODS.length).toBeGreaterThan(20);
  });

  for (const m of METHODS) {
    describe(`${m.parent.name}.${m.name}`, () => {
      const codec = serverCodec(m);
      const decode = (b: Buffer) => codec.requestDeserialize!(b);
      const encode = (v: unknown) => Buffer.from(codec.responseSerialize!(v) as Buffer);

      it("reads no bytes and unknown fields as protobuf-es does", () => {
        for (const b of [Buffer.alloc(0), UNKNOWN]) {
          const got = decode(b);
          expect(got).not.toBeInstanceOf(MalformedRequest);
          expect(plain(got)).toEqual(plain(fromBinary(m.input, b)));
          expect(Buffer.from(toBinary(m.input, got as never))).toEqual(b); // unknown fields survive
        }
      });

      it("turns bytes that do not parse into a MalformedRequest, not a throw", () => {
        expect(() => fromBinary(m.input, TRUNCATED)).toThrow();
        expect(decode(TRUNCATED)).toBeInstanceOf(MalformedRequest);
      });

      it("writes an answer as protobuf-es does: empty, from a plain object, with unknown fields", () => {
        const withUnknown = fromBinary(m.output, UNKNOWN);
        const cases: unknown[] = [{}, create(m.output), withUnknown];
        for (const v of cases) expect(encode(v)).toEqual(Buffer.from(toBinary(m.output, create(m.output as DescMessage, v as never))));
        expect(encode(withUnknown)).toEqual(UNKNOWN);
      });
    });
  }
});
