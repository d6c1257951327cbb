// The "Leaked" marker in headless Chromium: a key whose secret a signed leak report named shows a Leaked badge
// beside its state and a note with where the secret was found; a key never reported shows neither; no secret
// reaches the page.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey, newOrg } from "../support/fixtures.js";
import { entry, newReporter, sendReport, writeKeysFile } from "../support/leak-reporter.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { assertAccessibleLayout, assertNothingLeaked, dashboardUrl, ensureDashboardBuilt, openOrganisation, openPage, screenshot, signIn, type watchPage } from "./browser.js";

let t: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: ReturnType<typeof watchPage>;
const orgId = newOrg();
const secrets: string[] = [ADMIN_KEY];
const ids: Record<"leaked" | "clean", string> = { leaked: "", clean: "" };

beforeAll(async () => {
  await ensureDashboardBuilt();
  const reporter = newReporter();
  t = await startTestServer("embedded", "dashboard-leaked", { config: { FLUX_LEAK_REPORTER_KEYS: writeKeysFile(reporter) } });
  const grpc = t.callers.find((c) => c.name === "grpc")!;
  const leaked = await createKey(grpc, { orgId });
  const clean = await createKey(grpc, { orgId });
  ids.leaked = leaked.key.id;
  ids.clean = clean.key.id;
  secrets.push(leaked.secret, clean.secret);
  const res = await sendReport(t.server.httpPort, reporter, [entry(leaked.secret, 7)]);
  expect(res.json()).toMatchObject([{ label: "true_positive" }]);
  ({ browser, context, page, watch } = await openPage({ viewport: { width: 1280, height: 860 } }));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

async function openKey(id: string) {
  await page.goto(dashboardUrl(t));
  if (!(await page.getByRole("button", { name: "Sign out" }).isVisible())) await signIn(page);
  await openOrganisation(page, orgId);
  await page.getByLabel("Show revoked keys").check();
  await page.locator(`tr[data-key-id="${id}"] button.key-name`).click();
  await page.locator(".key-page .title-row .badge").first().waitFor();
}

describe("the Leaked marker at 1280 px", { timeout: 60_000 }, () => {
  it("marks a key a leak report named, with where its secret was found", async () => {
    await openKey(ids.leaked);
    const badge = page.locator('.title-row [data-leaked="true"]');
    await badge.waitFor();
    expect(await badge.textContent()).toBe("Leaked");
    expect(await page.locator('.title-row [data-state="revoked"]').count()).toBe(1);
    const note = page.locator(".leak-notice");
    expect(await note.textContent()).toContain("https://github.com/octo/repo/blob/main/config-7.env");
    expect(await note.textContent()).toContain("The report revoked the key.");
    expect(await note.locator("a").count()).toBe(0); // the reported address is text, never a link
    await page.getByRole("tab", { name: "Activity" }).click();
    await expect.poll(() => page.locator('.activity-table tbody tr:visible td[data-label="Change"]').allTextContents()).toEqual(["Key revoked", "Leak reported", "Key created"]);
    await assertAccessibleLayout(page, 1280);
    await screenshot(page, "desktop-key-leaked");
    await assertNothingLeaked(page, context, watch, secrets);
  });

  it("fits a phone (390 px): the reported address wraps instead of scrolling the page sideways", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await openKey(ids.leaked);
      await page.locator(".leak-notice").waitFor();
      await assertAccessibleLayout(page, 390);
      await screenshot(page, "mobile-key-leaked");
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  });

  it("shows no marker on a key never reported", async () => {
    await openKey(ids.clean);
    await page.getByRole("tab", { name: "Activity" }).click();
    await expect.poll(() => page.locator('.activity-table tbody tr:visible td[data-label="Change"]').allTextContents()).toEqual(["Key created"]);
    expect(await page.locator('[data-leaked="true"]').count()).toBe(0);
    expect(await page.locator(".leak-notice").count()).toBe(0);
  });
});
