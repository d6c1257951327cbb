// StoreHealth: a replica that knows its store is down answers at once, and goes back to the store the moment a
// probe gets an answer. Driven by a fake probe and fake store calls; no timing thresholds.
import { describe, expect, it, vi } from "vitest";
import { FluxError } from "../../src/domain/errors.js";
import { StoreHealth } from "../../src/services/store-health.js";

class Outage extends Error {
  name = "MongoServerSelectionError";
}

function harness() {
  const changes: boolean[] = [];
  let answer: { resolve(): void; reject(e: unknown): void } | undefined;
  let probes = 0;
  const health = new StoreHealth(
    {
      probe: () => (probes++, new Promise<void>((resolve, reject) => (answer = { resolve, reject }))),
      isOutage: (e) => e instanceof Outage,
      onChange: (up) => changes.push(up),
    },
    { readDeadlineMs: 500, probeIntervalMs: 1 },
  );
  const settle = () => new Promise((r) => setTimeout(r, 5));
  return { health, changes, probes: () => probes, probeAnswers: () => answer!, settle };
}

const unavailable = { reason: "STORE_UNAVAILABLE" };

describe("store health", () => {
  it("marks the store down on an outage error and answers the next calls without calling the store", async () => {
    const { health, changes } = harness();
    await expect(health.run(() => Promise.reject(new Outage("connect ECONNREFUSED")))).rejects.toMatchObject(unavailable);
    expect(health.up).toBe(false);
    let called = false;
    await expect(health.run(async () => (called = true))).rejects.toMatchObject(unavailable);
    expect(called).toBe(false);
    expect(changes).toEqual([false]);
    health.close();
  });

  it("passes a command's own failure through and stays up", async () => {
    const { health } = harness();
    const refused = new Error("E11000 duplicate key");
    await expect(health.run(() => Promise.reject(refused))).rejects.toBe(refused);
    expect(health.up).toBe(true);
  });

  it("recognises an outage wrapped by a service (a FluxError whose cause is the driver's error)", async () => {
    const { health } = harness();
    const wrapped = Object.assign(new FluxError("STORE_UNAVAILABLE", "x"), { cause: new Outage("gone") });
    await expect(health.run(() => Promise.reject(wrapped))).rejects.toMatchObject(unavailable);
    expect(health.up).toBe(false);
    health.close();
  });

  it("answers UNAVAILABLE when a read misses its deadline, without counting a slow store as down", async () => {
    const { health } = harness();
    await expect(health.run(() => new Promise(() => {}), { abandonAfterMs: 1 })).rejects.toMatchObject(unavailable);
    expect(health.up).toBe(true);
  });

  it("gives up reads already waiting on the store the moment it is known to be down", async () => {
    const { health } = harness();
    const waiting = health.run(() => new Promise(() => {}), { abandonAfterMs: 60_000 });
    health.markDown(new Outage("server monitor: connection refused"));
    await expect(waiting).rejects.toMatchObject(unavailable);
    health.close();
  });

  it("never gives up a write in flight (a retried write could save a rotation whose secret nobody saw)", async () => {
    const { health, settle } = harness();
    let save!: (v: string) => void;
    const write = health.run(() => new Promise<string>((r) => (save = r)));
    health.markDown(new Outage("server monitor: connection refused"));
    await settle();
    save("saved");
    await expect(write).resolves.toBe("saved");
    health.close();
  });

  it("goes back to the store as soon as a probe is answered, probing again after each failure", async () => {
    const { health, changes, probes, probeAnswers, settle } = harness();
    health.markDown(new Outage("gone"));
    expect(probes()).toBe(1);
    health.markDown(new Outage("still gone")); // one probe at a time
    expect(probes()).toBe(1);
    probeAnswers().reject(new Outage("refused"));
    // The next probe follows after the probe interval: wait for it rather than for a fixed time (a busy machine).
    await vi.waitFor(() => expect(probes()).toBe(2));
    expect(health.up).toBe(false);
    probeAnswers().resolve();
    await vi.waitFor(() => expect(health.up).toBe(true));
    expect(changes).toEqual([false, true]);
    await expect(health.run(async () => "found")).resolves.toBe("found");
  });

});
