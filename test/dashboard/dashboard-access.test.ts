// The organisation overview and the unused-scope hint in headless Chromium against a real in-process server: an
// organisation's totals, chart and top keys; a key's allowed addresses; its unused scopes and their removal after
// a confirmation — and no secret anywhere in the page.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import type { Caller } from "../support/callers.js";
import { createKey, defineScopes, newOrg, validate } from "../support/fixtures.js";
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
let busyId = "";

beforeAll(async () => {
  await ensureDashboardBuilt();
  t = await startTestServer("embedded", "dashboard-access");
  grpc = t.callers.find((c) => c.name === "grpc")!;
  await defineScopes(grpc, "dash:read", "dash:write", "dash:admin");
  const busy = await createKey(grpc, { orgId, scopes: ["dash:read", "dash:write", "dash:admin"] });
  busyId = busy.key.id;
  const flaky = await createKey(grpc, { orgId, scopes: ["dash:read"] });
  await grpc.call(ApiKeyService, "updateApiKey", { apiKey: { id: flaky.key.id, name: "flaky key", allowedCidrs: ["192.0.2.0/24"] }, updateMask: { paths: ["name", "allowed_cidrs"] } }, ADMIN_KEY);
  secrets.push(busy.secret, flaky.secret);
  for (let i = 0; i < 14; i++) await validate(grpc, busy.secret, ["dash:read"]);
  for (let i = 0; i < 10; i++) await grpc.call(ApiKeyService, "validateApiKey", { key: flaky.secret, clientIp: i < 4 ? "198.51.100.1" : "192.0.2.1" }, ADMIN_KEY);
  const other = await createKey(grpc, { orgId: newOrg() });
  secrets.push(other.secret);
  for (let i = 0; i < 50; i++) await validate(grpc, other.secret); // another org's traffic: never in this overview
  ({ browser, context, page, watch } = await openPage({ viewport: { width: 1280, height: 900 } }));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe("organisation overview and unused scopes at 1280 px", { timeout: 60_000 }, () => {
  it("shows the organisation's totals, outcomes, a chart by day or by hour and its top keys in the Overview tab", async () => {
    await signInToOrganisation(page, t, orgId);
    await page.getByRole("tab", { name: "Overview" }).click();
    const stat = (id: string) => page.locator(`[data-stat="${id}"] .stat-value`).textContent();
    await expect.poll(() => stat("org-requests")).toBe("24");
    expect(await stat("org-errors")).toBe("4");
    expect(await page.locator('#org-outcomes tr[data-outcome="IP_NOT_ALLOWED"] td').first().textContent()).toBe("4");
    await expect.poll(() => page.locator("#org-chart").getAttribute("data-total")).toBe("24");
    const names = (id: string) => page.locator(`#${id} tbody th`).allTextContents();
    expect(await names("top-by-requests")).toEqual(["test key", "flaky key"]);
    expect(await names("top-by-error-rate")).toEqual(["flaky key"]);
    await assertAccessibleLayout(page, 1280);
    await screenshot(page, "desktop-org-overview");
    await page.getByText("24 hours").click();
    await expect.poll(() => page.locator("#org-chart").getAttribute("data-buckets")).toBe("25");
    expect(await page.locator("#org-chart").getAttribute("data-total")).toBe("24");
    expect(await page.locator('[data-stat="org-requests"] .stat-sub').textContent()).toBe("Last 24 hours");
    await page.getByText("30 days").click();
    await expect.poll(() => page.locator("#org-chart").getAttribute("data-buckets")).toBe("31");
  });

  it("shows a key's allowed addresses, and its unused scopes with a Remove action that asks first", async () => {
    await page.locator("#top-by-requests").getByRole("button", { name: "test key" }).click();
    const hint = page.locator("#scope-hint");
    await expect.poll(() => hint.getAttribute("data-unused")).toBe("dash:write,dash:admin");
    expect(await hint.textContent()).toContain("dash:read");
    await page.getByRole("button", { name: "Remove unused scopes" }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).toContain("dash:admin");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect((await grpc.call(ApiKeyService, "getApiKey", { id: busyId }, ADMIN_KEY)).apiKey!.scopes).toEqual(["dash:read", "dash:write", "dash:admin"]);
    await screenshot(page, "desktop-unused-scopes");

    await page.getByRole("button", { name: "Remove unused scopes" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove scopes" }).click();
    await expect.poll(async () => (await grpc.call(ApiKeyService, "getApiKey", { id: busyId }, ADMIN_KEY)).apiKey!.scopes).toEqual(["dash:read"]);
    await expect.poll(() => page.locator("#scope-hint h3").textContent()).toBe("Scopes in use");
    expect(await page.locator(".details").textContent()).toContain("Allowed addressesAny");
    await assertAccessibleLayout(page, 1280);
    await assertNothingLeaked(page, context, watch, secrets);
  });

  it("shows a key's allowed CIDRs on its page", async () => {
    await page.getByRole("button", { name: /← Keys of/ }).click();
    await page.getByRole("button", { name: "flaky key" }).click();
    await expect.poll(() => page.locator(".details .cidrs").textContent()).toBe("192.0.2.0/24");
  });

  it("lays the overview out without overflow on a 390 px phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("button", { name: /← Keys of/ }).click();
    await page.getByRole("tab", { name: "Overview" }).click();
    await expect.poll(() => page.locator('[data-stat="org-requests"] .stat-value').textContent()).toBe("24");
    await page.locator("#org-chart").waitFor();
    await assertAccessibleLayout(page, 390);
    await screenshot(page, "mobile-org-overview");
  });
});
