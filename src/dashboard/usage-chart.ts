// The usage chart: uPlot stacked bars per hour or day, valid at the bottom, rate limited, out of credits, then other
// errors.
// Stacking is done here (uPlot draws cumulative series clipped by bands); the legend shows the real counts,
// per bucket under the cursor and range totals otherwise.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { UsageBucket } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { fmtCount } from "./format.js";

export const SERIES_COLORS = { valid: "#16a34a", rateLimited: "#f59e0b", usageExceeded: "#7c3aed", otherErrors: "#dc2626" };

const HOUR_S = 3600;
const DAY_S = 86400;

export function drawUsageChart(container: HTMLElement, buckets: UsageBucket[], granularity: "HOUR" | "DAY"): () => void {
  const step = granularity === "HOUR" ? HOUR_S : DAY_S;
  const xs = buckets.map((b) => Number(b.startTime?.seconds ?? 0n));
  const raw = [
    xs,
    buckets.map((b) => Number(b.valid)),
    buckets.map((b) => Number(b.rateLimited)),
    buckets.map((b) => Number(b.usageExceeded)),
    buckets.map((b) => Number(b.otherErrors)),
  ];
  const totals = raw.map((s) => s.reduce((a, v) => a + v, 0));
  const stacked: number[][] = [xs];
  for (let si = 1; si < raw.length; si++) stacked.push(raw[si]!.map((v, i) => v + (si > 1 ? stacked[si - 1]![i]! : 0)));
  const peak = Math.max(1, ...stacked[raw.length - 1]!);

  const bars = uPlot.paths.bars!({ size: [0.72, 48], gap: 1 });
  const value = (si: number) => (_u: uPlot, _v: number | null, _s: number, idx: number | null) => fmtCount(idx == null ? totals[si]! : raw[si]![idx]!);
  const series = (label: string, color: string, si: number): uPlot.Series => ({
    label,
    stroke: color,
    fill: color,
    width: 0,
    paths: bars,
    points: { show: false },
    value: value(si),
  });
  const dateFmt = new Intl.DateTimeFormat(undefined, granularity === "HOUR" ? { weekday: "short", hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric" });
  const axis: uPlot.Axis = { stroke: "#64748b", grid: { stroke: "#e2e8f0", width: 1 }, ticks: { stroke: "#e2e8f0", width: 1, size: 4 }, font: "12px system-ui, sans-serif" };

  const opts: uPlot.Options = {
    width: Math.max(280, container.clientWidth),
    height: container.clientWidth < 520 ? 220 : 280,
    padding: [12, 8, 0, 4],
    cursor: { points: { show: false }, drag: { x: false, y: false, setScale: false } },
    select: { show: false, left: 0, top: 0, width: 0, height: 0 },
    legend: { live: true },
    scales: {
      x: { time: true, range: () => [(xs[0] ?? 0) - step * 0.75, (xs[xs.length - 1] ?? step) + step * 0.75] },
      y: { range: () => [0, niceCeil(peak * 1.1)] },
    },
    axes: [
      { ...axis, space: granularity === "HOUR" ? 70 : 60 },
      { ...axis, size: 48, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6, 1e7], values: (_u, splits) => splits.map((v) => fmtCount(v)) },
    ],
    series: [
      // Names the bucket under the cursor; away from the chart, the legend shows totals for the whole range.
      { label: "", value: (_u, v, _s, idx) => (idx == null || v == null ? (granularity === "HOUR" ? "Last 24 hours:" : "Last 30 days:") : `${dateFmt.format(new Date(v * 1000))}:`) },
      series("Valid", SERIES_COLORS.valid, 1),
      series("Rate limited", SERIES_COLORS.rateLimited, 2),
      series("Out of credits", SERIES_COLORS.usageExceeded, 3),
      series("Other errors", SERIES_COLORS.otherErrors, 4),
    ],
    // Each band clips the upper series' fill to the strip above the one below it: stacked bars.
    bands: [
      { series: [2, 1], fill: SERIES_COLORS.rateLimited },
      { series: [3, 2], fill: SERIES_COLORS.usageExceeded },
      { series: [4, 3], fill: SERIES_COLORS.otherErrors },
    ],
  };

  container.replaceChildren();
  container.dataset.buckets = String(xs.length);
  container.dataset.total = String(totals[1]! + totals[2]! + totals[3]! + totals[4]!);
  container.setAttribute("role", "img");
  container.setAttribute(
    "aria-label",
    `Stacked bar chart of requests per ${granularity === "HOUR" ? "hour" : "day"}: ${totals[1]} valid, ${totals[2]} rate limited, ${totals[3] ? `${totals[3]} out of credits, ` : ""}${totals[4]} other errors.`,
  );
  const plot = new uPlot(opts, stacked as uPlot.AlignedData, container);
  if (container.dataset.total === "0") container.append(emptyNote());

  // Follow the container's width (1280 px desktop down to 390 px phones).
  let lastWidth = container.clientWidth;
  const ro = new ResizeObserver(() => {
    const w = container.clientWidth;
    if (w > 0 && Math.abs(w - lastWidth) > 2) {
      lastWidth = w;
      plot.setSize({ width: Math.max(280, w), height: w < 520 ? 220 : 280 });
    }
  });
  ro.observe(container);
  return () => {
    ro.disconnect();
    plot.destroy();
  };
}

function niceCeil(v: number): number {
  if (v <= 5) return Math.max(1, Math.ceil(v));
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return m * mag;
  return 10 * mag;
}

function emptyNote(): HTMLElement {
  const p = document.createElement("p");
  p.className = "chart-empty";
  p.textContent = "No requests in this range yet.";
  return p;
}
