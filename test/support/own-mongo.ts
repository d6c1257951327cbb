// A MongoDB-compatible server (FerretDB) owned by one test file, which can crash it and bring it back on the same
// data and port, so that server processes pointed at its URI see a database outage and a recovery.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-expect-error plain ESM script without types
import { startTestMongo } from "../../scripts/test-mongo.mjs";

interface Running {
  uri: string;
  port: number;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface OwnMongo {
  /** Stays the same across restarts. */
  uri: string;
  /** SIGKILL: the database disappears mid-command, as in a crash. */
  kill(): Promise<void>;
  /** Starts again on the same data dir and port. */
  restart(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

export async function startOwnMongo(): Promise<OwnMongo> {
  const dataDir = mkdtempSync(join(tmpdir(), "flux-own-ferret-"));
  let running: Running | undefined = (await startTestMongo({ dataDir })) as Running;
  const { uri, port } = running;
  return {
    uri,
    async kill() {
      await running?.kill("SIGKILL");
      running = undefined;
    },
    async restart() {
      if (running) throw new Error("the database is already running");
      running = (await startTestMongo({ dataDir, port })) as Running;
    },
    async dispose() {
      await running?.stop();
      running = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
