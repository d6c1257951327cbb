// The sign-in form: paste an admin key, checked against the server before it is kept (in memory only).
import { refreshScopes } from "./app.js";
import { session } from "./api.js";
import { busy, h, mount } from "./dom.js";

export function renderSignIn(root: HTMLElement, notice: string | undefined, signedIn: () => void): void {
  const keyInput = h("input", {
    id: "admin-key",
    type: "password",
    autocomplete: "off",
    autocapitalize: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "admin-key-hint",
  });
  const errors = h("div", { class: "form-errors", "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Sign in");

  // method=post and no name on the input: even if the script failed, the key could never land in a URL.
  const form = h(
    "form",
    { class: "signin-form", method: "post", action: "/", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "admin-key" }, "Admin key"), keyInput),
    h("p", { class: "hint", id: "admin-key-hint" }, "Kept in this tab's memory only: never stored, never put in the address bar. Closing or reloading the tab signs you out."),
    errors,
    submit,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const ok = await busy(
      submit,
      async () => {
        await session.signIn(keyInput.value);
        keyInput.value = "";
        await refreshScopes();
        return true;
      },
      errors,
    );
    if (ok) signedIn();
    else keyInput.focus();
  });

  mount(
    root,
    h(
      "main",
      { class: "signin", id: "main" },
      h(
        "section",
        { class: "signin-card", "aria-labelledby": "signin-title" },
        h("div", { class: "signin-brand" }, h("img", { src: "/favicon.svg", alt: "", width: 40, height: 40 })),
        h("h1", { id: "signin-title" }, "Sign in to Flux API Keys"),
        h("p", { class: "signin-lead" }, "Paste an admin key to manage API keys, scopes and usage."),
        notice ? h("div", { class: "notice", role: "status" }, notice) : null,
        form,
      ),
      h("p", { class: "signin-foot" }, "Start the server with FLUX_ADMIN_KEY set, or use the key it printed on first start."),
    ),
  );
  keyInput.focus();
}
