// The dashboard's Webhooks page in headless Chromium against a real in-process server (embedded store) and a
// receiver the test starts: add an endpoint and read its signing secret once, watch a key event's delivery appear in
// the log, rotate the secret, disable and delete the endpoint, with no secret left in the browser.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookService } from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import { createKey, newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { type Receiver, startReceiver } from "../support/webhook-receiver.js";
import { assertAccessibleLayout, assertNothingLeaked, ensureDashboardBuilt, launchChromium, screenshot, watchPage } from "./browser.js";

let t: TestServer;
let rx: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: ReturnType<typeof watchPage>;
const secrets: string[] = [ADMIN_KEY];
const orgId = newOrg();

beforeAll(async () => {
  await ensureDashboardBuilt();
  t = await startTestServer("embedded", "dashboard-webhooks", { config: { FLUX_WEBHOOK_ALLOW_PRIVATE: true } });
  rx = await startReceiver();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  watch = watchPage(page);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await rx?.close();
  await t?.stop();
});

const dialog = () => page.getByRole("dialog");

describe("dashboard Webhooks page", { timeout: 60_000 }, () => {
  it("adds an endpoint and shows its signing secret once", async () => {
    await page.goto(`http://127.0.0.1:${t.server.httpPort}/`);
    await page.getByLabel("Admin key").fill(ADMIN_KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Webhooks" }).click();
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
    await expect.poll(() => page.getByText("No endpoints yet").isVisible()).toBe(true);
    await assertAccessibleLayout(page, 1280);
    await page.getByLabel("Endpoint URL").fill(rx.url);
    await page.getByLabel("Organisation (optional)").fill(orgId);
    await page.getByLabel("Description (optional)").fill("Test receiver");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await dialog().getByText("Copy this signing secret now").waitFor();
    const secret = (await dialog().locator("#secret-value").textContent())!;
    expect(secret).toMatch(/^whsec_/);
    secrets.push(secret);
    await screenshot(page, "webhooks-secret", false);
    await dialog().getByRole("button", { name: "Done, I have stored it" }).click();
    await expect.poll(() => dialog().count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    const row = page.locator("tr[data-endpoint]");
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain(orgId);
  });

  it("shows a key event's delivery in the endpoint's log", async () => {
    const { key } = await createKey(t.callers[0]!, { orgId });
    await rx.until(() => rx.accepted().length >= 1);
    expect(rx.accepted()[0]!.data.key_id).toBe(key.id);
    await page.getByRole("button", { name: `Show deliveries of ${rx.url}` }).click();
    const delivered = page.locator("tr[data-event]");
    await expect.poll(() => delivered.count()).toBe(1);
    const text = await delivered.textContent();
    expect(text).toContain("key.created");
    expect(text).toContain("Delivered");
    expect(text).toContain("HTTP 204");
    await screenshot(page, "webhooks-deliveries");
  });

  it("rotates the secret (shown once), disables, and deletes the endpoint", async () => {
    await page.getByRole("button", { name: `Rotate the signing secret of ${rx.url}` }).click();
    await dialog().getByRole("button", { name: "Rotate secret" }).click();
    await dialog().getByText("Copy this signing secret now").waitFor();
    const rotated = (await dialog().locator("#secret-value").textContent())!;
    expect(rotated).toMatch(/^whsec_/);
    expect(secrets).not.toContain(rotated);
    secrets.push(rotated);
    await dialog().getByRole("button", { name: "Done, I have stored it" }).click();
    const [ep] = (await t.callers[0]!.call(WebhookService, "listWebhookEndpoints", { orgId }, ADMIN_KEY)).endpoints;
    expect(ep!.previousSecretExpireTime).toBeDefined(); // the old secret signs too for 24 hours
    await page.getByRole("button", { name: `Disable ${rx.url}` }).click();
    await expect.poll(async () => page.locator("tr[data-endpoint]").textContent()).toContain("Disabled");
    await page.getByRole("button", { name: `Delete endpoint ${rx.url}` }).click();
    await dialog().getByRole("button", { name: "Delete endpoint" }).click();
    await expect.poll(() => page.getByText("No endpoints yet").isVisible()).toBe(true);
    await assertNothingLeaked(page, context, watch, secrets);
  });
});
