// Admin keys: create (secret shown once), list, revoke; and the bootstrap key a first start on an empty store prints.
import type { Clock } from "../domain/clock.js";
import { FluxError, invalidArgument } from "../domain/errors.js";
import { ADMIN_KEY_PREFIX, type Digester, displayHint, generateSecret, newId } from "../domain/key-material.js";
import type { AdminKeyRecord, Principal } from "../domain/types.js";
import type { AdminKeyStore } from "../store/types.js";
import { requireUnrestricted } from "./access.js";
import { auditEvent, CLI_ACTOR, SYSTEM_ACTOR } from "./audit-trail.js";
import { checkName, checkOrgId } from "./key-input.js";

/** The id of the admin key a first start creates: fixed, it is the marker that makes the creation happen once. */
export const BOOTSTRAP_ADMIN_KEY_ID = "adm_bootstrap";

export interface CreateAdminKeyInput {
  name: string;
  orgId?: string;
  validateOnly: boolean;
  /** The right to hold local validators' sessions (LocalValidationService). */
  localValidation?: boolean;
}

export class AdminKeyService {
  constructor(
    private readonly store: AdminKeyStore,
    /** Makes every replica forget the revoked key before revoke returns. */
    private readonly onRevoke: (key: AdminKeyRecord) => void | Promise<void>,
    private readonly clock: Clock,
    private readonly digest: Digester,
  ) {}

  async create(p: Principal, input: CreateAdminKeyInput): Promise<{ key: AdminKeyRecord; secret: string }> {
    requireUnrestricted(p);
    return this.issue(input, p);
  }

  async list(p: Principal): Promise<AdminKeyRecord[]> {
    requireUnrestricted(p);
    return this.store.list();
  }

  async revoke(p: Principal, id: string): Promise<AdminKeyRecord> {
    requireUnrestricted(p);
    if (!id) throw invalidArgument("id is required", "id");
    const now = this.clock.nowMs();
    const key = await this.store.revoke(id, now, (before) =>
      before && auditEvent(p, { action: "ADMIN_KEY_REVOKED", targetType: "ADMIN_KEY", targetId: id, orgId: before.orgId, atMs: now, before, after: { ...before, revokedAtMs: now } }),
    );
    if (!key) throw new FluxError("ADMIN_KEY_NOT_FOUND", `admin key ${JSON.stringify(id)} not found`, { id });
    await this.onRevoke(key);
    return key;
  }

  /**
   * Creates the first admin key when the store has none and no FLUX_ADMIN_KEY is configured. The key has a fixed
   * id, so of replicas starting together on an empty store exactly one creates (and prints) it.
   */
  async bootstrapIfEmpty(): Promise<string | undefined> {
    if ((await this.store.count()) > 0) return undefined;
    const { key, secret } = this.mint({ name: "bootstrap", validateOnly: false }, BOOTSTRAP_ADMIN_KEY_ID);
    return (await this.store.insertIfAbsent(key, this.created(SYSTEM_ACTOR, key))) ? secret : undefined;
  }

  /** Used by the CLI (without `by`), which acts with the operator's full rights. */
  async issue(input: CreateAdminKeyInput, by: Principal = CLI_ACTOR): Promise<{ key: AdminKeyRecord; secret: string }> {
    const minted = this.mint(input, newId("adm"));
    await this.store.insert(minted.key, this.created(by, minted.key));
    return minted;
  }

  private created(by: Principal, key: AdminKeyRecord) {
    return auditEvent(by, { action: "ADMIN_KEY_CREATED", targetType: "ADMIN_KEY", targetId: key.id, orgId: key.orgId, atMs: key.createdAtMs, after: key });
  }

  private mint(input: CreateAdminKeyInput, id: string): { key: AdminKeyRecord; secret: string } {
    const name = checkName(input.name);
    if (input.orgId) checkOrgId(input.orgId);
    const secret = generateSecret(ADMIN_KEY_PREFIX);
    const key: AdminKeyRecord = {
      id,
      name,
      orgId: input.orgId || undefined,
      validateOnly: input.validateOnly,
      localValidation: input.localValidation === true,
      displayHint: displayHint(secret, ADMIN_KEY_PREFIX),
      digest: this.digest(secret),
      createdAtMs: this.clock.nowMs(),
    };
    return { key, secret };
  }
}
