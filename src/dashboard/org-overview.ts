// The organisation overview: usage of all the organisation's keys rolled up (requests, errors, error rate), a chart
// per hour (24 h) or day (30 days) by outcome (usage-chart.ts), the outcome breakdown, and the top keys by traffic
// and by error rate, each linking to its key's page.
import type { GetOrganizationUsageResponse, KeyUsageSummary } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { getOrgUsage } from "./api.js";
import { navigate } from "./app.js";
import { alertBox, busy, h, mount } from "./dom.js";
import { describeError } from "./errors.js";
import { fmtCount, fmtPercent } from "./format.js";
import { chartSlot, errorRateTone, type Granularity, outcomeTable, rangePicker, statCard } from "./usage-parts.js";

let granularity: Granularity = "DAY";
const orgChart = chartSlot();

export async function renderOrgOverview(panel: HTMLElement, orgId: string): Promise<void> {
  const refresh = h("button", { type: "button", class: "btn btn-ghost", id: "refresh-overview" }, "Refresh");
  const body = h("div", { class: "usage-body", "aria-live": "polite" }, h("p", { class: "muted loading" }, "Loading the overview…"));
  const load = () =>
    busy(refresh, async () => {
      body.setAttribute("aria-busy", "true");
      try {
        renderBody(body, await getOrgUsage(orgId, granularity));
      } catch (err) {
        const p = describeError(err);
        orgChart.dispose();
        mount(body, alertBox(`Could not load the overview. ${p.message}`, p.detail));
      } finally {
        body.removeAttribute("aria-busy");
      }
    });
  const range = rangePicker("org-range", "Overview range", granularity, (g) => {
    granularity = g;
    void load();
  });
  mount(
    panel,
    h("div", { class: "section-head" }, h("h2", { id: "overview-title" }, "Overview"), h("div", { class: "section-tools" }, range, refresh)),
    body,
  );
  refresh.addEventListener("click", () => void load());
  await load();
}

function renderBody(body: HTMLElement, u: GetOrganizationUsageResponse) {
  const range = granularity === "HOUR" ? "Last 24 hours" : "Last 30 days";
  const stat = (label: string, value: string, testId: string, tone = "") => statCard(label, value, range, testId, tone);
  const tone = errorRateTone(u.errorRate);
  const chart = h("div", { class: "chart", id: "org-chart" });
  mount(
    body,
    h("div", { class: "stats" }, stat("Requests", fmtCount(u.requests), "org-requests"), stat("Errors", fmtCount(u.errors), "org-errors"), stat("Error rate", fmtPercent(u.errorRate), "org-error-rate", tone)),
    h("figure", { class: "chart-figure" }, h("figcaption", { class: "chart-caption" }, granularity === "HOUR" ? "Requests per hour of all keys" : "Requests per day of all keys"), chart),
    outcomeTable(u.outcomes, Number(u.requests), { caption: "Outcomes", empty: "No validations of this organisation's keys in this range.", id: "org-outcomes" }),
    h(
      "div",
      { class: "top-keys" },
      topTable("Top keys by requests", "top-by-requests", u.topKeysByRequests, "No validations in this range yet."),
      topTable("Top keys by error rate", "top-by-error-rate", u.topKeysByErrorRate, "No key with at least 10 validations had errors in this range."),
    ),
  );
  orgChart.draw(chart, u.series, granularity);
}

function topTable(title: string, id: string, keys: KeyUsageSummary[], empty: string): HTMLElement {
  if (keys.length === 0) return h("section", { class: "top-list", id }, h("h3", null, title), h("p", { class: "muted small" }, empty));
  return h(
    "section",
    { class: "top-list", id },
    h("h3", null, title),
    h(
      "table",
      { class: "outcomes" },
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Key"), h("th", { scope: "col" }, "Requests"), h("th", { scope: "col" }, "Errors"), h("th", { scope: "col" }, "Error rate"))),
      h(
        "tbody",
        null,
        keys.map((k) =>
          h(
            "tr",
            { "data-key-id": k.keyId },
            h("th", { scope: "row" }, h("button", { type: "button", class: "link", onclick: () => navigate({ view: "key", id: k.keyId }) }, k.name || k.keyId)),
            h("td", { class: "num" }, fmtCount(k.requests)),
            h("td", { class: "num" }, fmtCount(k.errors)),
            h("td", { class: "num" }, fmtPercent(k.errorRate)),
          ),
        ),
      ),
    ),
  );
}
