// The keys list: pick an organisation (from the keys the admin key can see, or by typing its id), then page
// through its keys with this period's request count for each visible key.
import type { ApiKey } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import type { GetApiKeyUsageResponse } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { listKeys, listOrgs, type OrgSummary, usageForKeys } from "./api.js";
import { navigate, state } from "./app.js";
import { alertBox, busy, field, h, mount } from "./dom.js";
import { describeError, errorText } from "./errors.js";
import { fmtCount, fmtRateLimit, scopeChips, stateBadge, timeCell } from "./format.js";
import { createKeyDialog } from "./key-form.js";
import { renderActivity, tabs } from "./activity-panel.js";
import { renderOrgOverview } from "./org-overview.js";
import { renderOrgPolicy } from "./org-policy.js";

let orgsCache: OrgSummary[] | undefined;

export async function renderKeysView(main: HTMLElement): Promise<void> {
  const rail = h("aside", { class: "org-rail", "aria-labelledby": "orgs-title" });
  const content = h("section", { class: "content", "aria-labelledby": "keys-title" });
  mount(main, h("div", { class: "keys-layout" }, rail, content));
  renderContentHead(content);
  await renderRail(rail, content, true);
  if (state.orgId) await renderKeys(content);
  else renderNoOrg(content);
}

async function renderRail(rail: HTMLElement, content: HTMLElement, reload = false) {
  const orgInput = h("input", { type: "text", placeholder: "org_…", autocomplete: "off", spellcheck: "false", id: "org-id-input" });
  const open = h("button", { type: "submit", class: "btn" }, "Open");
  const form = h("form", { class: "org-open" }, field("Organisation ID", orgInput), open);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = orgInput.value.trim();
    if (!id) return orgInput.focus();
    void chooseOrg(id, rail, content);
  });
  const list = h("ul", { class: "org-list", "aria-label": "Organisations with keys" }, h("li", { class: "muted" }, "Loading…"));
  mount(rail, h("h2", { id: "orgs-title", class: "rail-title" }, "Organisations"), form, list);
  try {
    if (reload || !orgsCache) orgsCache = await listOrgs();
  } catch (err) {
    mount(list, h("li", null, alertBox(errorText(err))));
    return;
  }
  const orgs = [...orgsCache];
  if (state.orgId && !orgs.some((o) => o.orgId === state.orgId)) orgs.unshift({ orgId: state.orgId, keys: 0 });
  if (!state.orgId && orgs[0]) state.orgId = orgs[0].orgId;
  if (orgs.length === 0) return mount(list, h("li", { class: "muted small" }, "No keys yet. Type an organisation ID above to create its first key."));
  mount(
    list,
    orgs.map((o) =>
      h(
        "li",
        null,
        h(
          "button",
          { type: "button", class: "org-item", "aria-current": o.orgId === state.orgId ? "true" : null, onclick: () => chooseOrg(o.orgId, rail, content) },
          h("span", { class: "org-name" }, o.orgId),
          h("span", { class: "count", "aria-label": `${o.keys} keys` }, String(o.keys)),
        ),
      ),
    ),
  );
}

async function chooseOrg(orgId: string, rail: HTMLElement, content: HTMLElement) {
  state.orgId = orgId;
  pageTokens = [""];
  await renderRail(rail, content);
  await renderKeys(content);
}

function renderContentHead(content: HTMLElement) {
  mount(content, h("div", { class: "page-head" }, h("div", null, h("h1", { id: "keys-title", tabindex: "-1" }, "API keys"))));
}

function renderNoOrg(content: HTMLElement) {
  content.append(h("div", { class: "empty" }, h("h2", null, "Choose an organisation"), h("p", null, "Pick one on the left, or type an organisation ID to see its keys or create its first one.")));
}

/** Page tokens of the pages seen so far: index 0 is the first page. */
let pageTokens = [""];

