// Credits and the organisation's shared policy in headless Chromium against a real in-process server: a key created
// with credits from the form shows its live balance on its page, an edit that leaves credits alone does not reset
// the balance, the usage tab counts "Out of credits", and the organisation's Policy tab edits its shared limits.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import type { Caller } from "../support/callers.js";
import { newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { assertAccessibleLayout, ensureDashboardBuilt, launchChromium, screenshot } from "./browser.js";

let t: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let grpc: Caller;
const orgId = newOrg();

beforeAll(async () => {
  await ensureDashboardBuilt();
  t = await startTestServer("embedded", "dashboard-credits");
  grpc = t.callers.find((c) => c.name === "grpc")!;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

const detail = (label: string) => page.locator(`dt:text-is("${label}") + dd`);

describe("credits in the dashboard at 1280 px", { timeout: 90_000 }, () => {
  it("creates a metered key from the form and shows its live balance and refill on the key page", async () => {
    await page.goto(`http://127.0.0.1:${t.server.httpPort}/`);
    await page.getByLabel("Admin key").fill(ADMIN_KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByLabel("Organisation ID").fill(orgId);
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByLabel("Name").fill("metered");
    await page.getByLabel("Meter validations with credits").check();
    await page.getByLabel("Balance").fill("3");
    await page.getByLabel("Refill", { exact: true }).selectOption("day");
    await page.getByLabel("Refill to").fill("50");
    await page.getByLabel("Day of month (UTC)").fill("31");
    await page.getByRole("button", { name: "Create key" }).last().click();
    const secret = ((await page.locator("#secret-value").textContent()) ?? "").trim();
    expect(secret).toMatch(/^flux_/);
    await page.getByRole("button", { name: "Done, I have stored it" }).click();
    const { apiKeys } = await grpc.call(ApiKeyService, "listApiKeys", { orgId }, ADMIN_KEY);
    expect(apiKeys[0]?.credits).toMatchObject({ remaining: 3n, refill: { amount: 50n, schedule: { case: "dayOfMonth", value: 31 } } });
    for (let i = 0; i < 4; i++) await grpc.call(ApiKeyService, "validateApiKey", { key: secret }, ADMIN_KEY);
    await page.getByRole("button", { name: "metered" }).click();
    await expect.poll(() => detail("Credits").textContent()).toBe("0 left · refills to 50 on day 31 of each month (UTC)");
    await expect.poll(() => page.locator(".chart-summary").textContent()).toContain("1 out of credits");
    await assertAccessibleLayout(page, 1280);
    await screenshot(page, "desktop-key-credits");
  });

  it("keeps the balance when an edit leaves credits alone, and sets it when the person changes it", async () => {
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByLabel("Name").fill("metered, renamed");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => detail("Credits").textContent()).toBe("0 left · refills to 50 on day 31 of each month (UTC)");
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByLabel("Balance").fill("25");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => detail("Credits").textContent()).toBe("25 left · refills to 50 on day 31 of each month (UTC)");
  });

  it("edits the organisation's shared policy in its Policy tab", async () => {
    await page.getByRole("button", { name: "Keys", exact: true }).click();
    await page.getByLabel("Organisation ID").fill(orgId);
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await page.getByRole("tab", { name: "Policy" }).click();
    await expect.poll(() => detail("Shared credits").textContent()).toBe("Unmetered");
    await page.getByRole("button", { name: "Edit policy" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Limit requests of all keys together").check();
    await dialog.getByLabel("Requests", { exact: true }).fill("500");
    await dialog.getByLabel("Window (seconds)").fill("3600");
    await dialog.getByLabel("Meter validations with credits").check();
    await dialog.getByLabel("Balance").fill("10000");
    await dialog.getByRole("button", { name: "Save policy" }).click();
    await expect.poll(() => detail("Shared rate limit").textContent()).toBe("500 / hour");
    expect(await detail("Shared credits").textContent()).toBe("10,000 left · never refills");
    const { policy } = await grpc.call(OrganizationService, "getOrganizationPolicy", { orgId }, ADMIN_KEY);
    expect(policy).toMatchObject({ orgId, rateLimit: { requests: 500, windowSeconds: 3600 }, credits: { remaining: 10000n } });
    await assertAccessibleLayout(page, 1280);
    await screenshot(page, "desktop-org-policy");
  });

  it("fits the credits fields of the policy editor on a 390 px phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("button", { name: "Edit policy" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Refill", { exact: true }).selectOption("interval");
    await assertAccessibleLayout(page, 390);
    await screenshot(page, "mobile-org-policy-editor");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await page.setViewportSize({ width: 1280, height: 860 });
  });
});
