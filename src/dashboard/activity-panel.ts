// Activity: the audit events of one key or one organisation, newest first, with who made each change, from where,
// and what it changed (before → after); "Load more" pages further back. Also the small tab strip that puts it
// beside a page's main panel (WAI-ARIA tabs: arrow keys move between tabs).
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { AuditAction, type AuditEvent } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { listAudit } from "./api.js";
import { alertBox, busy, h, mount, nextId } from "./dom.js";
import { describeError } from "./errors.js";
import { fmtDate } from "./format.js";

export interface ActivityFilter {
  orgId?: string;
  targetId?: string;
}

const ACTIONS: Record<AuditAction, string> = {
  [AuditAction.UNSPECIFIED]: "Changed",
  [AuditAction.API_KEY_CREATED]: "Key created",
  [AuditAction.API_KEY_ROTATED]: "Key rotated",
  [AuditAction.API_KEY_UPDATED]: "Key updated",
  [AuditAction.API_KEY_DISABLED]: "Key disabled",
  [AuditAction.API_KEY_ENABLED]: "Key enabled",
  [AuditAction.API_KEY_REVOKED]: "Key revoked",
  [AuditAction.SCOPE_DEFINED]: "Scope defined",
  [AuditAction.SCOPE_DELETED]: "Scope deleted",
  [AuditAction.ADMIN_KEY_CREATED]: "Admin key created",
  [AuditAction.ADMIN_KEY_REVOKED]: "Admin key revoked",
  [AuditAction.API_KEY_LEAK_REPORTED]: "Leak reported",
  [AuditAction.ORGANIZATION_POLICY_UPDATED]: "Organisation policy changed",
  [AuditAction.WEBHOOK_ENDPOINT_CREATED]: "Webhook created",
  [AuditAction.WEBHOOK_ENDPOINT_UPDATED]: "Webhook updated",
  [AuditAction.WEBHOOK_ENDPOINT_DELETED]: "Webhook deleted",
  [AuditAction.WEBHOOK_SECRET_ROTATED]: "Webhook secret rotated",
};

export async function renderActivity(panel: HTMLElement, filter: ActivityFilter): Promise<void> {
  const rows = h("tbody");
  const more = h("button", { type: "button", class: "btn", hidden: true }, "Load more");
  const body = h("div", { class: "activity-body", "aria-live": "polite" }, h("p", { class: "muted loading" }, "Loading activity…"));
  mount(panel, h("div", { class: "section-head" }, h("h2", null, "Activity")), body);
  let pageToken = "";
  const load = async () => {
    try {
      const res = await listAudit({ ...filter, pageSize: 25, pageToken });
      pageToken = res.nextPageToken;
      if (!rows.children.length && res.events.length === 0) return mount(body, h("p", { class: "muted" }, "No changes recorded yet."));
      rows.append(...res.events.map((e) => eventRow(e, !filter.targetId)));
      more.hidden = !pageToken;
      if (!body.contains(rows)) mount(body, table(rows), more);
    } catch (err) {
      const p = describeError(err);
      mount(body, alertBox(`Could not load activity. ${p.message}`, p.detail));
    }
  };
  more.addEventListener("click", () => void busy(more, load));
  await load();
}

function table(rows: HTMLElement): HTMLElement {
  const cols = ["When", "Change", "Object", "By", "What changed"];
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { class: "activity-table" }, h("caption", { class: "visually-hidden" }, "Recorded changes, newest first"),
      h("thead", null, h("tr", null, cols.map((c) => h("th", { scope: "col" }, c)))), rows),
  );
}

function eventRow(e: AuditEvent, showTarget: boolean): HTMLElement {
  const td = (label: string, ...children: (Node | string)[]) => h("td", { "data-label": label }, ...children);
  const by = h("span", null, h("code", null, e.actorAdminKeyId), e.callerAddress ? h("span", { class: "muted small" }, ` from ${e.callerAddress}`) : null);
  return h(
    "tr",
    { "data-event-id": e.id },
    td("When", fmtDate(e.time)),
    td("Change", ACTIONS[e.action] ?? "Changed"),
    td("Object", showTarget || e.targetId ? h("code", null, e.targetId) : ""),
    td("By", by),
    td("What changed", changes(e.before ?? {}, e.after ?? {}, e.updateMask)),
  );
}

function changes(before: JsonObject, after: JsonObject, mask: string[]): HTMLElement {
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((f) => f !== "updated_at");
  const list = h("ul", { class: "changes" }, fields.map((f) => h("li", null, h("strong", null, f), " ", show(before[f]), " → ", show(after[f]))));
  return h("div", null, mask.length ? h("p", { class: "muted small" }, `Mask: ${mask.join(", ")}`) : null, list);
}

const show = (v: JsonValue | undefined): string => (v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));

export interface Tab {
  label: string;
  panel: HTMLElement;
  /** Called the first time the tab is shown. */
  onFirstShow?: () => void;
}

/** A tab strip over panels; the first tab is shown. */
export function tabs(label: string, list: Tab[]): HTMLElement {
  const ids = list.map(() => nextId("tab"));
  const shown = new Set<number>();
  const buttons = list.map((t, i) =>
    h("button", { type: "button", role: "tab", id: ids[i]!, "aria-controls": `${ids[i]}-panel`, class: "tab" }, t.label),
  );
  const select = (i: number, focus = false) => {
    list.forEach((t, j) => {
      buttons[j]!.setAttribute("aria-selected", String(i === j));
      buttons[j]!.tabIndex = i === j ? 0 : -1;
      t.panel.hidden = i !== j;
    });
    if (focus) buttons[i]!.focus();
    if (!shown.has(i)) {
      shown.add(i);
      list[i]!.onFirstShow?.();
    }
  };
  buttons.forEach((b, i) => {
    b.addEventListener("click", () => select(i));
    b.addEventListener("keydown", (ev) => {
      const step = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
      if (step) select((i + step + list.length) % list.length, true);
    });
  });
  list.forEach((t, i) => {
    t.panel.id = `${ids[i]}-panel`;
    t.panel.setAttribute("role", "tabpanel");
    t.panel.setAttribute("aria-labelledby", ids[i]!);
  });
  const strip = h("div", { class: "tabs", role: "tablist", "aria-label": label }, buttons);
  const el = h("div", { class: "tabbed" }, strip, list.map((t) => t.panel));
  select(0);
  return el;
}
