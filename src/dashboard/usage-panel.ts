// A key's usage: this period's requests, errors, error rate and last use, the outcome breakdown, and a chart
// of requests per hour (last 24 h) or per day (last 30 days) split by outcome. Refresh re-reads the server.
import type { ApiKey } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import type { GetApiKeyUsageResponse } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { getUsage } from "./api.js";
import { alertBox, busy, h, mount } from "./dom.js";
import { describeError } from "./errors.js";
import { fmtCount, fmtDate, fmtDay, fmtPercent, fmtRelative } from "./format.js";
import { unusedScopesHint } from "./unused-scopes-hint.js";
import { chartSlot, errorRateTone, type Granularity, outcomeTable, rangePicker, statCard } from "./usage-parts.js";

let granularity: Granularity = "HOUR";
const usageChart = chartSlot();

/** `changed`: called with the key after the panel changed it (removing unused scopes); absent for revoked keys. */
export async function renderUsagePanel(panel: HTMLElement, key: ApiKey, changed?: (k: ApiKey) => void): Promise<void> {
  const refresh = h("button", { type: "button", class: "btn btn-ghost", id: "refresh-usage" }, "Refresh");
  const range = rangePicker("range", "Chart range", granularity, (g) => {
    granularity = g;
    void load();
  });
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
        usageChart.dispose();
        mount(body, alertBox(`Could not load usage. ${p.message}`, p.detail));
      } finally {
        body.removeAttribute("aria-busy");
      }
    });
  refresh.addEventListener("click", () => void load());
  await load();
}

function renderBody(body: HTMLElement, u: GetApiKeyUsageResponse) {
  const since = `Since ${fmtDay(u.periodStart)}`;
  const errTone = errorRateTone(u.errorRate);
  const chart = h("div", { class: "chart", id: "usage-chart" });
  const totals = sumSeries(u);
  mount(
    body,
    h(
      "div",
      { class: "stats" },
      statCard("Requests this period", fmtCount(u.requestsCurrentPeriod), since, "requests"),
      statCard("Errors", fmtCount(u.errorsCurrentPeriod), "Not VALID", "errors"),
      statCard("Error rate", fmtPercent(u.errorRate), "Errors ÷ requests", "error-rate", errTone),
      statCard("Last used", u.lastUsedAt ? fmtRelative(u.lastUsedAt) : "Never", u.lastUsedAt ? fmtDate(u.lastUsedAt) : "No valid request yet", "last-used"),
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
    outcomeTable(u.outcomes, Number(u.requestsCurrentPeriod), { caption: "Outcomes this period", empty: "No validations of this key this period yet." }),
  );
  usageChart.draw(chart, u.series, granularity);
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