export async function renderKeys(content: HTMLElement, page = pageTokens.length - 1): Promise<void> {
  const orgId = state.orgId!;
  const focusedId = document.activeElement?.id;
  const create = h("button", { type: "button", class: "btn btn-primary", onclick: () => createKeyDialog(orgId, () => void refreshAll(content)) }, "Create key");
  const revoked = h("input", { type: "checkbox", id: "show-revoked", checked: state.includeRevoked });
  revoked.addEventListener("change", () => {
    state.includeRevoked = revoked.checked;
    pageTokens = [""];
    void renderKeys(content, 0);
  });
  const refresh = h("button", { type: "button", class: "btn btn-ghost", id: "refresh-keys", onclick: () => refreshAll(content) }, "Refresh");
  const body = h("div", { class: "keys-body", "aria-live": "polite", "aria-busy": "true" }, h("p", { class: "muted loading" }, "Loading keys…"));
  const orgActivity = h("section", { class: "activity" });
  const overview = h("section", { class: "org-overview" });
  const policy = h("section", { class: "org-policy" });
  mount(
    content,
    h(
      "div",
      { class: "page-head" },
      h("div", null, h("h1", { id: "keys-title", tabindex: "-1" }, "API keys"), h("p", { class: "sub" }, "Organisation ", h("code", { class: "org-code" }, orgId))),
      create,
    ),
    tabs(`Organisation ${orgId}`, [
      { label: "Keys", panel: h("div", null, h("div", { class: "toolbar" }, h("label", { class: "check" }, revoked, "Show revoked keys"), refresh), body) },
      { label: "Overview", panel: overview, onFirstShow: () => void renderOrgOverview(overview, orgId) },
      { label: "Policy", panel: policy, onFirstShow: () => void renderOrgPolicy(policy, orgId) },
      { label: "Activity", panel: orgActivity, onFirstShow: () => void renderActivity(orgActivity, { orgId }) },
    ]),
  );
  // Re-rendering replaced the focused control: put focus back on its twin (or the heading), never on <body>.
  if (document.activeElement === document.body || !document.activeElement) {
    (document.getElementById(focusedId || "keys-title") ?? document.getElementById("keys-title"))?.focus({ preventScroll: true });
  }

  let keys: ApiKey[];
  let next: string;
  try {
    ({ keys, nextPageToken: next } = await listKeys(orgId, pageTokens[page] ?? "", state.includeRevoked));
  } catch (err) {
    const p = describeError(err);
    body.removeAttribute("aria-busy");
    return mount(body, alertBox(p.message, p.detail));
  }
  pageTokens = pageTokens.slice(0, page + 1);
  if (next) pageTokens.push(next);
  const usage = await usageForKeys(keys.map((k) => k.id));
  body.removeAttribute("aria-busy");
  if (keys.length === 0) {
    return mount(body, h("div", { class: "empty" }, h("h2", null, "No keys here yet"), h("p", null, "Create a key for this organisation: its secret is shown once, right after creation.")));
  }
  const pager = h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", class: "btn", disabled: page === 0, onclick: () => renderKeys(content, page - 1) }, "Previous"),
    h("span", { class: "muted" }, `Page ${page + 1}`),
    h("button", { type: "button", class: "btn", disabled: !next, onclick: () => renderKeys(content, page + 1) }, "Next"),
  );
  mount(body, keyTable(keys, usage), page > 0 || next ? pager : null);
}

async function refreshAll(content: HTMLElement) {
  const rail = content.parentElement?.querySelector<HTMLElement>(".org-rail");
  await busy(null, async () => {
    if (rail) await renderRail(rail, content, true);
    await renderKeys(content);
  });
}

const COLUMNS = ["Name", "Scopes", "Rate limit", "Expires", "State", "Created", "Last used", "Requests this period"];

function keyTable(keys: ApiKey[], usage: Map<string, GetApiKeyUsageResponse | Error>): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "keys-table" },
      h("caption", { class: "visually-hidden" }, "API keys of this organisation"),
      h("thead", null, h("tr", null, COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, keys.map((k) => keyRow(k, usage.get(k.id)))),
    ),
  );
}

function keyRow(k: ApiKey, u: GetApiKeyUsageResponse | Error | undefined): HTMLElement {
  const td = (label: string, ...children: (Node | string)[]) => h("td", { "data-label": label }, ...children);
  const usageCell =
    u instanceof Error
      ? h("span", { class: "error-text", title: errorText(u) }, "Unavailable")
      : u
        ? h("span", { class: "num" }, fmtCount(u.requestsCurrentPeriod))
        : h("span", { class: "muted" }, "—");
  return h(
    "tr",
    { "data-key-id": k.id },
    h(
      "th",
      { scope: "row", "data-label": "Name" },
      h("button", { type: "button", class: "link key-name", onclick: () => navigate({ view: "key", id: k.id }) }, k.name),
      h("code", { class: "hint-code" }, k.displayHint),
    ),
    td("Scopes", scopeChips(k.scopes)),
    td("Rate limit", fmtRateLimit(k.rateLimit)),
    td("Expires", timeCell(k.expiresAt, "Never")),
    td("State", stateBadge(k)),
    td("Created", timeCell(k.createdAt, "—")),
    td("Last used", u && !(u instanceof Error) ? timeCell(u.lastUsedAt, "Never") : h("span", { class: "muted" }, "—")),
    td("Requests this period", usageCell),
  );
}
