// The create and edit dialogs for a key: name, scopes (from the defined ones), optional rate limit, credits, expiry
// and allowed client addresses (CIDRs, one per line; the server normalises and checks them).
// Editing sends only the fields that changed, named in update_mask.
import type { ApiKey, RateLimit } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { api } from "./api.js";
import { navigate, refreshScopes, state } from "./app.js";
import { busy, field, h, type Modal, nextId, openModal, toast } from "./dom.js";
import { errorText } from "./errors.js";
import { fmtCredits, fmtRateLimit, fromLocalInput, toLocalInput } from "./format.js";
import { showSecret } from "./secret-dialog.js";
import { type CreditsInit, creditsControls } from "./credits-fields.js";

const WINDOWS: [number, string][] = [
  [1, "second"],
  [60, "minute"],
  [3600, "hour"],
  [86400, "day"],
];

interface KeyFields {
  name: string;
  scopes: string[];
  rateLimit?: { requests: number; windowSeconds: number };
  expiresAt?: Timestamp;
  allowedCidrs: string[];
  credits?: CreditsInit;
  creditsChanged: boolean;
}

/** Builds the form controls; `read()` returns the values or throws a readable error. */
function keyFormControls(m: Modal, initial?: ApiKey) {
  const name = h("input", { type: "text", required: true, maxlength: 200, autocomplete: "off", value: initial?.name ?? "", placeholder: "e.g. CI pipeline" });

  const chosen = new Set(initial?.scopes ?? []);
  const defined = state.scopes.map((s) => s.name);
  const extra = [...chosen].filter((s) => !defined.includes(s)); // carried but since deleted: keep them visible
  const boxes = [...state.scopes.map((s) => [s.name, s.description] as const), ...extra.map((s) => [s, "no longer defined"] as const)].map(([n, desc]) => {
    const id = nextId("scope");
    const box = h("input", { type: "checkbox", id, value: n, checked: chosen.has(n) });
    return h("div", { class: "scope-option" }, box, h("label", { for: id }, h("code", null, n), desc ? h("span", { class: "muted" }, ` — ${desc}`) : null));
  });
  const goSettings = h("button", { type: "button", class: "link", onclick: () => (m.close(), navigate({ view: "settings" })) }, "Define scopes in Settings");
  const scopes = h(
    "fieldset",
    { class: "fieldset" },
    h("legend", null, "Scopes"),
    boxes.length ? h("div", { class: "scope-options" }, boxes) : h("p", { class: "muted small" }, "No scopes are defined yet. ", goSettings, "."),
  );

  const limited = h("input", { type: "checkbox", id: nextId("limit"), checked: !!initial?.rateLimit });
  const requests = h("input", { type: "number", min: 1, max: 4294967295, step: 1, inputmode: "numeric", value: initial?.rateLimit?.requests ?? 1000 });
  const windowSel = h("select", null);
  const windows = [...WINDOWS];
  const w0 = initial?.rateLimit?.windowSeconds;
  if (w0 && !windows.some(([s]) => s === w0)) windows.push([w0, `${w0} seconds`]);
  for (const [s, label] of windows) windowSel.append(h("option", { value: s, selected: s === (w0 ?? 60) }, label));
  const limitRow = h("div", { class: "inline-fields" }, field("Requests", requests), field("Per", windowSel));
  const syncLimit = () => (limitRow.hidden = !limited.checked);
  limited.addEventListener("change", syncLimit);
  syncLimit();
  const rate = h("fieldset", { class: "fieldset" }, h("legend", null, "Rate limit"), h("label", { class: "check", for: limited.id }, limited, "Limit requests per window"), limitRow);

  const expires = h("input", { type: "datetime-local", value: toLocalInput(initial?.expiresAt) });
  const expiry = field("Expires (optional)", expires, "Leave empty for a key that never expires. Your local time zone.");

  const cidrs = h("textarea", { id: nextId("cidrs"), rows: 3, spellcheck: "false", autocomplete: "off", placeholder: "203.0.113.0/24\n2001:db8::/32" });
  cidrs.value = (initial?.allowedCidrs ?? []).join("\n");
  const allowlist = field("Allowed client addresses (optional)", cidrs, "IPv4 or IPv6 CIDRs or addresses, one per line (at most 100). Empty: any address. Validations must then send the client's address.");

  const credits = creditsControls(initial?.credits);

  const read = (): KeyFields => {
    const n = name.value.trim();
    if (!n) throw new Error("Give the key a name.");
    let rateLimit: KeyFields["rateLimit"];
    if (limited.checked) {
      const r = Number(requests.value);
      if (!Number.isInteger(r) || r < 1) throw new Error("The rate limit needs a whole number of requests, at least 1.");
      rateLimit = { requests: r, windowSeconds: Number(windowSel.value) };
    }
    const checked = Array.from(scopes.querySelectorAll<HTMLInputElement>("input[type=checkbox]:checked")).map((b) => b.value);
    const allowedCidrs = cidrs.value.split(/[\s,]+/).filter(Boolean);
    return { name: n, scopes: checked, rateLimit, expiresAt: fromLocalInput(expires.value), allowedCidrs, credits: credits.read(), creditsChanged: credits.changed() };
  };
  return { controls: [field("Name", name), scopes, rate, credits.fieldset, expiry, allowlist], read, focus: () => name.focus() };
}

