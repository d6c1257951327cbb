// Shows a new secret exactly once, after create or rotate. The secret exists only inside this dialog: closing it
// removes the element, and nothing else in the page keeps a copy.
import type { ApiKey } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { h, openModal } from "./dom.js";

export function showSecret(title: string, key: ApiKey, secret: string, note?: string): void {
  openModal(
    title,
    (m) => {
      const value = h("code", { class: "secret-value", id: "secret-value", tabindex: "0", "aria-label": "Secret" }, secret);
      const status = h("span", { class: "copy-status", role: "status", "aria-live": "polite" });
      const copy = h("button", { type: "button", class: "btn btn-primary copy-btn" }, "Copy");
      copy.addEventListener("click", async () => {
        const ok = await copyText(secret, value);
        status.textContent = ok ? "Copied to the clipboard." : "Copy failed: select the secret and copy it by hand.";
        if (ok) copy.textContent = "Copied";
      });
      const done = h("button", { type: "button", class: "btn", onclick: () => m.close() }, "Done, I have stored it");
      queueMicrotask(() => copy.focus());
      return [
        h(
          "div",
          { class: "warning", role: "note" },
          h("strong", null, "Copy this secret now. "),
          "It is shown only this once: Flux stores only a digest, so it cannot be shown again. If it is lost, rotate the key to get a new one.",
        ),
        h(
          "p",
          { class: "secret-for" },
          "Secret for ",
          h("strong", null, key.name),
          " ",
          h("span", { class: "muted" }, `(${key.id}, ${key.orgId})`),
        ),
        h("div", { class: "secret-box" }, value, copy),
        status,
        note ? h("p", { class: "hint" }, note) : null,
        h("div", { class: "dialog-actions" }, done),
      ];
    },
    { wide: true },
  );
}

async function copyText(text: string, el: HTMLElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API unavailable (not a secure context, or permission denied): fall back to a selection copy.
    const range = document.createRange();
    range.selectNodeContents(el);
    const sel = getSelection();
    sel?.removeAllRanges();
    sel?.addRange(range);
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
}
