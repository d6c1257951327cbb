// The "Leaked" marker of a key page: when a secret scanner reported the key's secret in public (an
// API_KEY_LEAK_REPORTED event in its audit trail), a badge beside its state and a note saying where and when.
import { AuditAction, type AuditEvent } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { listAudit } from "./api.js";
import { h, mount } from "./dom.js";
import { fmtDate } from "./format.js";

/** The key's latest changes looked at: a revoked key changes no more, so its report is among the newest. */
const EVENTS_LOOKED_AT = 200;

const DONE: Record<string, string> = {
  revoke: "The report revoked the key.",
  disable: "The report disabled the key.",
  report: "The key was left as it was (FLUX_LEAK_ACTION=report): rotate or revoke it.",
};

/** Empty slots, filled once the key's audit trail shows a leak report (and left empty if it cannot be read). */
export function leakMarker(keyId: string): { badge: HTMLElement; notice: HTMLElement } {
  const badge = h("span", { class: "leak-slot" });
  const notice = h("div", { class: "leak-slot" });
  void listAudit({ targetId: keyId, pageSize: EVENTS_LOOKED_AT, pageToken: "" }).then(
    (res) => {
      const report = res.events.find((e) => e.action === AuditAction.API_KEY_LEAK_REPORTED);
      if (!report) return;
      mount(badge, h("span", { class: "badge badge-bad", "data-leaked": "true", title: "A secret scanner found this key's secret in public" }, "Leaked"));
      mount(notice, h("p", { class: "warning leak-notice", role: "note" }, ...describe(report)));
    },
    () => {}, // a validate-only admin key may not read the audit log: no marker, nothing else to do
  );
  return { badge, notice };
}

function describe(e: AuditEvent): (Node | string)[] {
  const after = (e.after ?? {}) as Record<string, unknown>;
  const text = (k: string) => (typeof after[k] === "string" ? (after[k] as string) : "");
  const where = text("url");
  const out: (Node | string)[] = [h("strong", null, "Leaked. "), `A secret scanner reported this key's secret in public on ${fmtDate(e.time)}`];
  if (text("source")) out.push(` (${text("source")})`);
  // Shown as text, never as a link: the address came from outside.
  if (where) out.push(": ", h("code", { class: "leak-url" }, where));
  out.push(". ", DONE[text("action")] ?? "");
  return out;
}