function formDialog(title: string, submitLabel: string, initial: ApiKey | undefined, submit: (f: KeyFields, m: Modal) => Promise<void>) {
  openModal(
    title,
    (m) => {
      const c = keyFormControls(m, initial);
      const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
      const ok = h("button", { type: "submit", class: "btn btn-primary" }, submitLabel);
      const form = h(
        "form",
        { class: "form", method: "dialog", novalidate: true },
        c.controls,
        errors,
        h("div", { class: "dialog-actions" }, h("button", { type: "button", class: "btn", onclick: () => m.close() }, "Cancel"), ok),
      );
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        void busy(ok, () => submit(c.read(), m), errors);
      });
      queueMicrotask(c.focus);
      return form;
    },
    { wide: true },
  );
}

/** The form still opens with the scopes known so far, and says why the list may be stale. */
const loadScopes = () => refreshScopes().catch((err) => toast(`Could not load the defined scopes: ${errorText(err)}`, "error"));

export async function createKeyDialog(orgId: string, created: () => void): Promise<void> {
  await loadScopes();
  formDialog(`Create a key for ${orgId}`, "Create key", undefined, async (f, m) => {
    const res = await api.createApiKey({ orgId, name: f.name, scopes: f.scopes, rateLimit: f.rateLimit, expiresAt: f.expiresAt, allowedCidrs: f.allowedCidrs, credits: f.credits });
    m.close();
    created();
    showSecret("Key created", res.apiKey!, res.secret);
  });
}

const sameLimit = (a: RateLimit | undefined, b: KeyFields["rateLimit"]) => (!a && !b) || (!!a && !!b && a.requests === b.requests && a.windowSeconds === b.windowSeconds);
const sameTime = (a: Timestamp | undefined, b: Timestamp | undefined) => (!a && !b) || (!!a && !!b && a.seconds === b.seconds);

export async function editKeyDialog(key: ApiKey, saved: (k: ApiKey) => void): Promise<void> {
  await loadScopes();
  formDialog(`Edit ${key.name}`, "Save changes", key, async (f, m) => {
    const paths: string[] = [];
    if (f.name !== key.name) paths.push("name");
    if ([...f.scopes].sort().join() !== [...key.scopes].sort().join()) paths.push("scopes");
    if (!sameLimit(key.rateLimit, f.rateLimit)) paths.push("rate_limit");
    // datetime-local has minute precision: an untouched expiry must not count as a change.
    if (!sameTime(fromLocalInput(toLocalInput(key.expiresAt)), f.expiresAt)) paths.push("expires_at");
    if (f.allowedCidrs.join() !== key.allowedCidrs.join()) paths.push("allowed_cidrs");
    if (f.creditsChanged) paths.push("credits"); // sets the balance anew: sent only when the person changed it
    if (paths.length === 0) {
      m.close();
      toast("Nothing changed.");
      return;
    }
    const res = await api.updateApiKey({
      apiKey: { id: key.id, name: f.name, scopes: f.scopes, rateLimit: f.rateLimit, expiresAt: f.expiresAt, allowedCidrs: f.allowedCidrs, credits: f.credits },
      updateMask: { paths },
    });
    m.close();
    toast(`Saved ${res.apiKey!.name}: ${describeChange(paths, res.apiKey!)}.`);
    saved(res.apiKey!);
  });
}

function describeChange(paths: string[], k: ApiKey): string {
  const words: Record<string, string> = { name: "name", scopes: "scopes", rate_limit: `rate limit (${fmtRateLimit(k.rateLimit)})`, expires_at: "expiry", allowed_cidrs: "allowed addresses", credits: `credits (${fmtCredits(k.credits)})` };
  return paths.map((p) => words[p] ?? p).join(", ");
}
