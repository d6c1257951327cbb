// The dashboard end to end at 1280 px in headless Chromium against a real in-process server (MongoDB store):
// sign in, define scopes, create a key and read its secret once, watch usage follow gRPC validations, edit,
// disable, rotate and revoke — with no secret ever stored in the browser or put in a URL.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyState } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import type { Caller } from "../support/callers.js";
import { createKey, newOrg, validate } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { assertAccessibleLayout, assertNoSecretsAtRest, assertNothingLeaked, dashboardUrl,
  ensureDashboardBuilt, openOrganisation, openPage, screenshot, screenshotOf, tabTo, type watchPage } from "./browser.js";

let t: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: ReturnType<typeof watchPage>;
let grpc: Caller;
const secrets: string[] = [ADMIN_KEY];
const orgId = newOrg();
let keyId = "";
let secret = "";

beforeAll(async () => {
  await ensureDashboardBuilt();
  t = await startTestServer("mongodb", "dashboard-flow");
  grpc = t.callers.find((c) => c.name === "grpc")!;
  ({ browser, context, page, watch } = await openPage({ viewport: { width: 1280, height: 860 } }));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

const url = () => dashboardUrl(t);
const dialog = () => page.getByRole("dialog");
const stat = (name: string) => page.locator(`[data-stat="${name}"] .stat-value`);

describe("dashboard at 1280 px", { timeout: 60_000 }, () => {
  it("serves the page with a strict CSP and hashed, immutable assets", async () => {
    const res = await page.goto(url());
    expect(res!.status()).toBe(200);
    const headers = res!.headers();
    expect(headers["cache-control"]).toBe("no-store");
    expect(headers["content-security-policy"]).toMatch(/default-src 'self'.*connect-src 'self'/);
    const asset = await page.evaluate(() => document.querySelector<HTMLScriptElement>("script[type=module]")!.src);
    const assetRes = await fetch(asset);
    expect(assetRes.headers.get("cache-control")).toContain("immutable");
    expect(assetRes.headers.get("content-type")).toContain("text/javascript");
    await expect.poll(() => page.getByRole("heading", { name: "Sign in to Flux API Keys" }).isVisible()).toBe(true);
    await assertAccessibleLayout(page, 1280);
    await screenshot(page, "desktop-sign-in", false);
  });

  it("explains a rejected admin key, then signs in with the keyboard alone", async () => {
    await page.getByLabel("Admin key").fill("not-a-real-admin-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("did not accept this admin key");
    await screenshot(page, "desktop-sign-in-error", false);
    await page.getByLabel("Admin key").fill("");
    await page.getByLabel("Admin key").focus();
    await page.keyboard.type(ADMIN_KEY);
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    expect(await page.content()).not.toContain(ADMIN_KEY);
    await assertNoSecretsAtRest(page, context, secrets);
  });

  it("defines scopes in the settings, and reports a bad scope name readably", async () => {
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByRole("heading", { name: "API Keys settings" }).waitFor();
    for (const [name, description] of [
      ["data:read", "Read data through the API"],
      ["webhooks:write", "Manage webhook endpoints"],
      ["temp:scope", "Deleted again below"],
    ]) {
      await page.getByLabel("Scope name").fill(name!);
      await page.getByLabel("Description (optional)").fill(description!);
      await page.getByRole("button", { name: "Define scope" }).click();
      await page.locator(`tr[data-scope="${name}"]`).waitFor();
    }
    await page.getByLabel("Scope name").fill("bad scope!");
    await page.getByRole("button", { name: "Define scope" }).click();
    await expect.poll(() => page.locator("form .alert").textContent()).toMatch(/scope/i);
    await page.getByRole("button", { name: "Delete scope temp:scope" }).click();
    await dialog().getByRole("button", { name: "Delete scope" }).click();
    await page.locator('tr[data-scope="temp:scope"]').waitFor({ state: "detached" });
    await page.getByLabel("Scope name").fill("");
    await assertAccessibleLayout(page, 1280);
    await screenshot(page, "desktop-settings");
  });

  it("creates a key and shows its secret once, with a copy button and a warning", async () => {
    await page.getByRole("button", { name: "Keys", exact: true }).click();
    await openOrganisation(page, orgId);
    await page.getByText("No keys here yet").waitFor();
    await page.getByRole("button", { name: "Create key" }).click();
    await dialog().getByLabel("Name").fill("CI pipeline");
    await dialog().getByLabel(/data:read/).check();
    await dialog().getByLabel("Limit requests per window").check();
    await dialog().getByLabel("Requests", { exact: true }).fill("3");
    await dialog().getByLabel("Per", { exact: true }).selectOption("60");
    await assertAccessibleLayout(page, 1280);
    await screenshot(page, "desktop-create-key", false);
    await dialog().getByRole("button", { name: "Create key" }).click();

    await dialog().getByRole("heading", { name: "Key created" }).waitFor();
    secret = (await dialog().locator("#secret-value").textContent())!.trim();
    secrets.push(secret);
    expect(secret).toMatch(/^flux_[0-9A-Za-z]{20,}$/);
    expect(await dialog().textContent()).toContain("shown only this once");
    await dialog().getByRole("button", { name: "Copy" }).click();
    await expect.poll(() => dialog().getByRole("status").textContent()).toMatch(/Copied|Copy failed/);
    await screenshot(page, "desktop-secret-once", false);
    await dialog().getByRole("button", { name: /Done/ }).click();
    await page.locator("dialog").waitFor({ state: "detached" });
    expect(await page.content()).not.toContain(secret);

    const row = page.locator("tr", { hasText: "CI pipeline" });
    await row.waitFor();
    keyId = (await row.getAttribute("data-key-id"))!;
    expect(await row.textContent()).toContain(`flux_…${secret.slice(-4)}`);
    expect(await row.textContent()).toContain("3 / minute");
    await assertNoSecretsAtRest(page, context, secrets);
  });

  it("shows usage that follows validations made over gRPC", async () => {
    await tabTo(page, "CI pipeline");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "CI pipeline" }).waitFor();
    await expect.poll(() => stat("requests").textContent()).toBe("0");
    await expect.poll(() => page.locator("#usage-chart").getAttribute("data-total")).toBe("0");

    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push((await validate(grpc, secret)).outcome);
    expect(outcomes).toEqual([Outcome.VALID, Outcome.VALID, Outcome.VALID, Outcome.RATE_LIMITED, Outcome.RATE_LIMITED]);

    await page.getByRole("button", { name: "Refresh" }).click();
    await expect.poll(() => stat("requests").textContent()).toBe("5");
    expect(await stat("errors").textContent()).toBe("2");
    expect(await stat("error-rate").textContent()).toBe("40%");
    expect(await stat("last-used").textContent()).not.toBe("Never");
    await expect.poll(() => page.locator("#usage-chart").getAttribute("data-total")).toBe("5");
    expect(await page.locator("#usage-chart canvas").count()).toBe(1);
    expect(await page.locator("#chart-summary").textContent()).toContain("3 valid, 2 rate limited, 0 other errors");
    expect(await page.locator('tr[data-outcome="RATE_LIMITED"]').textContent()).toContain("2");
    await assertAccessibleLayout(page, 1280);
    await screenshot(page, "desktop-key-usage-hourly");
    await screenshotOf(page.locator(".chart-figure"), "desktop-usage-chart-hourly");

    await page.getByText("30 days").click();
    await expect.poll(() => page.locator("#usage-chart").getAttribute("data-buckets")).toBe("31");
    expect(await page.locator("#usage-chart").getAttribute("data-total")).toBe("5");
    await screenshot(page, "desktop-key-usage-daily");
  });

  it("edits scopes, rate limit and expiry with an update mask", async () => {
    await page.getByRole("button", { name: "Edit" }).click();
    await dialog().getByLabel(/webhooks:write/).check();
    await dialog().getByLabel("Requests", { exact: true }).fill("100");
    const inAMonth = new Date(Date.now() + 30 * 86_400_000);
    const pad = (n: number) => String(n).padStart(2, "0");
    await dialog().getByLabel("Expires (optional)").fill(`${inAMonth.getFullYear()}-${pad(inAMonth.getMonth() + 1)}-${pad(inAMonth.getDate())}T12:00`);
    await dialog().getByRole("button", { name: "Save changes" }).click();
    await dialog().waitFor({ state: "detached" });
    const { apiKey } = await grpc.call(ApiKeyService, "getApiKey", { id: keyId }, ADMIN_KEY);
    expect(apiKey!.scopes.sort()).toEqual(["data:read", "webhooks:write"]);
    expect(apiKey!.rateLimit).toMatchObject({ requests: 100, windowSeconds: 60 });
    expect(apiKey!.expiresAt).toBeDefined();
    expect(await page.locator(".details").textContent()).toContain("100 / minute");
  });

  it("reports a refused change readably: a scope still carried by a key cannot be deleted", async () => {
    await page.getByRole("button", { name: "Settings" }).click();
    await page.getByRole("button", { name: "Delete scope data:read" }).click();
    await dialog().getByRole("button", { name: "Delete scope" }).click();
    await expect.poll(() => page.locator(".toast-error").first().textContent()).toContain("still carried by at least one key");
    await page.getByRole("button", { name: "Keys", exact: true }).click();
    await page.getByRole("button", { name: "CI pipeline" }).click();
    await page.getByRole("heading", { name: "CI pipeline" }).waitFor();
  });

  it("disables and enables the key", async () => {
    await page.getByRole("button", { name: "Disable" }).click();
    await dialog().getByRole("button", { name: "Disable key" }).click();
    await page.locator('.badge[data-state="disabled"]').waitFor();
    expect((await validate(grpc, secret)).outcome).toBe(Outcome.DISABLED);
    await page.getByRole("button", { name: "Enable" }).click();
    await page.locator('.badge[data-state="active"]').waitFor();
    expect((await validate(grpc, secret)).outcome).toBe(Outcome.VALID);
  });

  it("rotates: the new secret is shown once and the old one stops working", async () => {
    await page.getByRole("button", { name: "Rotate" }).click();
    await dialog().getByLabel("The current secret should").selectOption("0");
    await dialog().getByRole("button", { name: "Rotate key" }).click();
    await dialog().getByRole("heading", { name: "Key rotated" }).waitFor();
    const rotated = (await dialog().locator("#secret-value").textContent())!.trim();
    secrets.push(rotated);
    expect(rotated).not.toBe(secret);
    await screenshot(page, "desktop-rotated-secret", false);
    await dialog().getByRole("button", { name: /Done/ }).click();
    expect((await validate(grpc, secret)).outcome).toBe(Outcome.NOT_FOUND);
    expect((await validate(grpc, rotated)).outcome).toBe(Outcome.VALID);
    secret = rotated;
  });

  it("revokes after confirmation, and the key then validates as REVOKED", async () => {
    await page.getByRole("button", { name: "Revoke" }).click();
    expect(await dialog().textContent()).toContain("cannot be undone");
    await dialog().getByRole("button", { name: "Revoke key" }).click();
    await page.locator('.badge[data-state="revoked"]').waitFor();
    expect(await page.getByRole("button", { name: "Rotate" }).isDisabled()).toBe(true);
    expect((await validate(grpc, secret)).outcome).toBe(Outcome.REVOKED);
    const { apiKey } = await grpc.call(ApiKeyService, "getApiKey", { id: keyId }, ADMIN_KEY);
    expect(apiKey!.state).toBe(KeyState.REVOKED);
    // 5 earlier + DISABLED + VALID + VALID (new secret) + REVOKED; the old secret's NOT_FOUND belongs to no key.
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect.poll(() => stat("requests").textContent()).toBe("9");
    await screenshot(page, "desktop-key-revoked");
  });

  it("lists the organisation's keys with this period's requests", async () => {
    // Two more keys, made over gRPC, so the list shows a mix of states, limits and expiries.
    const other = await createKey(grpc, { orgId, scopes: ["data:read"], rateLimit: { requests: 1000, windowSeconds: 60 } });
    await createKey(grpc, { orgId, expiresAtMs: Date.now() + 7 * 86_400_000 });
    for (let i = 0; i < 3; i++) await validate(grpc, other.secret);
    await page.getByRole("button", { name: /Keys of/ }).click();
    await page.getByLabel("Show revoked keys").check();
    const row = page.locator(`tr[data-key-id="${keyId}"]`);
    await row.waitFor();
    expect(await row.locator('td[data-label="Requests this period"]').textContent()).toBe("9");
    const overflow = await page.locator(".table-wrap").evaluate((el) => el.scrollWidth - el.clientWidth);
    expect(overflow, "the keys table fits 1280 px without scrolling sideways").toBeLessThanOrEqual(0);
    await screenshot(page, "desktop-keys");
  });

  it("never stores a secret or puts one in a URL, and signing out clears the key", async () => {
    await assertNothingLeaked(page, context, watch, secrets);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Flux API Keys" }).waitFor();
    const html = await page.content();
    for (const s of secrets) expect(html).not.toContain(s);
    expect(html).not.toContain("CI pipeline");
    await assertNoSecretsAtRest(page, context, secrets);
  });
});
