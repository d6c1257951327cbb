// `flux.apiKeys`: the friendly facade over ApiKeyService — plain inputs, Dates and numbers out, typed errors.
import type { Client } from "@connectrpc/connect";
import type { ApiKeyService } from "./gen/flux/apikeys/v1/api_key_service_pb.js";
import { toApiKey, toCreatedApiKey, toRotatedApiKey, toScope, toUsage, toValidationResult } from "./convert.js";
import {
  createRequest,
  type CreateApiKeyInput,
  listRequest,
  type ListApiKeysInput,
  type RotateOptions,
  updateRequest,
  type UpdateApiKeyInput,
  usageRequest,
  type UsageOptions,
  type ValidateOptions,
} from "./requests.js";
import type { ApiKey, ApiKeyPage, CreatedApiKey, KeyInfo, RotatedApiKey, Scope, Usage, ValidationResult } from "./types.js";
import { acceptedKey } from "./validation.js";

export class ApiKeys {
  constructor(private readonly raw: Client<typeof ApiKeyService>) {}

  /** Issues a key. The returned `secret` is shown only here: store it now. */
  async create(input: CreateApiKeyInput): Promise<CreatedApiKey> {
    const res = await this.raw.createApiKey(createRequest(input));
    return toCreatedApiKey(res.apiKey, res.secret);
  }

  /**
   * Checks a raw secret presented by a caller. Resolves to the key's info when valid; rejects with
   * InvalidKeyError (`.outcome`), RateLimitedError (`.retryAfterMs`, `.resetAt`) or InsufficientScopeError.
   */
  async validate(rawKey: string, options: ValidateOptions = {}): Promise<KeyInfo> {
    return acceptedKey(await this.check(rawKey, options));
  }

  /** Like `validate`, but resolves to the whole answer (outcome, rate-limit state) instead of rejecting. */
  async check(rawKey: string, options: ValidateOptions = {}): Promise<ValidationResult> {
    const res = await this.raw.validateApiKey({ key: rawKey, requiredScopes: options.requiredScopes ?? [], clientIp: options.clientIp ?? "", cost: options.cost });
    return toValidationResult(res);
  }

  /**
   * Issues a new secret for the same key; the old one stops working when this resolves (or after the grace period)
   * on every replica that confirmed: see `unconfirmedReplicas`.
   */
  async rotate(id: string, options: RotateOptions = {}): Promise<RotatedApiKey> {
    const res = await this.raw.rotateApiKey({ id, gracePeriodSeconds: options.gracePeriodSeconds ?? 0 });
    return toRotatedApiKey(res.apiKey, res.secret, res.unconfirmedReplicas);
  }

  /** Changes only the fields given; null clears `rateLimit` or `expiresAt`. */
  async update(id: string, changes: UpdateApiKeyInput): Promise<ApiKey> {
    const res = await this.raw.updateApiKey(updateRequest(id, changes));
    return toApiKey(res.apiKey);
  }

  async get(id: string): Promise<ApiKey> {
    const res = await this.raw.getApiKey({ id });
    return toApiKey(res.apiKey);
  }

  /** One page of keys, newest first. */
  async list(input: ListApiKeysInput = {}): Promise<ApiKeyPage> {
    const res = await this.raw.listApiKeys(listRequest(input));
    return { apiKeys: res.apiKeys.map((k) => toApiKey(k)), nextPageToken: res.nextPageToken };
  }

  /** Every key matching `input`, page after page. */
  async *listAll(input: Omit<ListApiKeysInput, "pageToken"> = {}): AsyncGenerator<ApiKey, void, undefined> {
    let pageToken = "";
    do {
      const page = await this.list({ ...input, pageToken });
      yield* page.apiKeys;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }

  /** Permanently revokes a key; resolves to the key in its revoked state. */
  async revoke(id: string): Promise<ApiKey> {
    const res = await this.raw.revokeApiKey({ id });
    return toApiKey(res.apiKey);
  }

  /** Validations of the key this calendar month (UTC), per outcome and as a series. */
  async getUsage(id: string, options: UsageOptions = {}): Promise<Usage> {
    return toUsage(await this.raw.getApiKeyUsage(usageRequest(id, options)));
  }

  /** Defines (or redescribes) a scope that keys may then carry. */
  async defineScope(name: string, description = ""): Promise<Scope> {
    const res = await this.raw.defineScope({ scope: { name, description } });
    return toScope(res.scope);
  }

  /** Every defined scope, sorted by name. */
  async listScopes(): Promise<Scope[]> {
    const res = await this.raw.listScopes({});
    return res.scopes.map((s) => toScope(s));
  }

  /** Deletes a scope no live key carries (else FailedPreconditionError, reason SCOPE_IN_USE). */
  async deleteScope(name: string): Promise<void> {
    await this.raw.deleteScope({ name });
  }
}
