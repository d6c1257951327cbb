// The organisation's shared policy: one rate limit and one credit balance for all its keys, on top of each key's
// own. Shows the policy with the live balance, and edits it (only the parts changed are sent, named in update_mask).
import type { OrganizationPolicy } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { organizations } from "./api.js";
import { creditsControls } from "./credits-fields.js";
import { alertBox, busy, field, h, mount, openModal, toast } from "./dom.js";
import { describeError } from "./errors.js";
import { fmtCredits, fmtDate, fmtRateLimit } from "./format.js";

export async function renderOrgPolicy(panel: HTMLElement, orgId: string): Promise<void> {
  mount(panel, h("p", { class: "muted loading" }, "Loading the policy…"));
  let policy: OrganizationPolicy;
  try {
    policy = (await organizations.getOrganizationPolicy({ orgId })).policy!;
  } catch (err) {
    const p = describeError(err);
    return mount(panel, alertBox(`Could not load the policy. ${p.message}`, p.detail));
  }
  const row = (label: string, value: string) => [h("dt", null, label), h("dd", null, value)];
  const edit = h("button", { type: "button", class: "btn", id: "edit-policy", onclick: () => editPolicy(policy, () => void renderOrgPolicy(panel, orgId)) }, "Edit policy");
  mount(
    panel,
    h("div", { class: "section-head" }, h("h2", { id: "policy-title" }, "Shared policy"), h("div", { class: "section-tools" }, edit)),
    h("p", { class: "muted small" }, "Limits every key of this organisation shares, on top of each key's own: its many keys cannot multiply its budget."),
    h(
      "dl",
      { class: "details", id: "org-policy" },
      row("Shared rate limit", policy.rateLimit ? fmtRateLimit(policy.rateLimit) : "None"),
      row("Shared credits", fmtCredits(policy.credits)),
      row("Changed", fmtDate(policy.updatedAt, "Never")),
    ),
  );
}

function editPolicy(policy: OrganizationPolicy, saved: () => void): void {
  openModal(
    `Shared policy of ${policy.orgId}`,
    (m) => {
      const limited = h("input", { type: "checkbox", id: "policy-limited", checked: !!policy.rateLimit });
      const requests = h("input", { type: "number", min: 1, step: 1, name: "policy-requests", value: String(policy.rateLimit?.requests ?? 1000) });
      const windowSeconds = h("input", { type: "number", min: 1, step: 1, name: "policy-window", value: String(policy.rateLimit?.windowSeconds ?? 60) });
      const credits = creditsControls(policy.credits, "Shared credits");
      const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
      const ok = h("button", { type: "submit", class: "btn btn-primary" }, "Save policy");
      const form = h(
        "form",
        { class: "form", novalidate: true },
        h(
          "fieldset",
          { class: "fieldset" },
          h("legend", null, "Shared rate limit"),
          h("label", { class: "check", for: limited.id }, limited, "Limit requests of all keys together"),
          h("div", { class: "inline-fields" }, field("Requests", requests), field("Window (seconds)", windowSeconds)),
        ),
        credits.fieldset,
        errors,
        h("div", { class: "dialog-actions" }, h("button", { type: "button", class: "btn", onclick: () => m.close() }, "Cancel"), ok),
      );
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        void busy(
          ok,
          async () => {
            const rateLimit = limited.checked ? { requests: Number(requests.value), windowSeconds: Number(windowSeconds.value) } : undefined;
            if (rateLimit && (!Number.isInteger(rateLimit.requests) || rateLimit.requests < 1 || !Number.isInteger(rateLimit.windowSeconds) || rateLimit.windowSeconds < 1)) {
              throw new Error("The shared rate limit needs whole numbers, at least 1.");
            }
            const paths: string[] = [];
            const before = policy.rateLimit;
            if (!!before !== !!rateLimit || (before && rateLimit && (before.requests !== rateLimit.requests || before.windowSeconds !== rateLimit.windowSeconds))) paths.push("rate_limit");
            if (credits.changed()) paths.push("credits");
            if (paths.length === 0) return void (m.close(), toast("Nothing changed."));
            await organizations.updateOrganizationPolicy({ policy: { orgId: policy.orgId, rateLimit, credits: credits.read() }, updateMask: { paths } });
            m.close();
            toast(`Saved the shared policy of ${policy.orgId}.`);
            saved();
          },
          errors,
        );
      });
      return form;
    },
    { wide: true },
  );
}
