// The credits controls shared by the key form and the organisation policy editor: a balance, and an optional
// refill (to an amount, every N hours/days or on a day of the month). `read()` returns undefined when metering is
// off, and `changed()` says whether the person touched them (an edit sends "credits" only then: the live balance
// moves with traffic, so re-sending the shown one would reset it).
import type { Credits } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { field, h, nextId } from "./dom.js";

export interface CreditsInit {
  remaining: bigint;
  refill?: { amount: bigint; schedule: { case: "intervalSeconds"; value: number } | { case: "dayOfMonth"; value: number } };
}

const EVERY: [number, string][] = [
  [3600, "hour"],
  [86_400, "day"],
  [604_800, "week"],
  [2_592_000, "30 days"],
];

export function creditsControls(initial: Credits | undefined, legend = "Credits") {
  let touched = false;
  const on = h("input", { type: "checkbox", id: nextId("credits"), checked: !!initial });
  const balance = h("input", { type: "number", min: 0, step: 1, inputmode: "numeric", name: "credits-balance", value: String(initial?.remaining ?? 1000n) });
  const r0 = initial?.refill;
  const refillKind = h("select", { name: "credits-refill" });
  for (const [v, label] of [["none", "Never refills"], ["interval", "Refills every…"], ["day", "Refills monthly on day…"]]) {
    const selected = v === (!r0 ? "none" : r0.schedule.case === "dayOfMonth" ? "day" : "interval");
    refillKind.append(h("option", { value: v, selected }, label));
  }
  const amount = h("input", { type: "number", min: 1, step: 1, inputmode: "numeric", name: "credits-amount", value: String(r0?.amount ?? initial?.remaining ?? 1000n) });
  const every = h("select", { name: "credits-every" });
  const i0 = r0?.schedule.case === "intervalSeconds" ? r0.schedule.value : 2_592_000;
  const options = [...EVERY];
  if (!options.some(([s]) => s === i0)) options.push([i0, `${i0} seconds`]);
  for (const [s, label] of options) every.append(h("option", { value: s, selected: s === i0 }, label));
  const day = h("input", { type: "number", min: 1, max: 31, step: 1, name: "credits-day", value: String(r0?.schedule.case === "dayOfMonth" ? r0.schedule.value : 1) });
  const amountRow = field("Refill to", amount);
  const everyRow = field("Every", every);
  const dayRow = field("Day of month (UTC)", day, "31 means the last day of shorter months.");
  const rows = h("div", null, h("div", { class: "inline-fields" }, field("Balance", balance), field("Refill", refillKind)), h("div", { class: "inline-fields" }, amountRow, everyRow, dayRow));
  const sync = () => {
    rows.hidden = !on.checked;
    amountRow.hidden = refillKind.value === "none";
    everyRow.hidden = refillKind.value !== "interval";
    dayRow.hidden = refillKind.value !== "day";
  };
  for (const el of [on, balance, refillKind, amount, every, day]) {
    el.addEventListener("change", () => ((touched = true), sync()));
    el.addEventListener("input", () => (touched = true));
  }
  sync();
  const fieldset = h(
    "fieldset",
    { class: "fieldset credits" },
    h("legend", null, legend),
    h("label", { class: "check", for: on.id }, on, "Meter validations with credits"),
    rows,
  );

  const whole = (el: HTMLInputElement, what: string, min: number): bigint => {
    if (!/^\d+$/.test(el.value.trim()) || BigInt(el.value.trim()) < BigInt(min)) throw new Error(`${what} needs a whole number, at least ${min}.`);
    return BigInt(el.value.trim());
  };
  const read = (): CreditsInit | undefined => {
    if (!on.checked) return undefined;
    const out: CreditsInit = { remaining: whole(balance, "The balance", 0) };
    if (refillKind.value === "interval") out.refill = { amount: whole(amount, "The refill amount", 1), schedule: { case: "intervalSeconds", value: Number(every.value) } };
    if (refillKind.value === "day") {
      const d = Number(whole(day, "The day of the month", 1));
      if (d > 31) throw new Error("The day of the month is 1–31.");
      out.refill = { amount: whole(amount, "The refill amount", 1), schedule: { case: "dayOfMonth", value: d } };
    }
    return out;
  };
  return { fieldset, read, changed: () => touched };
}
