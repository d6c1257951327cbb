// The server restarted under a connected validator (embedded store, same data directory and ports): the validator
// turns stale, answers over the network meanwhile (errors while nothing answers: never from stale state), and is
// fresh again, answering locally, once the server is back.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Agent, AGENT_SDKS, localAdminKey, prepareAgent } from "../support/local-agents.js";
import { randomAdminKey, startProcess } from "../support/processes.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.each(AGENT_SDKS)("%s local validator across a server restart", (sdk) => {
  beforeAll(() => prepareAgent(sdk), 900_000);

  it("turns stale while the server is down, answers over the network (UNAVAILABLE), then fresh again", async () => {
    const dir = mkdtempSync(join(tmpdir(), `flux-local-restart-${sdk}-`));
    dirs.push(dir);
    const boot = randomAdminKey();
    const first = await startProcess({ FLUX_DATA_DIR: dir, FLUX_ADMIN_KEY: boot });
    let second: Awaited<ReturnType<typeof startProcess>> | undefined;
    let agent: Agent | undefined;
    try {
      const adminKey = await localAdminKey(first.callers[0]!, boot);
      const key = await first.callers[0]!.call(ApiKeyService, "createApiKey", { orgId: "acme", name: "k" }, boot);
      agent = await Agent.start(sdk, { url: `http://127.0.0.1:${first.grpcPort}`, adminKey });
      expect(await agent.validate(key.secret)).toMatchObject({ valid: true, local: true });

      await first.kill("SIGKILL");
      await agent.waitFor((s) => s.state === "stale");
      expect(await agent.validate(key.secret)).toMatchObject({ valid: false, local: false, error: "UNAVAILABLE" });

      second = await startProcess({
        FLUX_DATA_DIR: dir,
        FLUX_ADMIN_KEY: boot,
        FLUX_GRPC_ADDR: `127.0.0.1:${first.grpcPort}`,
        FLUX_HTTP_ADDR: `127.0.0.1:${first.httpPort}`,
      });
      await agent.waitFor((s) => s.state === "fresh", 30_000);
      expect(await agent.validate(key.secret)).toMatchObject({ valid: true, local: true });
      expect((await agent.status()).resyncs).toBeGreaterThanOrEqual(1);
    } finally {
      await agent?.close().catch(() => agent?.kill());
      await second?.stop();
      if (first.exitCode() === null) await first.stop();
    }
  });
});
