// What a key's usage panel (usage-panel.ts) and the organisation overview (org-overview.ts) both draw: the
// 24 hours / 30 days switch, a stat card, the outcome table and the chart, so that the two views stay alike.
import type { OutcomeCount, UsageBucket } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { alertBox, h, mount, nextId } from "./dom.js";
import { errorText } from "./errors.js";
import { fmtCount, fmtPercent, outcomeLabel } from "./format.js";

export type Granularity = "HOUR" | "DAY";

/** Radio buttons for the range; `prefix` names the group (ids stay unique on the page), `picked` gets the choice. */
export function rangePicker(prefix: string, legend: string, current: Granularity, picked: (g: Granularity) => void): HTMLElement {
  const name = nextId(prefix);
  const option = (value: Granularity, label: string) => {
    const id = `${name}-${value}`;
    const input = h("input", { type: "radio", name, id, value, checked: current === value });
    input.addEventListener("change", () => picked(value));
    return [input, h("label", { for: id }, label)];
  };
  return h("fieldset", { class: "segmented" }, h("legend", { class: "visually-hidden" }, legend), option("HOUR", "24 hours"), option("DAY", "30 days"));
}

/** One figure with its label and a line under it; `testId` is the `data-stat` the tests and styles look for. */
export function statCard(label: string, value: string, sub: string, testId: string, tone = ""): HTMLElement {
  return h("div", { class: `stat ${tone}`, "data-stat": testId }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), h("div", { class: "stat-sub" }, sub));
}

/** Red from a fifth of requests failing, amber for any error. */
export const errorRateTone = (errorRate: number) => (errorRate >= 0.2 ? "stat-bad" : errorRate > 0 ? "stat-warn" : "");

/** The outcomes, most frequent first, with their share of `total`; `empty` stands in their place when there is none. */
export function outcomeTable(outcomes: OutcomeCount[], total: number, text: { caption: string; empty: string; id?: string }): HTMLElement {
  if (total === 0) return h("p", { class: "muted small" }, text.empty);
  const rows = [...outcomes].sort((a, b) => Number(b.count - a.count));
  return h(
    "table",
    { class: "outcomes", id: text.id },
    h("caption", null, text.caption),
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

/** A view's one chart at a time: `draw` disposes of the chart drawn before and draws into `el` once uPlot is loaded. */
export function chartSlot() {
  let dispose: (() => void) | undefined;
  return {
    dispose: () => dispose?.(),
    draw(el: HTMLElement, series: UsageBucket[], granularity: Granularity): void {
      dispose?.();
      dispose = undefined;
      // uPlot loads with the first chart, keeping it out of the sign-in and keys-list bundle.
      import("./usage-chart.js")
        .then(({ drawUsageChart }) => {
          if (el.isConnected) dispose = drawUsageChart(el, series, granularity);
        })
        .catch((err) => mount(el, alertBox(`The chart could not be drawn. ${errorText(err)}`)));
    },
  };
}
