// Real server processes (`bin/flux-apikeys.mjs serve`) for tests about restarts, crashes and several replicas.
import { randomBytes } from "node:crypto";
// @ts-expect-error plain ESM script without types
import { startFluxProcess } from "../../scripts/with-server.mjs";
import { connectCaller, grpcCaller, type Caller } from "./callers.js";

export interface FluxProcess {
  pid: number;
  grpcPort: number;
  httpPort: number;
  output(): string;
  /** Null while the process runs. */
  exitCode(): number | null;
  /** The exit code, or the signal's name when the process died by one. */
  stop(): Promise<number | string>;
  kill(signal: NodeJS.Signals): Promise<void>;
  callers: Caller[];
}

export async function startProcess(env: Record<string, string>): Promise<FluxProcess> {
  const p = await startFluxProcess(env);
  const callers = [grpcCaller(p.grpcPort), connectCaller(p.httpPort)];
  return {
    pid: p.child.pid,
    grpcPort: p.grpcPort,
    httpPort: p.httpPort,
    output: p.output,
    exitCode: () => p.child.exitCode ?? (p.child.signalCode ? -1 : null),
    callers,
    async stop() {
      for (const c of callers) c.close();
      return p.stop();
    },
    async kill(signal) {
      for (const c of callers) c.close();
      await new Promise<void>((resolve) => {
        p.child.once("exit", () => resolve());
        p.child.kill(signal);
      });
    },
  };
}

export const randomAdminKey = () => `proc-admin-${randomBytes(12).toString("hex")}`;
