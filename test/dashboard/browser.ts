// Shared pieces of the dashboard's browser tests: a fresh build when dist/dashboard is missing or older than its
// sources, headless Chromium, signing in, screenshots, and the checks every view must pass (labels, no secrets at rest).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Locator, type Page } from "playwright-core";
import { expect } from "vitest";
import { ADMIN_KEY, type TestServer } from "../support/server.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DIST = join(ROOT, "dist/dashboard");
export const ARTIFACTS = join(ROOT, "test-artifacts/dashboard");
const SOURCES = [join(ROOT, "src/dashboard"), join(ROOT, "gen/ts")];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

const isFresh = () => {
  const index = join(DIST, "index.html");
  const builtAt = existsSync(index) ? statSync(index).mtimeMs : 0;
  return builtAt > Math.max(...SOURCES.map(newestMtime));
};

/**
 * Runs `vite build` when the build is missing or any dashboard source (or generated code) is newer. Test files
 * run in parallel processes, so one builds under a lock directory while the others wait for it.
 */
export async function ensureDashboardBuilt(): Promise<void> {
  const lock = join(ROOT, "dist/.dashboard-build.lock");
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  for (let waitedMs = 0; !isFresh(); waitedMs += 200) {
    try {
      mkdirSync(lock);
    } catch {
      // Someone else is building; a lock older than 3 minutes was left by a killed run.
      const lockedAtMs = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - lockedAtMs > 180_000) rmSync(lock, { recursive: true, force: true });
      if (waitedMs > 240_000) throw new Error("timed out waiting for another process to build the dashboard");
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      if (isFresh()) return;
      await promisify(execFile)(process.execPath, [join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--config", "src/dashboard/vite.config.ts"], {
        cwd: ROOT,
        timeout: 180_000,
      });
      if (!existsSync(join(DIST, "index.html"))) throw new Error("vite build finished without writing dist/dashboard/index.html");
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
  });
}

/** Chromium with one page in a new context made with `options`, the page watched from its first request. */
export async function openPage(options: BrowserContextOptions): Promise<{ browser: Browser; context: BrowserContext; page: Page; watch: ReturnType<typeof watchPage> }> {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    return { browser, context, page, watch: watchPage(page) };
  } catch (err) {
    await browser.close(); // the caller never gets it, so nothing else would close it
    throw err;
  }
}

/** The dashboard's address on a test server. */
export const dashboardUrl = (t: TestServer) => `http://127.0.0.1:${t.server.httpPort}/`;

/** Fills the sign-in form already shown with the admin key and waits until the dashboard is signed in. */
export async function signIn(page: Page): Promise<void> {
  await page.getByLabel("Admin key").fill(ADMIN_KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** Opens an organisation's keys by typing its ID in the Keys view. */
export async function openOrganisation(page: Page, orgId: string): Promise<void> {
  await page.getByLabel("Organisation ID").fill(orgId);
  await page.getByRole("button", { name: "Open", exact: true }).click();
}

/** Loads the dashboard, signs in and opens an organisation's keys. */
export async function signInToOrganisation(page: Page, t: TestServer, orgId: string): Promise<void> {
  await page.goto(dashboardUrl(t));
  await signIn(page);
  await openOrganisation(page, orgId);
}

/** Saves a screenshot; passing toasts are cleared first so they do not cover the view. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.evaluate(() => document.getElementById("toasts")?.replaceChildren());
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}

/** Saves a screenshot of one element, e.g. the usage chart at full resolution. */
export async function screenshotOf(locator: Locator, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await locator.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** Everything a page could leave behind: web storage, cookies, IndexedDB names, the URL and history length. */
export async function assertNoSecretsAtRest(page: Page, context: BrowserContext, secrets: string[]): Promise<void> {
  const state = await page.evaluate(async () => {
    const dump = (s: Storage) => Object.fromEntries(Array.from({ length: s.length }, (_, i) => [s.key(i)!, s.getItem(s.key(i)!)]));
    const dbs = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [];
    return { local: dump(localStorage), session: dump(sessionStorage), cookie: document.cookie, url: location.href, dbs };
  });
  const cookies = await context.cookies();
  expect(state.local).toEqual({});
  expect(state.session).toEqual({});
  expect(state.cookie).toBe("");
  expect(cookies).toEqual([]);
  expect(state.dbs).toEqual([]);
  const everything = JSON.stringify({ state, cookies });
  for (const s of secrets) expect(everything).not.toContain(s);
}

/** Watches a page for the life of a test: URLs requested or navigated to, CSP violations, uncaught errors. */
export function watchPage(page: Page) {
  const urls: string[] = [];
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  page.on("framenavigated", (f) => urls.push(f.url()));
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  return { urls, cspViolations, pageErrors };
}

/** Nothing at rest, in any URL the page touched, nor any CSP violation or uncaught error so far. */
export async function assertNothingLeaked(page: Page, context: BrowserContext, watch: ReturnType<typeof watchPage>, secrets: string[]): Promise<void> {
  await assertNoSecretsAtRest(page, context, secrets);
  for (const u of watch.urls) for (const s of secrets) expect(u).not.toContain(s);
  expect(watch.cspViolations).toEqual([]);
  expect(watch.pageErrors).toEqual([]);
}

/** Every visible form control has a label and every button a name; the page does not scroll sideways. */
export async function assertAccessibleLayout(page: Page, width: number): Promise<void> {
  const problems = await page.evaluate(() => {
    const out: string[] = [];
    const visible = (el: Element) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 || r.height > 0 || (el as HTMLInputElement).type === "radio";
    };
    for (const el of Array.from(document.querySelectorAll<HTMLInputElement>("input, select, textarea"))) {
      if (!visible(el) || el.type === "hidden") continue;
      const named = (el.labels?.length ?? 0) > 0 || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
      if (!named) out.push(`unlabelled ${el.tagName.toLowerCase()}#${el.id}`);
    }
    for (const b of Array.from(document.querySelectorAll("button"))) {
      if (visible(b) && !(b.textContent?.trim() || b.getAttribute("aria-label"))) out.push(`nameless button ${b.outerHTML.slice(0, 80)}`);
    }
    return out;
  });
  expect(problems).toEqual([]);
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(scrollWidth).toBeLessThanOrEqual(width);
}

/** Presses Tab until an element with this accessible text is focused; fails after `max` presses. */
export async function tabTo(page: Page, text: string | RegExp, max = 60): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const label = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el ? (el.getAttribute("aria-label") ?? el.textContent ?? "").trim() : "";
    });
    seen.push(label);
    if (typeof text === "string" ? label === text : text.test(label)) return;
  }
  throw new Error(`could not reach ${String(text)} with Tab; focus went through: ${seen.join(" | ")}`);
}
