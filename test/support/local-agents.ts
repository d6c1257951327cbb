// The cross-SDK harness: one validator agent per SDK (TypeScript always; Python and Rust when their launchers
// exist), each a child process holding one local validator and speaking JSON lines (one request per stdin line, one
// answer per stdout line, in order). See clients/ts/test/local-agent.ts for the protocol.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import type { Caller } from "./callers.js";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

export type Sdk = "ts" | "python" | "rust";

interface Launcher {
  command: string;
  args: string[];
}

function launcher(sdk: Sdk): Launcher | undefined {
  if (sdk === "ts") return { command: process.execPath, args: ["--import", "tsx", join(ROOT, "clients/ts/test/local-agent.ts")] };
  const script = join(ROOT, `clients/${sdk}/local-agent.sh`);
  return existsSync(script) ? { command: "bash", args: [script] } : undefined;
}

/**
 * The SDKs whose agent can run here: ts always, python and rust once their launchers exist; FLUX_LOCAL_SDKS
 * (e.g. "ts,rust") narrows the list while working on one SDK.
 */
const only = process.env.FLUX_LOCAL_SDKS?.split(",").map((s) => s.trim());
export const AGENT_SDKS: Sdk[] = (["ts", "python", "rust"] as const).filter((s) => launcher(s) !== undefined && (!only || only.includes(s)));

const prepared = new Set<Sdk>();
/**
 * Runs the launcher's `--prepare` (install / build) once per vitest run, whichever test file asks first: the
 * others wait for its marker (test files run in parallel worker processes of one parent). Throws with its output.
 */
export async function prepareAgent(sdk: Sdk): Promise<void> {
  if (sdk === "ts" || prepared.has(sdk)) return;
  const base = join(tmpdir(), `flux-agent-prepare-${sdk}-${process.ppid}`);
  const done = `${base}.done`;
  while (!existsSync(done)) {
    try {
      mkdirSync(`${base}.lock`);
    } catch {
      await new Promise((r) => setTimeout(r, 500)); // another test file is preparing it
      continue;
    }
    try {
      const l = launcher(sdk)!;
      const r = await run(l.command, [...l.args, "--prepare"]);
      if (r.code !== 0) throw new Error(`${sdk} agent --prepare failed (${r.code}):\n${r.output}`.slice(-4000));
      writeFileSync(done, "");
    } finally {
      rmSync(`${base}.lock`, { recursive: true, force: true });
    }
  }
  prepared.add(sdk);
}

function run(command: string, args: string[]): Promise<{ code: number | string; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let output = "";
    child.stdout.on("data", (d) => (output = (output + String(d)).slice(-8000)));
    child.stderr.on("data", (d) => (output = (output + String(d)).slice(-8000)));
    child.once("exit", (code, signal) => resolve({ code: code ?? signal ?? "?", output }));
  });
}

export interface AgentEnv {
  /** gRPC address, http://127.0.0.1:PORT. */
  url: string;
  /** An admin key with the local_validation right. */
  adminKey: string;
  /** The Connect (HTTP/1.1) address, for FLUX_AGENT_TRANSPORT=connect (TS agent only). */
  httpUrl?: string;
  pepper?: string;
  transport?: "grpc" | "connect";
}

export interface ValidateAnswer {
  valid: boolean;
  outcome: string;
  local: boolean;
  key_id: string | null;
  remaining: number | null;
  credits: number | null;
  error: string | null;
}

export interface RaceAnswer {
  count: number;
  local: number;
  accept_starts_ms: number[];
  first_refusal_start_ms: number | null;
  last_start_ms: number;
}

export class Agent {
  readonly #waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  #stderr = "";
  #exited = false;

