// The Webhooks page: endpoints (add, enable/disable, rotate the signing secret, delete) and each endpoint's delivery
// log. A signing secret exists only in the dialog that shows it once, after create or rotate.
import type { WebhookDelivery, WebhookEndpoint } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { WebhookDeliveryStatus } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { webhooks } from "./api.js";
import { alertBox, busy, confirmAction, field, h, mount, openModal, toast } from "./dom.js";
import { describeError } from "./errors.js";
import { fmtDate } from "./format.js";

const EVENT_TYPES = ["key.created", "key.rotated", "key.revoked", "key.disabled", "key.enabled", "key.expiring", "key.rate_limited", "credits.low", "credits.exhausted", "leak.reported"];

export async function renderWebhooksView(main: HTMLElement): Promise<void> {
  const list = h("div", { class: "webhooks-list", "aria-live": "polite" }, h("p", { class: "muted loading" }, "Loading endpoints…"));
  const log = h("section", { class: "card delivery-log", "aria-labelledby": "deliveries-title", hidden: true });
  mount(
    main,
    h(
      "div",
      { class: "settings-page" },
      h("div", { class: "page-head" }, h("div", null, h("h1", { tabindex: "-1" }, "Webhooks"), h("p", { class: "sub" }, "Signed POSTs (Standard Webhooks) to your endpoints when keys change."))),
      h("div", { class: "settings-grid" }, addForm(list, log), h("section", { class: "card", "aria-labelledby": "endpoints-title" }, h("h2", { id: "endpoints-title" }, "Endpoints"), list)),
      log,
    ),
  );
  await reload(list, log);
}

async function reload(list: HTMLElement, log: HTMLElement) {
  try {
    renderList(list, log, (await webhooks.listWebhookEndpoints({ pageSize: 1000 })).endpoints);
  } catch (err) {
    const p = describeError(err);
    mount(list, alertBox(p.message, p.detail));
  }
}

function addForm(list: HTMLElement, log: HTMLElement): HTMLElement {
  const url = h("input", { type: "url", required: true, maxlength: 2000, autocomplete: "off", spellcheck: "false", placeholder: "https://example.com/hooks/flux" });
  const org = h("input", { type: "text", maxlength: 128, autocomplete: "off", spellcheck: "false", placeholder: "acme" });
  const description = h("input", { type: "text", maxlength: 500, autocomplete: "off", placeholder: "Billing service" });
  const boxes = EVENT_TYPES.map((t) => h("input", { type: "checkbox", value: t, checked: t.startsWith("key.") && t !== "key.expiring" && t !== "key.rate_limited" }));
  const types = h(
    "fieldset",
    { class: "fieldset event-types" },
    h("legend", null, "Events"),
    EVENT_TYPES.map((t, i) => h("label", { class: "check" }, boxes[i]!, " ", h("code", null, t))),
  );
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Add endpoint");
  const form = h(
    "form",
    { class: "card form", "aria-labelledby": "add-endpoint-title", novalidate: true },
    h("h2", { id: "add-endpoint-title" }, "Add an endpoint"),
    field("Endpoint URL", url, "http:// or https://; private and loopback addresses are refused unless the server allows them."),
    field("Organisation (optional)", org, "Leave empty for every organisation's events (unrestricted admin keys only)."),
    types,
    field("Description (optional)", description),
    errors,
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void busy(
      submit,
      async () => {
        if (!url.value.trim()) throw new Error("Give the endpoint a URL.");
        const eventTypes = boxes.filter((b) => b.checked).map((b) => b.value);
        if (eventTypes.length === 0) throw new Error("Choose at least one event.");
        const res = await webhooks.createWebhookEndpoint({ endpoint: { url: url.value.trim(), orgId: org.value.trim(), eventTypes, description: description.value.trim() } });
        url.value = "";
        description.value = "";
        await reload(list, log);
        showSigningSecret("Endpoint added", res.endpoint!, res.secret);
      },
      errors,
    );
  });
  return form;
}

