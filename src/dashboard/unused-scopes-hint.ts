// Least privilege made visible: the key's scopes no validation required in the last 30 days, with when each was
// last required, and a "Remove unused scopes" action (UpdateApiKey(scopes), after a confirmation).
import type { ApiKey } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import type { GetApiKeyUsageResponse } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { api } from "./api.js";
import { busy, confirmAction, h, toast } from "./dom.js";
import { fmtDate } from "./format.js";

export function unusedScopesHint(key: ApiKey, u: GetApiKeyUsageResponse, changed: (k: ApiKey) => void): HTMLElement {
  const unused = u.unusedScopes.filter((s) => key.scopes.includes(s));
  const used = u.scopeUses.filter((s) => s.lastRequiredAt && !unused.includes(s.scope));
  if (key.scopes.length === 0) return h("div", { class: "scope-hint", id: "scope-hint" });
  const lastUses = used.length
    ? h("p", { class: "muted small" }, "Last required: ", used.map((s, i) => [i ? ", " : "", h("code", null, s.scope), ` ${fmtDate(s.lastRequiredAt)}`]).flat())
    : null;
  if (unused.length === 0) {
    return h("div", { class: "scope-hint", id: "scope-hint" }, h("h3", null, "Scopes in use"), h("p", { class: "small" }, "Every scope of this key was required by a validation in the last 30-day window."), lastUses);
  }
  const remove = h("button", { type: "button", class: "btn", id: "remove-unused-scopes" }, unused.length === 1 ? "Remove unused scope" : "Remove unused scopes");
  remove.addEventListener("click", async () => {
    const keep = key.scopes.filter((s) => !unused.includes(s));
    const ok = await confirmAction({
      title: `Remove ${unused.length} unused scope${unused.length === 1 ? "" : "s"} from ${key.name}?`,
      message: [
        h("p", null, "These scopes were not required by any validation of this key in the last 30-day window:"),
        h("p", null, unused.map((s) => h("code", { class: "chip" }, s))),
        h("p", null, "Validations that require them later will answer INSUFFICIENT_SCOPE. You can add them back by editing the key."),
      ],
      confirm: "Remove scopes",
      danger: true,
    });
    if (!ok) return;
    const res = await busy(remove, () => api.updateApiKey({ apiKey: { id: key.id, scopes: keep }, updateMask: { paths: ["scopes"] } }));
    if (!res) return;
    toast(`Removed ${unused.length} unused scope${unused.length === 1 ? "" : "s"} from ${key.name}.`);
    changed(res.apiKey!);
  });
  return h(
    "div",
    { class: "scope-hint notice", id: "scope-hint", "data-unused": unused.join(",") },
    h("h3", null, "Unused scopes"),
    h("p", { class: "small" }, `No validation required ${unused.length === 1 ? "this scope" : "these scopes"} in the last 30-day window: `, unused.map((s) => h("code", { class: "chip" }, s)), " Removing what a key does not use limits the harm of a leak."),
    lastUses,
    remove,
  );
}
