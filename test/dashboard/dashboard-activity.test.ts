// The Activity tabs in headless Chromium against a real in-process server: an organisation's changes and one key's
// changes, newest first, with who made each one and what it changed — and no secret anywhere in the page.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import type { Caller } from "../support/callers.js";
import { createKey, newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { assertAccessibleLayout, assertNothingLeaked, ensureDashboardBuilt, openPage, screenshot, signInToOrganisation, type watchPage } from "./browser.js";

let t: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: ReturnType<typeof watchPage>;
let grpc: Caller;
const orgId = newOrg();
const secrets: string[] = [ADMIN_KEY];
let keyId = "";

beforeAll(async () => {
  await ensureDashboardBuilt();
  t = await startTestServer("embedded", "dashboard-activity");
  grpc = t.callers.find((c) => c.name === "grpc")!;
  const { key, secret } = await createKey(grpc, { orgId });
  keyId = key.id;
  secrets.push(secret);
  t.clock.advance(1000);
  secrets.push((await grpc.call(ApiKeyService, "rotateApiKey", { id: key.id }, ADMIN_KEY)).secret);
  t.clock.advance(1000);
  await grpc.call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, enabled: false }, updateMask: { paths: ["enabled"] } }, ADMIN_KEY);
  secrets.push((await createKey(grpc, { orgId: newOrg() })).secret); // another org's: never in this org's tab
  ({ browser, context, page, watch } = await openPage({ viewport: { width: 1280, height: 860 } }));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

const rows = () => page.locator(".activity-table tbody tr:visible");
const changeColumn = async () => rows().locator('td[data-label="Change"]').allTextContents();

describe("activity tabs at 1280 px", { timeout: 60_000 }, () => {
  it("lists an organisation's changes newest first in its Activity tab", async () => {
    await signInToOrganisation(page, t, orgId);
    await page.getByRole("tab", { name: "Activity" }).click();
    await expect.poll(changeColumn).toEqual(["Key disabled", "Key rotated", "Key created"]);
    expect(await rows().first().locator('td[data-label="By"]').textContent()).toContain("bootstrap");
    expect(await rows().first().locator('td[data-label="Object"]').textContent()).toBe(keyId);
    await assertAccessibleLayout(page, 1280);
    await screenshot(page, "desktop-org-activity");
  });

  it("shows one key's changes, with before and after, in the key page's Activity tab", async () => {
    await page.getByRole("tab", { name: "Keys" }).click();
    await page.getByRole("button", { name: "test key" }).click();
    await page.getByRole("tab", { name: "Usage" }).waitFor();
    expect(await page.getByRole("tab", { name: "Usage" }).getAttribute("aria-selected")).toBe("true");
    await page.getByRole("tab", { name: "Usage" }).focus();
    await page.keyboard.press("ArrowRight"); // the arrow keys move between tabs
    expect(await page.getByRole("tab", { name: "Activity" }).getAttribute("aria-selected")).toBe("true");
    await expect.poll(changeColumn).toEqual(["Key disabled", "Key rotated", "Key created"]);
    expect(await rows().first().locator('td[data-label="What changed"]').textContent()).toMatch(/enabled\s*true → false/);
    expect(await rows().first().locator('td[data-label="What changed"]').textContent()).toContain("Mask: enabled");
    await assertAccessibleLayout(page, 1280);
    await screenshot(page, "desktop-key-activity");
    await assertNothingLeaked(page, context, watch, secrets);
  });
});
