// The local validator's table: every key the session may see, by digest and by id, and the organisations whose keys
// are validated over the network. Built from a snapshot, then changed message by message; never holds a secret.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { KeyState as WireKeyState } from "./gen/flux/apikeys/v1/api_key_pb.js";
import type { LocalKey, LocalKeyChange, LocalOrganization } from "./gen/flux/apikeys/v1/local_validation_pb.js";
import { type CidrMatcher, compileCidrs } from "./local-checks.js";
import { KeyInfo } from "./types.js";

/** One key as the validator decides about it. Replaced (never changed) when the key changes. */
export interface LocalEntry {
  readonly id: string;
  readonly orgId: string;
  readonly digest: string;
  readonly state: "ACTIVE" | "DISABLED" | "REVOKED";
  /** Absent: never expires. */
  readonly expiresAtMs: number | undefined;
  readonly scopes: ReadonlySet<string>;
  /** Absent: any address. */
  readonly allowedIp: CidrMatcher | undefined;
  readonly rateLimit: { readonly requests: number; readonly windowSeconds: number } | undefined;
  /** The key spends credits (balances come from leases). */
  readonly metered: boolean;
  /**
   * The answer's key info for keys without per-call state (no rate limit, no credits), shared by every answer:
   * its arrays and metadata are frozen.
   */
  readonly info: KeyInfo;
}

function toState(s: WireKeyState): LocalEntry["state"] {
  if (s === WireKeyState.ACTIVE) return "ACTIVE";
  if (s === WireKeyState.DISABLED) return "DISABLED";
  return "REVOKED"; // anything else must never be accepted locally
}

export function toEntry(k: LocalKey): LocalEntry | undefined {
  const i = k.info;
  if (!i || i.id === "" || k.digest === "") return undefined;
  const expiresAtMs = i.expiresAt ? timestampMs(i.expiresAt) : undefined;
  const scopes = Object.freeze([...i.scopes]);
  const info = new KeyInfo({
    id: i.id,
    orgId: i.orgId,
    name: i.name,
    scopes: scopes as string[],
    metadata: Object.freeze({ ...i.metadata }),
    expiresAt: expiresAtMs === undefined ? undefined : new Date(expiresAtMs),
    rateLimit: undefined,
  });
  return {
    id: i.id,
    orgId: i.orgId,
    digest: k.digest,
    state: toState(k.state),
    expiresAtMs,
    scopes: new Set(scopes),
    allowedIp: k.allowedCidrs.length ? compileCidrs(k.allowedCidrs) : undefined,
    rateLimit: k.rateLimit && k.rateLimit.requests > 0 ? { requests: k.rateLimit.requests, windowSeconds: k.rateLimit.windowSeconds } : undefined,
    metered: k.credits !== undefined,
    info,
  };
}

export class KeyTable {
  readonly #byDigest = new Map<string, LocalEntry>();
  readonly #byId = new Map<string, LocalEntry>();
  readonly #remoteOrgs = new Set<string>();

  get size(): number {
    return this.#byId.size;
  }

  byDigest(digest: string): LocalEntry | undefined {
    return this.#byDigest.get(digest);
  }

  byId(id: string): LocalEntry | undefined {
    return this.#byId.get(id);
  }

  isRemoteOrg(orgId: string): boolean {
    return this.#remoteOrgs.size !== 0 && this.#remoteOrgs.has(orgId);
  }

  /** Puts a key in (replacing the entry with its id); returns the id, whose leases the caller drops. */
  put(k: LocalKey): string | undefined {
    const e = toEntry(k);
    if (!e) return k.info?.id;
    this.remove(e.id);
    // A digest held by another id (cannot happen with 178-bit secrets) would be ambiguous: keep neither locally.
    const clash = this.#byDigest.get(e.digest);
    if (clash) {
      this.remove(clash.id);
      return e.id;
    }
    this.#byDigest.set(e.digest, e);
    this.#byId.set(e.id, e);
    return e.id;
  }

  remove(id: string): void {
    const old = this.#byId.get(id);
    if (!old) return;
    this.#byId.delete(id);
    if (this.#byDigest.get(old.digest) === old) this.#byDigest.delete(old.digest);
  }

  organization(o: LocalOrganization): void {
    if (o.validateRemotely) this.#remoteOrgs.add(o.orgId);
    else this.#remoteOrgs.delete(o.orgId);
  }

  /** Applies one change; returns the id of the key it touched (its leases must go), if any. */
  apply(c: LocalKeyChange): string | undefined {
    switch (c.change.case) {
      case "key":
        return this.put(c.change.value);
      case "removedKeyId":
        this.remove(c.change.value);
        return c.change.value;
      case "organization":
        this.organization(c.change.value);
        return undefined;
      default:
        return undefined;
    }
  }
}
