// Preloaded into the server by `npm run bench -- --profile` (NODE_OPTIONS=--require …; --cpu-prof itself is not
// allowed in NODE_OPTIONS): samples the CPU from start-up and writes a .cpuprofile into $FLUX_BENCH_CPU_PROF_DIR at exit.
const { Session } = require("node:inspector");
const { writeFileSync } = require("node:fs");
const path = require("node:path");

const dir = process.env.FLUX_BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 250 });
  session.post("Profiler.start");
  const wallStartMs = Date.now();
  process.once("exit", () => {
    // An in-process session answers synchronously, so this runs before the process is gone.
    session.post("Profiler.stop", (err, res) => {
      if (!err) writeFileSync(path.join(dir, `server-${process.pid}.cpuprofile`), JSON.stringify({ ...res.profile, wallStartMs }));
    });
  });
}
