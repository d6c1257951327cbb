// The Rust SDK as crates.io gets it: `cargo package` builds the crate from the packaged files alone (the protos
// inside it, nothing from outside), with the metadata crates.io shows and tonic's rustls TLS.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, run } from "./support.js";

const CRATE = join(ROOT, "clients/rust");
interface Meta {
  name: string;
  version: string;
  license: string;
  description: string;
  repository: string;
  readme: string;
  keywords: string[];
  categories: string[];
  publish: string[] | null;
  dependencies: { name: string; features: string[] }[];
}
let meta: Meta;
let listed: string[];

beforeAll(async () => {
  const { stdout } = await run("cargo", ["metadata", "--no-deps", "--format-version", "1", "--locked"], { cwd: CRATE });
  meta = JSON.parse(stdout).packages[0];
  listed = (await run("cargo", ["package", "--list", "--allow-dirty", "--locked"], { cwd: CRATE })).stdout.trim().split("\n");
});

describe("the flux_sdk crate", () => {
  it("packages and builds from the packaged files alone (cargo package verifies)", async () => {
    // --allow-dirty: the check is about what would ship, while the working tree may hold edits in progress.
    const { stderr } = await run("cargo", ["package", "--locked", "--allow-dirty"], { cwd: CRATE, timeoutMs: 600_000 });
    const size = /Packaged (\d+) files, ([\d.]+\w+) \(([\d.]+\w+) compressed\)/.exec(stderr);
    console.log(`flux_sdk crate: ${size?.[1]} files, ${size?.[2]} (${size?.[3]} compressed)`);
    expect(stderr).toMatch(/Verifying flux_sdk/);
    expect(stderr).not.toMatch(/^warning/m);
  }, 600_000);

  it("ships the protos build.rs compiles, byte for byte those of the repository's proto/", () => {
    const protos = listed.filter((f) => f.startsWith("proto/"));
    const inRepo = readdirSync(join(ROOT, "proto/flux"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".proto"));
    expect(protos.sort()).toEqual(inRepo.map((f) => `proto/flux/${f}`).sort());
    for (const f of protos) expect(readFileSync(join(CRATE, f)).equals(readFileSync(join(ROOT, f))), f).toBe(true);
    expect(readFileSync(join(CRATE, "build.rs"), "utf8")).not.toContain("../");
    expect(listed).toEqual(expect.arrayContaining(["LICENSE", "README.md", "build.rs", "src/lib.rs"]));
  });

  it("has the metadata crates.io shows: Apache-2.0, description, repository, readme, keywords, categories", () => {
    expect(meta).toMatchObject({ name: "flux_sdk", license: "Apache-2.0", readme: "README.md" });
    expect(meta.description.length).toBeGreaterThan(20);
    expect(meta.repository).toMatch(/^https:\/\//);
    expect(meta.keywords.length).toBeGreaterThan(0);
    expect(meta.keywords.length).toBeLessThanOrEqual(5);
    expect(meta.categories.length).toBeGreaterThan(0);
    expect(meta.publish).toBeNull(); // publishable
    expect(readFileSync(join(CRATE, "LICENSE"), "utf8")).toBe(readFileSync(join(ROOT, "LICENSE"), "utf8"));
  });

  it("enables tonic's rustls TLS with the system's roots, so https:// addresses work", () => {
    const tonic = meta.dependencies.find((d) => d.name === "tonic")!;
    expect(tonic.features).toEqual(expect.arrayContaining(["tls-ring", "tls-native-roots"]));
  });
});
