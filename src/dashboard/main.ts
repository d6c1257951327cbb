// Entry point: wires the views to the shell and starts signed out. The admin key lives only in api.ts's memory,
// so reloading the tab signs out by design.
import { configure, navigate, signOut } from "./app.js";
import { session } from "./api.js";
import { errorText } from "./errors.js";
import { renderKeyPage } from "./key-page.js";
import { renderKeysView } from "./keys-view.js";
import { renderScopesView } from "./scopes-view.js";
import { renderSignIn } from "./sign-in.js";
import { renderWebhooksView } from "./webhooks-view.js";

configure({
  view(route, main) {
    if (route.view === "settings") return renderScopesView(main);
    if (route.view === "webhooks") return renderWebhooksView(main);
    if (route.view === "key") return renderKeyPage(main, route.id);
    return renderKeysView(main);
  },
  signedOut: (message) => renderSignIn(document.getElementById("app")!, message, () => navigate({ view: "keys" })),
});

session.onLost((err) => signOut(`You were signed out: ${errorText(err)}`));
signOut();