  private constructor(
    readonly sdk: Sdk,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const w = this.#waiting.shift();
      if (!w) return void (this.#stderr += `[unexpected stdout] ${line}\n`);
      try {
        w.resolve(JSON.parse(line));
      } catch {
        w.reject(new Error(`${sdk} agent wrote a line that is not JSON: ${line.slice(0, 200)}`));
      }
    });
    child.stderr!.on("data", (d) => (this.#stderr = (this.#stderr + String(d)).slice(-20_000)));
    child.once("exit", (code, signal) => {
      this.#exited = true;
      for (const w of this.#waiting.splice(0)) w.reject(new Error(`${sdk} agent exited (${code ?? signal}) before answering:\n${this.#stderr.slice(-3000)}`));
    });
  }

  /** Starts an agent and waits for its `ready` line; throws with its stderr when it is not ready. */
  static async start(sdk: Sdk, env: AgentEnv): Promise<Agent> {
    const l = launcher(sdk);
    if (!l) throw new Error(`no ${sdk} agent launcher`);
    const child = spawn(l.command, l.args, {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: {
        ...process.env,
        FLUX_URL: env.url,
        FLUX_ADMIN_KEY: env.adminKey,
        ...(env.httpUrl ? { FLUX_HTTP_URL: env.httpUrl } : {}),
        ...(env.transport ? { FLUX_AGENT_TRANSPORT: env.transport } : {}),
        ...(env.pepper ? { FLUX_KEY_PEPPER: env.pepper } : { FLUX_KEY_PEPPER: "" }),
      },
    });
    const agent = new Agent(sdk, child);
    const ready = (await agent.#next()) as { ready: boolean; error?: string };
    if (!ready.ready) {
      agent.kill();
      throw new Error(`${sdk} agent not ready: ${ready.error}\n${agent.#stderr.slice(-3000)}`);
    }
    return agent;
  }

  #next(): Promise<unknown> {
    if (this.#exited) return Promise.reject(new Error(`${this.sdk} agent has exited:\n${this.#stderr.slice(-3000)}`));
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Sends one request and resolves to its answer. */
  request<T = Record<string, unknown>>(req: Record<string, unknown>): Promise<T> {
    const answer = this.#next();
    this.child.stdin!.write(`${JSON.stringify(req)}\n`);
    return answer as Promise<T>;
  }

  validate(key: string, opts: { scopes?: string[]; cost?: number | null; clientIp?: string } = {}): Promise<ValidateAnswer> {
    return this.request({ op: "validate", key, scopes: opts.scopes ?? [], cost: opts.cost ?? null, client_ip: opts.clientIp ?? "" });
  }

  race(key: string, opts: { minN?: number; refusedMs?: number; maxMs?: number } = {}): Promise<RaceAnswer> {
    return this.request({ op: "race", key, min_n: opts.minN ?? 10_000, refused_ms: opts.refusedMs ?? 200, max_ms: opts.maxMs ?? 15_000 });
  }

  burst(key: string, n: number): Promise<{ valid: number; refused: number; local: number }> {
    return this.request({ op: "burst", key, n });
  }

  status(): Promise<{ state: "fresh" | "stale" | "closed"; local: number; network: number; resyncs: number }> {
    return this.request({ op: "status" });
  }

  bench(key: string, ms: number): Promise<{ per_s: number }> {
    return this.request({ op: "bench", key, ms });
  }

  /** Asks the agent to close its validator (final usage report) and waits for it to exit. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
    await this.request({ op: "close" });
    await exited;
  }

  /** SIGKILL, as a crash: no closing report. */
  kill(): Promise<void> {
    if (this.#exited) return Promise.resolve();
    const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
    this.child.kill("SIGKILL");
    return exited;
  }

  /** Polls `status` until `pred` holds (or throws after `timeoutMs`). */
  async waitFor(pred: (s: Awaited<ReturnType<Agent["status"]>>) => boolean, timeoutMs = 20_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const s = await this.status();
      if (pred(s)) return;
      if (Date.now() - t0 > timeoutMs) throw new Error(`${this.sdk} agent: condition not met in ${timeoutMs} ms (last status ${JSON.stringify(s)})\n${this.#stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  stderr(): string {
    return this.#stderr;
  }
}

/** An admin key with the local_validation right, made with `bootstrap` (e.g. the test server's ADMIN_KEY). */
export async function localAdminKey(caller: Caller, bootstrap: string, orgId = ""): Promise<string> {
  const res = await caller.call(AdminKeyService, "createAdminKey", { name: `validator-${randomBytes(3).toString("hex")}`, orgId, localValidation: true }, bootstrap);
  return res.secret;
}
