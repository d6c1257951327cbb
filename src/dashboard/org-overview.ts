// The organisation overview: usage of all the organisation's keys rolled up (requests, errors, error rate), a chart
// per hour (24 h) or day (30 days) by outcome (usage-chart.ts), the outcome breakdown, and the top keys by traffic
// and by error rate, each linking to its key's page.
import type { GetOrganizationUsageResponse, KeyUsageSummary } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { getOrgUsage } from "./api.js";
import { navigate } from "./app.js";
import { alertBox, busy, h, mount, nextId } from "./dom.js";
import { describeError, errorText } from "./errors.js";
import { fmtCount, fmtPercent, outcomeLabel } from "./format.js";

type Granularity = "HOUR" | "DAY";
let granularity: Granularity = "DAY";
let disposeChart: (() => void) | undefined;

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
        disposeChart?.();
        mount(body, alertBox(`Could not load the overview. ${p.message}`, p.detail));
      } finally {
        body.removeAttribute("aria-busy");
      }
    });
  mount(
    panel,
    h("div", { class: "section-head" }, h("h2", { id: "overview-title" }, "Overview"), h("div", { class: "section-tools" }, rangePicker(() => void load()), refresh)),
    body,
  );
  refresh.addEventListener("click", () => void load());
  await load();
}

function rangePicker(changed: () => void): HTMLElement {
  const name = nextId("org-range");
  const option = (value: Granularity, label: string) => {
    const id = `${name}-${value}`;
    const input = h("input", { type: "radio", name, id, value, checked: granularity === value });
    input.addEventListener("change", () => {
      granularity = value;
      changed();
    });
    return [input, h("label", { for: id }, label)];
  };
  return h("fieldset", { class: "segmented" }, h("legend", { class: "visually-hidden" }, "Overview range"), option("HOUR", "24 hours"), option("DAY", "30 days"));
}

function renderBody(body: HTMLElement, u: GetOrganizationUsageResponse) {
  const range = granularity === "HOUR" ? "Last 24 hours" : "Last 30 days";
  const stat = (label: string, value: string, testId: string, tone = "") =>
    h("div", { class: `stat ${tone}`, "data-stat": testId }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), h("div", { class: "stat-sub" }, range));
  const tone = u.errorRate >= 0.2 ? "stat-bad" : u.errorRate > 0 ? "stat-warn" : "";
  const chart = h("div", { class: "chart", id: "org-chart" });
  mount(
    body,
    h("div", { class: "stats" }, stat("Requests", fmtCount(u.requests), "org-requests"), stat("Errors", fmtCount(u.errors), "org-errors"), stat("Error rate", fmtPercent(u.errorRate), "org-error-rate", tone)),
    h("figure", { class: "chart-figure" }, h("figcaption", { class: "chart-caption" }, granularity === "HOUR" ? "Requests per hour of all keys" : "Requests per day of all keys"), chart),
    outcomes(u),
    h(
      "div",
      { class: "top-keys" },
      topTable("Top keys by requests", "top-by-requests", u.topKeysByRequests, "No validations in this range yet."),
      topTable("Top keys by error rate", "top-by-error-rate", u.topKeysByErrorRate, "No key with at least 10 validations had errors in this range."),
    ),
  );
  disposeChart?.();
  disposeChart = undefined;
  import("./usage-chart.js")
    .then(({ drawUsageChart }) => {
      if (chart.isConnected) disposeChart = drawUsageChart(chart, u.series, granularity);
    })
    .catch((err) => mount(chart, alertBox(`The chart could not be drawn. ${errorText(err)}`)));
}

function outcomes(u: GetOrganizationUsageResponse): HTMLElement {
  const total = Number(u.requests);
  if (total === 0) return h("p", { class: "muted small" }, "No validations of this organisation's keys in this range.");
  const rows = [...u.outcomes].sort((a, b) => Number(b.count - a.count));
  return h(
    "table",
    { class: "outcomes", id: "org-outcomes" },
    h("caption", null, "Outcomes"),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Outcome"), h("th", { scope: "col" }, "Requests"), h("th", { scope: "col" }, "Share"))),
    h(
      "tbody",
      null,
      rows.map((o) =>
        h(
          "tr",
          { "data-outcome": Outcome[o.outcome] },
          h("th", { scope: "row" }, h("span", { class: `dot dot-${o.outcome === Outcome.VALID ? "valid" : o.outcome === Outcome.RATE_LIMITED ? "limited" : o.outcome === Outcome.USAGE_EXCEEDED ? "credits" : "error"}` }), outcomeLabel(o.outcome)),
          h("td", { class: "num" }, fmtCount(o.count)),
          h("td", { class: "num" }, fmtPercent(Number(o.count) / total)),
        ),
      ),
    ),
  );
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
