// The proto enum ErrorReason is the one list of reasons: the server's error table and the dashboard's sentences
// cover exactly its values, and the wire string is the value's name without the ERROR_REASON_ prefix.
import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorReasonSchema } from "../../gen/ts/flux/apikeys/v1/error_reason_pb.js";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import { BY_REASON, describeError } from "../../src/dashboard/errors.js";
import { type ErrorReason, FluxError } from "../../src/domain/errors.js";
import { CODE_OF, errorDetails } from "../../src/transport/error-table.js";

/** Every reason the proto defines, as sent on the wire. */
const PROTO_REASONS = ErrorReasonSchema.values
  .filter((v) => v.number !== 0)
  .map((v) => v.name.replace(/^ERROR_REASON_/, "") as ErrorReason);

describe("error reasons come from the proto enum", () => {
  it("names every reason in the proto with the ERROR_REASON_ prefix, and protobuf-es strips exactly that", () => {
    expect(PROTO_REASONS.length).toBeGreaterThanOrEqual(13);
    for (const v of ErrorReasonSchema.values) {
      expect(v.name).toBe(`ERROR_REASON_${v.localName}`);
    }
  });

  it("gives every proto reason a gRPC code in the error table, and the table nothing else", () => {
    expect(Object.keys(CODE_OF).sort()).toEqual([...PROTO_REASONS].sort());
  });

  it("sends each reason as the value's name without the prefix (the wire the SDKs branch on)", () => {
    for (const reason of PROTO_REASONS) {
      const [info] = errorDetails(new FluxError(reason, "m"));
      expect(info!.desc).toBe(ErrorInfoSchema);
      expect(info!.value).toMatchObject({ reason, domain: "flux.apikeys.v1" });
    }
  });

  it("gives every proto reason a dashboard sentence, and the dashboard no reason the proto lacks", () => {
    expect(Object.keys(BY_REASON).sort()).toEqual([...PROTO_REASONS].sort());
    for (const reason of PROTO_REASONS) {
      const err = new ConnectError("", CODE_OF[reason], undefined, [
        { desc: ErrorInfoSchema, value: { reason, domain: "flux.apikeys.v1", metadata: { scopes: "a:b" } } },
      ]);
      expect(describeError(err), reason).toMatchObject({ reason, message: expect.stringMatching(/\S/) });
    }
  });

  it("tells a throttled dashboard user to wait before signing in again (AUTH_THROTTLED), not a generic 'too many requests'", () => {
    const err = new ConnectError("", CODE_OF.AUTH_THROTTLED, undefined, [
      { desc: ErrorInfoSchema, value: { reason: "AUTH_THROTTLED", domain: "flux.apikeys.v1", metadata: {} } },
    ]);
    expect(describeError(err).message).toBe(BY_REASON.AUTH_THROTTLED);
  });
});