function renderList(list: HTMLElement, log: HTMLElement, endpoints: WebhookEndpoint[]) {
  if (endpoints.length === 0) return mount(list, h("p", { class: "empty small" }, "No endpoints yet. Add one to receive key events."));
  mount(
    list,
    h(
      "table",
      { class: "scopes-table webhooks-table" },
      h("caption", { class: "visually-hidden" }, "Webhook endpoints"),
      h("thead", null, h("tr", null, ...["Endpoint", "Organisation", "Events", "State"].map((c) => h("th", { scope: "col" }, c)), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h(
        "tbody",
        null,
        endpoints.map((e) =>
          h(
            "tr",
            { "data-endpoint": e.id },
            h("th", { scope: "row", "data-label": "Endpoint" }, h("code", { class: "endpoint-url" }, e.url), e.description ? h("div", { class: "muted small" }, e.description) : null),
            h("td", { "data-label": "Organisation" }, e.orgId || h("span", { class: "muted" }, "all")),
            h("td", { "data-label": "Events" }, e.eventTypes.map((t) => h("code", { class: "chip" }, t))),
            h("td", { "data-label": "State" }, e.enabled ? "Enabled" : "Disabled"),
            h("td", { class: "row-actions" }, actions(e, list, log)),
          ),
        ),
      ),
    ),
  );
}

function actions(e: WebhookEndpoint, list: HTMLElement, log: HTMLElement): HTMLElement[] {
  const button = (label: string, aria: string, onClick: (b: HTMLButtonElement) => void, cls = "btn btn-small") => {
    const b = h("button", { type: "button", class: cls, "aria-label": `${aria} ${e.url}` }, label);
    b.addEventListener("click", () => onClick(b));
    return b;
  };
  return [
    button("Deliveries", "Show deliveries of", () => void showDeliveries(e, log)),
    button(e.enabled ? "Disable" : "Enable", e.enabled ? "Disable" : "Enable", (b) =>
      void busy(b, async () => {
        await webhooks.updateWebhookEndpoint({ endpoint: { id: e.id, enabled: !e.enabled }, updateMask: { paths: ["enabled"] } });
        toast(`${e.enabled ? "Disabled" : "Enabled"} ${e.url}.`);
        await reload(list, log);
      }),
    ),
    button("Rotate secret", "Rotate the signing secret of", async (b) => {
      const keep = h("input", { type: "checkbox", checked: true });
      const ok = await confirmAction({
        title: "Rotate the signing secret?",
        message: "A new secret signs every delivery from now on. It is shown once.",
        confirm: "Rotate secret",
        extra: h("label", { class: "check" }, keep, " Keep the old secret signing too for 24 hours (two signatures per delivery)"),
      });
      if (!ok) return;
      const res = await busy(b, () => webhooks.rotateWebhookSecret({ id: e.id, gracePeriodSeconds: keep.checked ? 86_400 : 0 }));
      if (res) showSigningSecret("Signing secret rotated", res.endpoint!, res.secret);
    }),
    button("Delete", "Delete endpoint", async (b) => {
      const ok = await confirmAction({ title: "Delete this endpoint?", message: "Its queued deliveries are dropped and nothing more is sent to it.", confirm: "Delete endpoint", danger: true });
      if (!ok) return;
      const done = await busy(b, async () => (await webhooks.deleteWebhookEndpoint({ id: e.id }), true));
      if (done) {
        toast(`Deleted ${e.url}.`);
        log.hidden = true;
        await reload(list, log);
      }
    }, "btn btn-small btn-danger-outline"),
  ];
}

const STATUS: Record<number, string> = { [WebhookDeliveryStatus.PENDING]: "Pending", [WebhookDeliveryStatus.DELIVERED]: "Delivered", [WebhookDeliveryStatus.FAILED]: "Given up" };

async function showDeliveries(e: WebhookEndpoint, log: HTMLElement) {
  log.hidden = false;
  const body = h("div", { "aria-live": "polite" }, h("p", { class: "muted loading" }, "Loading deliveries…"));
  const refresh = h("button", { type: "button", class: "btn btn-small" }, "Refresh");
  mount(log, h("div", { class: "page-head" }, h("h2", { id: "deliveries-title" }, "Deliveries to ", h("code", null, e.url)), refresh), body);
  const load = async () => {
    try {
      const rows: WebhookDelivery[] = (await webhooks.listWebhookDeliveries({ endpointId: e.id, pageSize: 100 })).deliveries;
      if (rows.length === 0) return mount(body, h("p", { class: "empty small" }, "Nothing delivered yet."));
      mount(
        body,
        h(
          "table",
          { class: "scopes-table deliveries-table" },
          h("caption", { class: "visually-hidden" }, "Deliveries, newest first"),
          h("thead", null, h("tr", null, ...["Event", "Status", "Attempts", "Last answer", "Next attempt", "Happened"].map((c) => h("th", { scope: "col" }, c)))),
          h(
            "tbody",
            null,
            rows.map((d) =>
              h(
                "tr",
                { "data-event": d.eventId },
                h("th", { scope: "row", "data-label": "Event" }, h("code", { class: "chip" }, d.eventType), h("div", { class: "muted small" }, d.eventId)),
                h("td", { "data-label": "Status" }, STATUS[d.status] ?? "—"),
                h("td", { "data-label": "Attempts" }, String(d.attempts)),
                h("td", { "data-label": "Last answer" }, d.lastResponseCode ? `HTTP ${d.lastResponseCode}` : d.attempts ? "no answer" : "—", d.lastResponse ? h("div", { class: "muted small" }, d.lastResponse.slice(0, 200)) : null),
                h("td", { "data-label": "Next attempt" }, fmtDate(d.nextAttemptTime)),
                h("td", { "data-label": "Happened" }, fmtDate(d.eventTime)),
              ),
            ),
          ),
        ),
      );
    } catch (err) {
      const p = describeError(err);
      mount(body, alertBox(p.message, p.detail));
    }
  };
  refresh.addEventListener("click", () => void load());
  await load();
  log.scrollIntoView?.({ block: "nearest" });
}

function showSigningSecret(title: string, e: WebhookEndpoint, secret: string) {
  openModal(
    title,
    (m) => {
      const value = h("code", { class: "secret-value", id: "secret-value", tabindex: "0", "aria-label": "Signing secret" }, secret);
      const done = h("button", { type: "button", class: "btn", onclick: () => m.close() }, "Done, I have stored it");
      queueMicrotask(() => value.focus());
      return [
        h("div", { class: "warning", role: "note" }, h("strong", null, "Copy this signing secret now. "), "It is shown only this once. Your receiver verifies each delivery's webhook-signature with it."),
        h("p", { class: "secret-for" }, "Signing secret for ", h("strong", null, e.url)),
        h("div", { class: "secret-box" }, value),
        h("div", { class: "dialog-actions" }, done),
      ];
    },
    { wide: true },
  );
}
