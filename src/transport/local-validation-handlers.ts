// LocalValidationService's handlers (SDK validators): SubscribeKeys streams a session of the validator hub,
// AcknowledgeKeyChanges records progress. LeaseLimits and ReportLocalUsage belong to services/validator-leases.ts
// and validator-usage.ts. Thin, like handlers.ts: rules live in services/validator-hub.ts.
import type { Deps } from "../deps.js";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import type { Principal } from "../domain/types.js";
import { LocalValidationService } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import type { CallContext, ServedService, ServiceHandlers } from "./handlers.js";
import { leaseAnswerToWire, leaseAskFromWire, usageReportFromWire } from "./local-limits-mappers.js";
import { validatorMessageToWire } from "./local-validation-mappers.js";

export type LocalValidationHandlers = Partial<ServiceHandlers<typeof LocalValidationService>>;

export function localValidationHandlers(deps: Deps, who: (ctx: CallContext) => Promise<Principal>): ServedService<typeof LocalValidationService> {
  const hub = deps.services.validators;
  const handlers: LocalValidationHandlers = {
    async *subscribeKeys(req, ctx) {
      if (req.validatorName.length > LIMITS.validatorNameLength) {
        throw invalidArgument(`validator_name must be at most ${LIMITS.validatorNameLength} characters`, "validator_name");
      }
      const { session, messages } = hub.subscribe(await who(ctx), req.validatorName, ctx.signal);
      const facts = { sessionId: session.id, pepperId: hub.pepperId, heartbeatMs: hub.settings.heartbeatMs, staleAfterMs: hub.settings.staleAfterMs, orgId: session.orgId };
      for await (const m of messages) yield validatorMessageToWire(m, facts);
    },
    async acknowledgeKeyChanges(req, ctx) {
      const p = await who(ctx);
      return { requiredSeq: BigInt(await hub.acknowledge(checkSessionId(req.sessionId), p, Number(req.appliedSeq))) };
    },
    async leaseLimits(req, ctx) {
      const s = hub.session(checkSessionId(req.sessionId), await who(ctx));
      return leaseAnswerToWire(await deps.services.local.leases.lease(s, leaseAskFromWire(req)));
    },
    async reportLocalUsage(req, ctx) {
      const s = hub.session(checkSessionId(req.sessionId), await who(ctx));
      await deps.services.local.usage.report(s, usageReportFromWire(req));
      if (req.closing) hub.onClosing(s.id); // counted (or counted before) first, then the session ends
      return {};
    },
  };
  return { service: LocalValidationService, handlers };
}

function checkSessionId(id: string): string {
  if (!id) throw invalidArgument("session_id is required", "session_id");
  if (id.length > LIMITS.idLength) throw invalidArgument(`session_id must be at most ${LIMITS.idLength} characters`, "session_id");
  return id;
}
