// One key's page: its settings, the lifecycle actions (edit, rotate, disable/enable, revoke) and its usage.
import { type ApiKey, KeyState } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { api } from "./api.js";
import { navigate, state } from "./app.js";
import { alertBox, busy, confirmAction, field, h, mount, toast } from "./dom.js";
import { describeError } from "./errors.js";
import { fmtCredits, fmtDate, fmtRateLimit, scopeChips, stateBadge } from "./format.js";
import { editKeyDialog } from "./key-form.js";
import { showSecret } from "./secret-dialog.js";
import { renderUsagePanel } from "./usage-panel.js";
import { renderActivity, tabs } from "./activity-panel.js";
import { leakMarker } from "./leak-marker.js";

export async function renderKeyPage(main: HTMLElement, id: string): Promise<void> {
  const back = h("button", { type: "button", class: "link back", onclick: () => navigate({ view: "keys" }) }, "← All keys");
  const title = h("h1", { tabindex: "-1" }, "Loading key…");
  mount(main, h("div", { class: "key-page" }, back, title));
  try {
    const { apiKey } = await api.getApiKey({ id });
    render(main, apiKey!);
  } catch (err) {
    const p = describeError(err);
    title.textContent = "Key unavailable";
    main.querySelector(".key-page")!.append(alertBox(p.message, p.detail));
  }
}

function render(main: HTMLElement, key: ApiKey, focusHeading = false) {
  state.orgId = key.orgId;
  const rerender = (k: ApiKey) => render(main, k, true);
  const revoked = key.state === KeyState.REVOKED;
  const usage = h("section", { class: "card usage" });
  const activity = h("section", { class: "card activity" });
  const title = h("h1", { tabindex: "-1" }, key.name);
  const leaked = leakMarker(key.id);
  mount(
    main,
    h(
      "div",
      { class: "key-page" },
      h("button", { type: "button", class: "link back", onclick: () => navigate({ view: "keys" }) }, `← Keys of ${key.orgId}`),
      h(
        "div",
        { class: "page-head" },
        h("div", { class: "title-row" }, title, stateBadge(key), leaked.badge),
        actions(key, rerender),
      ),
      revoked ? h("p", { class: "notice" }, `Revoked ${fmtDate(key.revokedAt)}. A revoked key can no longer be changed, enabled or rotated.`) : null,
      leaked.notice,
      h("section", { class: "card", "aria-label": "Key settings" }, details(key)),
      tabs("Key details", [
        { label: "Usage", panel: usage, onFirstShow: () => void renderUsagePanel(usage, key, revoked ? undefined : rerender) },
        { label: "Activity", panel: activity, onFirstShow: () => void renderActivity(activity, { targetId: key.id }) },
      ]),
    ),
  );
  if (focusHeading) title.focus();
}

function details(k: ApiKey): HTMLElement {
  const row = (label: string, value: Node | string) => h("div", null, h("dt", null, label), h("dd", null, value));
  return h(
    "dl",
    { class: "details" },
    row("Key", h("code", null, k.displayHint)),
    row("ID", h("code", null, k.id)),
    row("Organisation", h("code", null, k.orgId)),
    row("Scopes", scopeChips(k.scopes)),
    row("Rate limit", fmtRateLimit(k.rateLimit)),
    row("Credits", fmtCredits(k.credits)),
    row("Allowed addresses", k.allowedCidrs.length ? h("span", { class: "cidrs" }, k.allowedCidrs.map((c) => h("code", { class: "chip" }, c))) : "Any"),
    row("Expires", fmtDate(k.expiresAt, "Never")),
    row("Created", fmtDate(k.createdAt)),
    row("Updated", fmtDate(k.updatedAt)),
    row("Last rotated", fmtDate(k.rotatedAt, "Never")),
  );
}

function actions(key: ApiKey, rerender: (k: ApiKey) => void): HTMLElement {
  const revoked = key.state === KeyState.REVOKED;
  const btn = (label: string, cls: string, run: (b: HTMLButtonElement) => void) => {
    const b = h("button", { type: "button", class: `btn ${cls}`, disabled: revoked });
    b.textContent = label;
    b.addEventListener("click", () => run(b));
    return b;
  };
  return h(
    "div",
    { class: "actions", role: "group", "aria-label": "Key actions" },
    btn("Edit", "", () => void editKeyDialog(key, rerender)),
    btn("Rotate", "", (b) => void rotate(key, b, rerender)),
    btn(key.enabled ? "Disable" : "Enable", "", (b) => void setEnabled(key, !key.enabled, b, rerender)),
    btn("Revoke", "btn-danger-outline", (b) => void revoke(key, b, rerender)),
  );
}

const GRACE: [number, string][] = [
  [0, "Stop working immediately"],
  [300, "Keep working for 5 minutes"],
  [3600, "Keep working for 1 hour"],
  [86400, "Keep working for 24 hours"],
  [604800, "Keep working for 7 days"],
];

async function rotate(key: ApiKey, button: HTMLButtonElement, rerender: (k: ApiKey) => void) {
  const grace = h("select", { id: "grace-period" }, GRACE.map(([s, label]) => h("option", { value: s }, label)));
  const ok = await confirmAction({
    title: `Rotate ${key.name}?`,
    message: "A new secret is issued for the same key: its ID, scopes, limits and metadata stay. You will see the new secret once.",
    extra: field("The current secret should", grace, "A grace period lets clients switch over without downtime."),
    confirm: "Rotate key",
  });
  if (!ok) return;
  const seconds = Number(grace.value);
  const res = await busy(button, () => api.rotateApiKey({ id: key.id, gracePeriodSeconds: seconds }));
  if (!res) return;
  rerender(res.apiKey!);
  const note = seconds ? `The previous secret keeps working for ${GRACE.find(([s]) => s === seconds)![1].replace("Keep working for ", "")}.` : "The previous secret has stopped working.";
  showSecret("Key rotated", res.apiKey!, res.secret, note);
}

async function setEnabled(key: ApiKey, enabled: boolean, button: HTMLButtonElement, rerender: (k: ApiKey) => void) {
  if (!enabled) {
    const ok = await confirmAction({
      title: `Disable ${key.name}?`,
      message: "Validations of this key will answer DISABLED until you enable it again. Nothing else changes.",
      confirm: "Disable key",
    });
    if (!ok) return;
  }
  const res = await busy(button, () => api.updateApiKey({ apiKey: { id: key.id, enabled }, updateMask: { paths: ["enabled"] } }));
  if (!res) return;
  toast(`${key.name} is ${enabled ? "enabled" : "disabled"}.`);
  rerender(res.apiKey!);
}

async function revoke(key: ApiKey, button: HTMLButtonElement, rerender: (k: ApiKey) => void) {
  const ok = await confirmAction({
    title: `Revoke ${key.name}?`,
    message: [
      h("p", null, "The key stops working at once and ", h("strong", null, "this cannot be undone"), "."),
      h("p", null, "Clients using ", h("code", null, key.displayHint), " will be refused with REVOKED."),
    ],
    confirm: "Revoke key",
    danger: true,
  });
  if (!ok) return;
  const res = await busy(button, () => api.revokeApiKey({ id: key.id }));
  if (!res) return;
  toast(`${key.name} is revoked.`);
  rerender(res.apiKey!);
}
