// How values read on screen: dates, rate limits, counts, key states. Pure functions, no DOM beyond badges.
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type ApiKey, type Credits, KeyState, type RateLimit } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { h } from "./dom.js";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const integer = new Intl.NumberFormat();
const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });

export const fmtCount = (n: bigint | number): string => integer.format(n);
export const fmtPercent = (x: number): string => percent.format(x);

export function fmtDate(t: Timestamp | undefined, empty = "—"): string {
  return t ? dateTime.format(timestampDate(t)) : empty;
}

export function fmtDay(t: Timestamp | undefined, empty = "—"): string {
  return t ? dateOnly.format(timestampDate(t)) : empty;
}

/** "3 hours ago", "in 2 days": for last-used and expiry columns, with the exact time in a tooltip. */
export function fmtRelative(t: Timestamp | undefined, nowMs = Date.now()): string {
  if (!t) return "";
  const diffS = (timestampDate(t).getTime() - nowMs) / 1000;
  const abs = Math.abs(diffS);
  const [value, unit]: [number, Intl.RelativeTimeFormatUnit] =
    abs < 60 ? [diffS, "second"] : abs < 3600 ? [diffS / 60, "minute"] : abs < 86400 ? [diffS / 3600, "hour"] : abs < 86400 * 60 ? [diffS / 86400, "day"] : [diffS / (86400 * 30), "month"];
  return abs < 10 ? "just now" : relative.format(Math.round(value), unit);
}

/** A time cell: relative text, absolute time on hover and for screen readers. */
export function timeCell(t: Timestamp | undefined, empty: string): HTMLElement {
  if (!t) return h("span", { class: "muted" }, empty);
  const d = timestampDate(t);
  return h("time", { datetime: d.toISOString(), title: fmtDate(t) }, fmtRelative(t));
}

const WINDOWS: [number, string][] = [
  [86400, "day"],
  [3600, "hour"],
  [60, "minute"],
  [1, "second"],
];

export function fmtRateLimit(r: RateLimit | undefined): string {
  if (!r) return "Unlimited";
  for (const [s, unit] of WINDOWS) {
    if (r.windowSeconds === s) return `${fmtCount(r.requests)} / ${unit}`;
  }
  for (const [s, unit] of WINDOWS) {
    if (r.windowSeconds % s === 0) return `${fmtCount(r.requests)} / ${r.windowSeconds / s} ${unit}s`;
  }
  return `${fmtCount(r.requests)} / ${r.windowSeconds} s`;
}

/** "1,234 left · refills to 5,000 every day", "Unmetered". */
export function fmtCredits(c: Credits | undefined): string {
  if (!c) return "Unmetered";
  const left = `${fmtCount(c.remaining)} left`;
  const r = c.refill;
  if (!r) return `${left} · never refills`;
  if (r.schedule.case === "dayOfMonth") return `${left} · refills to ${fmtCount(r.amount)} on day ${r.schedule.value} of each month (UTC)`;
  const s = r.schedule.value ?? 0;
  const unit = WINDOWS.find(([w]) => s % w === 0) ?? [1, "second"];
  const n = s / unit[0];
  return `${left} · refills to ${fmtCount(r.amount)} every ${n === 1 ? unit[1] : `${n} ${unit[1]}s`}`;
}

const STATE_LABEL: Record<KeyState, [string, string]> = {
  [KeyState.UNSPECIFIED]: ["Unknown", "neutral"],
  [KeyState.ACTIVE]: ["Active", "ok"],
  [KeyState.DISABLED]: ["Disabled", "warn"],
  [KeyState.REVOKED]: ["Revoked", "bad"],
  [KeyState.EXPIRED]: ["Expired", "neutral"],
};

export const stateLabel = (s: KeyState): string => STATE_LABEL[s]?.[0] ?? "Unknown";

export function stateBadge(k: ApiKey): HTMLElement {
  const [label, tone] = STATE_LABEL[k.state] ?? STATE_LABEL[KeyState.UNSPECIFIED];
  return h("span", { class: `badge badge-${tone}`, "data-state": label.toLowerCase() }, label);
}

export function scopeChips(scopes: string[]): HTMLElement {
  if (scopes.length === 0) return h("span", { class: "muted" }, "No scopes");
  return h("span", { class: "chips" }, scopes.map((s) => h("span", { class: "chip" }, s)));
}

const OUTCOME_LABEL: Record<Outcome, string> = {
  [Outcome.UNSPECIFIED]: "Unknown",
  [Outcome.VALID]: "Valid",
  [Outcome.NOT_FOUND]: "Not found",
  [Outcome.MALFORMED]: "Malformed",
  [Outcome.EXPIRED]: "Expired",
  [Outcome.REVOKED]: "Revoked",
  [Outcome.DISABLED]: "Disabled",
  [Outcome.RATE_LIMITED]: "Rate limited",
  [Outcome.INSUFFICIENT_SCOPE]: "Insufficient scope",
  [Outcome.USAGE_EXCEEDED]: "Out of credits",
  [Outcome.IP_NOT_ALLOWED]: "IP not allowed",
};
export const outcomeLabel = (o: Outcome): string => OUTCOME_LABEL[o] ?? "Unknown";

/** The value for <input type="datetime-local"> in the browser's time zone. */
export function toLocalInput(t: Timestamp | undefined): string {
  if (!t) return "";
  const d = timestampDate(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value: string): Timestamp | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error("The expiry date is not a valid date.");
  return timestampFromDate(d);
}
