// "API Keys settings": the permission scopes keys may carry. Define (or redescribe) and delete scopes.
import type { Scope } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { api } from "./api.js";
import { refreshScopes, state } from "./app.js";
import { alertBox, busy, confirmAction, field, h, mount, toast } from "./dom.js";
import { describeError } from "./errors.js";
import { fmtDate } from "./format.js";

const SCOPE_PATTERN = "[A-Za-z0-9._:\\-/*]{1,100}";

export async function renderScopesView(main: HTMLElement): Promise<void> {
  const list = h("div", { class: "scopes-list", "aria-live": "polite" }, h("p", { class: "muted loading" }, "Loading scopes…"));
  mount(
    main,
    h(
      "div",
      { class: "settings-page" },
      h("div", { class: "page-head" }, h("div", null, h("h1", { tabindex: "-1" }, "API Keys settings"), h("p", { class: "sub" }, "Scopes map to operations in your app. A key can only carry scopes defined here."))),
      h("div", { class: "settings-grid" }, defineForm(list), h("section", { class: "card", "aria-labelledby": "scopes-title" }, h("h2", { id: "scopes-title" }, "Defined scopes"), list)),
    ),
  );
  await reload(list);
}

async function reload(list: HTMLElement) {
  try {
    renderList(list, await refreshScopes());
  } catch (err) {
    const p = describeError(err);
    mount(list, alertBox(p.message, p.detail));
  }
}

function defineForm(list: HTMLElement): HTMLElement {
  const name = h("input", { type: "text", required: true, maxlength: 100, pattern: SCOPE_PATTERN, autocomplete: "off", spellcheck: "false", placeholder: "data:read" });
  const description = h("input", { type: "text", maxlength: 500, autocomplete: "off", placeholder: "Read data through the API" });
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Define scope");
  const form = h(
    "form",
    { class: "card form", "aria-labelledby": "define-title", novalidate: true },
    h("h2", { id: "define-title" }, "Define a scope"),
    field("Scope name", name, "Letters, digits and . _ : - / *, up to 100 characters, e.g. data:read or webhooks:write."),
    field("Description (optional)", description, "Shown next to the scope when choosing scopes for a key."),
    errors,
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void busy(
      submit,
      async () => {
        const n = name.value.trim();
        if (!n) throw new Error("Give the scope a name.");
        const existed = state.scopes.some((s) => s.name === n);
        await api.defineScope({ scope: { name: n, description: description.value.trim() } });
        toast(existed ? `Updated the description of ${n}.` : `Defined scope ${n}.`);
        name.value = "";
        description.value = "";
        await reload(list);
        name.focus();
      },
      errors,
    );
  });
  return form;
}

function renderList(list: HTMLElement, scopes: Scope[]) {
  if (scopes.length === 0) {
    return mount(list, h("p", { class: "empty small" }, "No scopes yet. Define the first one, e.g. data:read."));
  }
  mount(
    list,
    h(
      "table",
      { class: "scopes-table" },
      h("caption", { class: "visually-hidden" }, "Defined scopes"),
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Scope"), h("th", { scope: "col" }, "Description"), h("th", { scope: "col" }, "Defined"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h(
        "tbody",
        null,
        scopes.map((s) =>
          h(
            "tr",
            { "data-scope": s.name },
            h("th", { scope: "row", "data-label": "Scope" }, h("code", { class: "chip" }, s.name)),
            h("td", { "data-label": "Description" }, s.description || h("span", { class: "muted" }, "—")),
            h("td", { "data-label": "Defined" }, fmtDate(s.createdAt)),
            h("td", { class: "row-actions" }, deleteButton(s, list)),
          ),
        ),
      ),
    ),
  );
}

function deleteButton(s: Scope, list: HTMLElement): HTMLElement {
  const b = h("button", { type: "button", class: "btn btn-small btn-danger-outline", "aria-label": `Delete scope ${s.name}` }, "Delete");
  b.addEventListener("click", async () => {
    const ok = await confirmAction({
      title: `Delete scope ${s.name}?`,
      message: "Keys can no longer be given this scope. The server refuses if a live key still carries it.",
      confirm: "Delete scope",
      danger: true,
    });
    if (!ok) return;
    const done = await busy(b, async () => {
      await api.deleteScope({ name: s.name });
      return true;
    });
    if (done) {
      toast(`Deleted scope ${s.name}.`);
      await reload(list);
    }
  });
  return b;
}
