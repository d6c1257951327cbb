// `flux.apiKeys` in Node: the network facade plus `localValidator()` and its options, state and stats. The validator
// needs node:crypto and node:net, so it lives outside the runtime-neutral core.
import type { Client } from "@connectrpc/connect";
import { ApiKeys } from "./api-keys.js";
import type { ApiKeyService } from "./gen/flux/apikeys/v1/api_key_service_pb.js";
import type { LocalValidationService } from "./gen/flux/apikeys/v1/local_validation_pb.js";
import { LocalValidator } from "./local-validator.js";

export type LocalValidatorState = "fresh" | "stale" | "closed";

export interface LocalValidatorOptions {
  /** Names this validator in the server's logs and metrics (at most 100 characters). */
  name?: string;
  /** The server's FLUX_KEY_PEPPER, when it has one; defaults to the FLUX_KEY_PEPPER environment variable. */
  pepper?: string;
  /** Called on every change between "fresh" (answering locally), "stale" (answering over the network) and "closed". */
  onStateChange?: (state: LocalValidatorState, previous: LocalValidatorState) => void;
  /** How long the start may take to become fresh before it rejects with UnavailableError; default 10,000 ms. */
  startTimeoutMs?: number;
  /** How often usage is reported, in ms; default 1,000 (at least once a second). */
  reportIntervalMs?: number;
}

export interface LocalValidatorStats {
  /** Answers decided in this process. */
  localAnswers: number;
  /** Answers from ValidateApiKey over the network (stale state, unknown digests, unusual requests). */
  networkAnswers: number;
  /** Subscriptions started again after an error, a gap, silence or a cut-off. */
  resyncs: number;
  /** Keys in the table (0 while stale). */
  keys: number;
  state: LocalValidatorState;
}

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
