// The signed-in shell: top bar, navigation between the keys list, one key's page and the settings, and the
// little state they share (the chosen organisation, the defined scopes). Nothing here is persisted.
import type { Scope } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { listScopes, session } from "./api.js";
import { alertBox, clearOverlays, h, mount } from "./dom.js";
import { errorText } from "./errors.js";

export type Route = { view: "keys" } | { view: "key"; id: string } | { view: "settings" } | { view: "webhooks" };

export interface AppState {
  orgId?: string;
  scopes: Scope[];
  includeRevoked: boolean;
}

export const state: AppState = { scopes: [], includeRevoked: false };

type ViewRenderer = (route: Route, main: HTMLElement) => void | Promise<void>;
let renderView: ViewRenderer = () => {};
let renderSignedOut: (message?: string) => void = () => {};

export function configure(opts: { view: ViewRenderer; signedOut: (message?: string) => void }): void {
  renderView = opts.view;
  renderSignedOut = opts.signedOut;
}

export async function refreshScopes(): Promise<Scope[]> {
  state.scopes = await listScopes();
  return state.scopes;
}

/** Renders the shell once, then the view for the route into its main element. */
export function navigate(route: Route): void {
  const root = document.getElementById("app")!;
  let main = document.getElementById("main");
  if (!main || !root.querySelector(".topbar")) {
    main = h("main", { id: "main", class: "main", tabindex: "-1" });
    mount(root, h("a", { class: "skip-link", href: "#main" }, "Skip to content"), topbar(), main);
  }
  updateNav(route);
  main.replaceChildren();
  const failed = (err: unknown) => {
    console.error(err);
    main!.append(alertBox(`This page could not be shown. ${errorText(err)}`));
  };
  try {
    // Views draw their heading synchronously, so it exists for the focus move below.
    Promise.resolve(renderView(route, main)).catch(failed);
  } catch (err) {
    failed(err);
  }
  const heading = main.querySelector("h1");
  (heading ?? main).focus?.({ preventScroll: true });
  window.scrollTo({ top: 0 });
}

/** Forgets the admin key and everything fetched with it, and shows the sign-in form. */
export function signOut(message?: string): void {
  session.signOut();
  clearOverlays();
  state.orgId = undefined;
  state.scopes = [];
  state.includeRevoked = false;
  mount(document.getElementById("app")!);
  renderSignedOut(message);
}

function topbar(): HTMLElement {
  const link = (label: string, view: "keys" | "settings" | "webhooks") =>
    h("button", { type: "button", class: "nav-link", "data-view": view, onclick: () => navigate({ view }) }, label);
  return h(
    "header",
    { class: "topbar" },
    h(
      "div",
      { class: "topbar-inner" },
      h("div", { class: "brand" }, h("img", { src: "/favicon.svg", alt: "", width: 24, height: 24 }), h("span", null, "Flux ", h("span", { class: "brand-sub" }, "API Keys"))),
      h("nav", { class: "nav", "aria-label": "Main" }, link("Keys", "keys"), link("Webhooks", "webhooks"), link("Settings", "settings")),
      h("button", { type: "button", class: "btn btn-ghost sign-out", onclick: () => signOut("You signed out. The admin key was cleared from this tab.") }, "Sign out"),
    ),
  );
}

function updateNav(route: Route) {
  const active = route.view === "settings" || route.view === "webhooks" ? route.view : "keys";
  for (const b of Array.from(document.querySelectorAll<HTMLElement>(".nav-link"))) {
    if (b.dataset.view === active) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
}
