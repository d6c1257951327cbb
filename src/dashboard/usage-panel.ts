// A key's usage: this period's requests, errors, error rate and last use, the outcome breakdown, and a chart
// of requests per hour (last 24 h) or per day (last 30 days) split by outcome. Refresh re-reads the server.
import type { ApiKey } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import type { GetApiKeyUsageResponse } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { getUsage } from "./api.js";
import { alertBox, busy, h, mount, nextId } from "./dom.js";
import { describeError, errorText } from "./errors.js";
import { fmtCount, fmtDate, fmtDay, fmtPercent, fmtRelative, outcomeLabel } from "./format.js";
import { unusedScopesHint } from "./unused-scopes-hint.js";

type Granularity = "HOUR" | "DAY";
let granularity: Granularity = "HOUR";
let disposeChart: (() => void) | undefined;

/** `changed`: called with the key after the panel changed it (removing unused scopes); absent for revoked keys. */
export async function renderUsagePanel(panel: HTMLElement, key: ApiKey, changed?: (k: ApiKey) => void): Promise<void> {
  const refresh = h("button", { type: "button", class: "btn btn-ghost", id: "refresh-usage" }, "Refresh");
  const range = rangePicker(() => void load());
  const body = h("div", { class: "usage-body", "aria-live": "polite" }, h("p", { class: "muted loading" }, "Loading usage…"));
  mount(
    panel,
    h("div", { class: "section-head" }, h("h2", { id: "usage-title" }, "Usage"), h("div", { class: "section-tools" }, range, refresh)),
    body,
  );

  const load = () =>
    busy(refresh, async () => {
      body.setAttribute("aria-busy", "true");
      try {
        const usage = await getUsage(key.id, granularity);
        renderBody(body, usage);
        if (changed) body.append(unusedScopesHint(key, usage, changed));
      } catch (err) {
        const p = describeError(err);
        disposeChart?.();
        mount(body, alertBox(`Could not load usage. ${p.message}`, p.detail));
      } finally {
        body.removeAttribute("aria-busy");
      }
    });
  refresh.addEventListener("click", () => void load());
  await load();
}

function rangePicker(changed: () => void): HTMLElement {
  const name = nextId("range");
  const option = (value: Granularity, label: string) => {
    const id = `${name}-${value}`;
    const input = h("input", { type: "radio", name, id, value, checked: granularity === value });
    input.addEventListener("change", () => {
      granularity = value;
      changed();
    });
    return [input, h("label", { for: id }, label)];
  };
  return h(
    "fieldset",
    { class: "segmented" },
    h("legend", { class: "visually-hidden" }, "Chart range"),
    option("HOUR", "24 hours"),
    option("DAY", "30 days"),
  );
}

function renderBody(body: HTMLElement, u: GetApiKeyUsageResponse) {
  const since = `Since ${fmtDay(u.periodStart)}`;
  const stat = (label: string, value: string, sub: string, testId: string, tone = "") =>
    h("div", { class: `stat ${tone}`, "data-stat": testId }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), h("div", { class: "stat-sub" }, sub));
  const errTone = u.errorRate >= 0.2 ? "stat-bad" : u.errorRate > 0 ? "stat-warn" : "";
  const chart = h("div", { class: "chart", id: "usage-chart" });
  const totals = sumSeries(u);
  mount(
    body,
    h(
      "div",
      { class: "stats" },
      stat("Requests this period", fmtCount(u.requestsCurrentPeriod), since, "requests"),
      stat("Errors", fmtCount(u.errorsCurrentPeriod), "Not VALID", "errors"),
      stat("Error rate", fmtPercent(u.errorRate), "Errors ÷ requests", "error-rate", errTone),
      stat("Last used", u.lastUsedAt ? fmtRelative(u.lastUsedAt) : "Never", u.lastUsedAt ? fmtDate(u.lastUsedAt) : "No valid request yet", "last-used"),
    ),
    h(
      "figure",
      { class: "chart-figure" },
      h("figcaption", { class: "chart-caption" }, granularity === "HOUR" ? "Requests per hour, last 24 hours" : "Requests per day, last 30 days"),
      chart,
      h(
        "p",
        { class: "chart-summary", id: "chart-summary", "data-total": totals.requests },
        `In this range: ${fmtCount(totals.requests)} requests — ${fmtCount(totals.valid)} valid, ${fmtCount(totals.rateLimited)} rate limited, ${totals.usageExceeded ? `${fmtCount(totals.usageExceeded)} out of credits, ` : ""}${fmtCount(totals.otherErrors)} other errors.`,
      ),
    ),
    outcomes(u),
  );
  disposeChart?.();
  disposeChart = undefined;
  // uPlot loads with the first chart, keeping it out of the sign-in and keys-list bundle.
  import("./usage-chart.js")
    .then(({ drawUsageChart }) => {
      if (chart.isConnected) disposeChart = drawUsageChart(chart, u.series, granularity);
    })
    .catch((err) => mount(chart, alertBox(`The chart could not be drawn. ${errorText(err)}`)));
}

function sumSeries(u: GetApiKeyUsageResponse) {
  const t = { requests: 0, valid: 0, rateLimited: 0, usageExceeded: 0, otherErrors: 0 };
  for (const b of u.series) {
    t.requests += Number(b.requests);
    t.valid += Number(b.valid);
    t.rateLimited += Number(b.rateLimited);
    t.usageExceeded += Number(b.usageExceeded);
    t.otherErrors += Number(b.otherErrors);
  }
  return t;
}

function outcomes(u: GetApiKeyUsageResponse): HTMLElement {
  const total = Number(u.requestsCurrentPeriod);
  if (total === 0) return h("p", { class: "muted small" }, "No validations of this key this period yet.");
  const rows = [...u.outcomes].sort((a, b) => Number(b.count - a.count));
  return h(
    "table",
    { class: "outcomes" },
    h("caption", null, "Outcomes this period"),
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
