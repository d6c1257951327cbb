// A tiny DOM toolkit: element builder (text only, never HTML strings), toasts, and modal dialogs on <dialog>,
// which gives focus trapping, Escape to close and a proper modal role for free.
import { errorText } from "./errors.js";

type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | ((ev: never) => void);
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.slice(2), value as EventListener);
    else if (name === "class") el.className = String(value);
    else if (name === "value" && "value" in el) (el as HTMLInputElement).value = String(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function mount(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let uid = 0;
export const nextId = (prefix: string) => `${prefix}-${++uid}`;

/** A labelled form field: the label is always tied to its control. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  control.id ||= nextId("f");
  const hintEl = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
}

// ---- toasts -------------------------------------------------------------------------------------------------

function toastRegion(): HTMLElement {
  return document.getElementById("toasts") ?? document.body.appendChild(h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" }));
}

export function toast(message: string, kind: "ok" | "error" = "ok"): void {
  const t = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null }, message);
  const region = toastRegion();
  region.appendChild(t);
  while (region.childElementCount > 3) region.firstElementChild!.remove();
  setTimeout(() => t.remove(), kind === "error" ? 9000 : 4000);
}

export function alertBox(message: string, detail?: string): HTMLElement {
  return h("div", { class: "alert", role: "alert" }, h("strong", null, message), detail ? h("span", null, ` ${detail}`) : null);
}

// ---- dialogs ------------------------------------------------------------------------------------------------

export interface Modal {
  dialog: HTMLDialogElement;
  body: HTMLElement;
  close(): void;
}

/** Opens a modal dialog; it removes itself from the DOM when closed, taking anything it showed with it. */
export function openModal(title: string, build: (m: Modal) => Child, opts: { wide?: boolean; onClose?: () => void } = {}): Modal {
  const titleId = nextId("dlg");
  const body = h("div", { class: "dialog-body" });
  const dialog = h(
    "dialog",
    { class: opts.wide ? "dialog dialog-wide" : "dialog", "aria-labelledby": titleId },
    h("header", { class: "dialog-head" }, h("h2", { id: titleId }, title)),
    body,
  );
  // Removed at once on close (not on the later "close" event), so whatever it showed leaves the DOM immediately.
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    dialog.remove();
    opts.onClose?.();
  };
  dialog.addEventListener("close", finish); // Escape
  const m: Modal = {
    dialog,
    body,
    close: () => {
      dialog.close();
      finish();
    },
  };
  append(body, [build(m)]);
  document.body.appendChild(dialog);
  dialog.showModal();
  return m;
}

/** Closes every dialog and drops every toast: used on sign-out so nothing of the session stays on screen. */
export function clearOverlays(): void {
  for (const d of Array.from(document.querySelectorAll("dialog"))) {
    d.close();
    d.remove();
  }
  document.getElementById("toasts")?.remove();
}

/** Runs an async action from a button: disables it meanwhile and reports failure in `errorSlot` (or a toast). */
export async function busy<T>(button: HTMLButtonElement | null, action: () => Promise<T>, errorSlot?: HTMLElement): Promise<T | undefined> {
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  if (errorSlot) errorSlot.replaceChildren();
  try {
    return await action();
  } catch (err) {
    console.warn(err);
    if (errorSlot) errorSlot.replaceChildren(alertBox(errorText(err)));
    else toast(errorText(err), "error");
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}

/** Asks before a consequential action; resolves true only when the person confirmed. */
export function confirmAction(opts: { title: string; message: Child; confirm: string; danger?: boolean; extra?: HTMLElement }): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    openModal(
      opts.title,
      (m) => {
        const ok = h("button", { type: "button", class: opts.danger ? "btn btn-danger" : "btn btn-primary", onclick: () => ((answered = true), m.close()) }, opts.confirm);
        const cancel = h("button", { type: "button", class: "btn", onclick: () => m.close() }, "Cancel");
        queueMicrotask(() => cancel.focus());
        return [h("div", { class: "confirm-text" }, opts.message), opts.extra ?? null, h("div", { class: "dialog-actions" }, cancel, ok)];
      },
      { onClose: () => resolve(answered) },
    );
  });
}
