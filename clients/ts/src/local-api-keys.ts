// `flux.apiKeys` in Node: the network facade plus `localValidator()`, which needs node:crypto, node:net and node:zlib
// and so lives outside the runtime-neutral core.
import type { Client } from "@connectrpc/connect";
import { ApiKeys } from "./api-keys.js";
import type { ApiKeyService } from "./gen/flux/apikeys/v1/api_key_service_pb.js";
import type { LocalValidationService } from "./gen/flux/apikeys/v1/local_validation_pb.js";
import { LocalValidator, type LocalValidatorOptions } from "./local-validator.js";

export class NodeApiKeys extends ApiKeys {
  constructor(
    raw: Client<typeof ApiKeyService>,
    private readonly localRaw: Client<typeof LocalValidationService>,
  ) {
    super(raw);
  }

  /**
   * Starts a local validator: it subscribes to the keys this admin key may see (it needs the `local_validation`
   * right) and resolves once it holds a complete, acknowledged snapshot. Its `validate` / `check` answer exactly
   * as these do, in this process while fresh, over the network otherwise. Close it when done (usage is reported
   * then, and unused leases returned).
   * Rejects with AuthenticationError / PermissionDeniedError, FailedPreconditionError (reason PEPPER_MISMATCH) or
   * UnavailableError when it is not fresh within `startTimeoutMs`.
   */
  async localValidator(options: LocalValidatorOptions = {}): Promise<LocalValidator> {
    return new LocalValidator(this, this.localRaw, options).start();
  }
}
