// Local validators' stream messages, domain → wire: a key as a validator needs it (digest, info, state, limits,
// CIDRs; never a secret), organisations validated over the network, and the session's first message.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ApiKeyRecord } from "../domain/types.js";
import type { LocalOrg, ValidatorMessage } from "../services/validator-session.js";
import { KeyState } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import {
  DigestAlgorithm,
  type LocalKey,
  LocalKeySchema,
  type LocalOrganization,
  LocalOrganizationSchema,
  type SubscribeKeysResponse,
  SubscribeKeysResponseSchema,
} from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { KeyInfoSchema } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { creditsToWire } from "./mappers.js";

export interface SessionFacts {
  sessionId: string;
  /** Set when FLUX_KEY_PEPPER is: see validator-hub.ts pepperId. */
  pepperId?: string;
  heartbeatMs: number;
  staleAfterMs: number;
  orgId?: string;
}

/** EXPIRED is left to the validator (from info.expires_at): it changes with time, not with a message. */
function stateOf(k: ApiKeyRecord): KeyState {
  if (k.revokedAtMs !== undefined) return KeyState.REVOKED;
  return k.enabled ? KeyState.ACTIVE : KeyState.DISABLED;
}

export function localKeyToWire(k: ApiKeyRecord): LocalKey {
  const credits = creditsToWire(k.credits);
  return create(LocalKeySchema, {
    digest: k.digest,
    info: create(KeyInfoSchema, {
      id: k.id,
      orgId: k.orgId,
      name: k.name,
      scopes: k.scopes,
      metadata: k.metadata,
      expiresAt: k.expiresAtMs === undefined ? undefined : timestampFromMs(k.expiresAtMs),
    }),
    state: stateOf(k),
    rateLimit: k.rateLimit,
    // Balances come from LeaseLimits: the stored "remaining" would only mislead.
    credits: credits && { ...credits, remaining: 0n },
    allowedCidrs: k.allowedCidrs ?? [],
  });
}

const orgToWire = (o: LocalOrg): LocalOrganization => create(LocalOrganizationSchema, { orgId: o.orgId, validateRemotely: o.validateRemotely });

export function validatorMessageToWire(m: ValidatorMessage, facts: SessionFacts): SubscribeKeysResponse {
  const seq = BigInt(m.seq);
  const e = m.event;
  switch (e.kind) {
    case "session":
      return create(SubscribeKeysResponseSchema, {
        seq,
        event: {
          case: "session",
          value: {
            sessionId: facts.sessionId,
            digestAlgorithm: facts.pepperId ? DigestAlgorithm.HMAC_SHA256_PEPPER : DigestAlgorithm.SHA256,
            pepperId: facts.pepperId ?? "",
            heartbeatIntervalMs: facts.heartbeatMs,
            staleAfterMs: facts.staleAfterMs,
            orgId: facts.orgId ?? "",
          },
        },
      });
    case "snapshot":
      return create(SubscribeKeysResponseSchema, {
        seq,
        event: { case: "snapshot", value: { keys: e.keys.map(localKeyToWire), organizations: e.orgs.map(orgToWire), complete: e.complete } },
      });
    case "key":
      return create(SubscribeKeysResponseSchema, { seq, event: { case: "change", value: { change: { case: "key", value: localKeyToWire(e.key) } } } });
    case "org":
      return create(SubscribeKeysResponseSchema, { seq, event: { case: "change", value: { change: { case: "organization", value: orgToWire(e.org) } } } });
    case "heartbeat":
      return create(SubscribeKeysResponseSchema, { seq, event: { case: "heartbeat", value: {} } });
  }
}
