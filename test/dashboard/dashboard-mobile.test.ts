// The dashboard at 390 px (a phone) in headless Chromium: every main view fits the width, every control is
// labelled, the usage chart follows validations, and the admin key stays out of storage and URLs.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import type { Caller } from "../support/callers.js";
import { createKey, defineScopes, newOrg, validate } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { assertAccessibleLayout, assertNothingLeaked, dashboardUrl,
  ensureDashboardBuilt, openPage, screenshot, screenshotOf, signIn, type watchPage } from "./browser.js";

const WIDTH = 390;
let t: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: ReturnType<typeof watchPage>;
let grpc: Caller;
const orgId = newOrg();
const secrets = [ADMIN_KEY];
let keyId = "";
let secret = "";

beforeAll(async () => {
  await ensureDashboardBuilt();
  t = await startTestServer("mongodb", "dashboard-mobile");
  grpc = t.callers.find((c) => c.name === "grpc")!;
  await defineScopes(grpc, "data:read", "webhooks:write");
  // A second organisation, so the organisation list has more than one entry.
  await createKey(grpc, { orgId: newOrg(), scopes: ["data:read"] });
  const created = await createKey(grpc, { orgId, scopes: ["data:read", "webhooks:write"], rateLimit: { requests: 1000, windowSeconds: 3600 } });
  keyId = created.key.id;
  secret = created.secret;
  secrets.push(secret);
  ({ browser, context, page, watch } = await openPage({ viewport: { width: WIDTH, height: 844 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true }));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

const dialog = () => page.getByRole("dialog");

describe("dashboard at 390 px", { timeout: 60_000 }, () => {
  it("signs in on a phone-sized screen", async () => {
    await page.goto(dashboardUrl(t));
    await page.getByLabel("Admin key").waitFor();
    await assertAccessibleLayout(page, WIDTH);
    await screenshot(page, "mobile-sign-in", false);
    await signIn(page);
  });

  it("lists an organisation's keys as cards that fit the width", async () => {
    await page.getByRole("button", { name: new RegExp(orgId) }).click();
    const row = page.locator(`tr[data-key-id="${keyId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain("1,000 / hour");
    await assertAccessibleLayout(page, WIDTH);
    await screenshot(page, "mobile-keys");
  });

  it("creates a key in a dialog that fits the screen", async () => {
    await page.getByRole("button", { name: "Create key" }).click();
    await dialog().getByLabel("Name").fill("Mobile key");
    await dialog().getByLabel(/webhooks:write/).check();
    await assertAccessibleLayout(page, WIDTH);
    await screenshot(page, "mobile-create-key", false);
    await dialog().getByRole("button", { name: "Create key" }).click();
    await dialog().getByRole("heading", { name: "Key created" }).waitFor();
    const created = (await dialog().locator("#secret-value").textContent())!.trim();
    secrets.push(created);
    const box = await dialog().boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(WIDTH);
    await screenshot(page, "mobile-secret-once", false);
    await dialog().getByRole("button", { name: /Done/ }).click();
    expect((await validate(grpc, created)).outcome).toBe(Outcome.VALID);
  });

  it("shows a key's usage and chart, updated after validations", async () => {
    for (let i = 0; i < 4; i++) await validate(grpc, secret);
    await validate(grpc, secret, ["admin:all"]); // INSUFFICIENT_SCOPE: an "other error"
    await page.locator(`tr[data-key-id="${keyId}"]`).getByRole("button").click();
    await page.getByRole("heading", { name: "test key" }).waitFor();
    await expect.poll(() => page.locator("#usage-chart").getAttribute("data-total")).toBe("5");
    expect(await page.locator('[data-stat="error-rate"] .stat-value').textContent()).toBe("20%");
    for (let i = 0; i < 3; i++) await validate(grpc, secret);
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect.poll(() => page.locator("#usage-chart").getAttribute("data-total")).toBe("8");
    expect(await page.locator("#chart-summary").textContent()).toContain("7 valid, 0 rate limited, 1 other errors");
    const chart = await page.locator("#usage-chart canvas").boundingBox();
    expect(chart!.width).toBeLessThanOrEqual(WIDTH);
    await assertAccessibleLayout(page, WIDTH);
    await screenshot(page, "mobile-key-usage");
    await screenshotOf(page.locator(".chart-figure"), "mobile-usage-chart");
  });

  it("shows the settings page", async () => {
    await page.getByRole("button", { name: "Settings" }).click();
    await page.locator('tr[data-scope="webhooks:write"]').waitFor();
    await assertAccessibleLayout(page, WIDTH);
    await screenshot(page, "mobile-settings");
  });

  it("kept every secret out of storage, cookies and URLs", async () => {
    await assertNothingLeaked(page, context, watch, secrets);
  });
});
