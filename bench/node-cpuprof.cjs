// Preloaded into the TUS server by bench/serverprof.py (NODE_OPTIONS=--require ...): V8's CPU
// profiler runs for the life of the process and the profile is written, when the process exits,
// to $BENCH_CPUPROF_DIR/<pid>.cpuprofile (Chrome DevTools format). `--cpu-prof` itself is not
// allowed in NODE_OPTIONS, and tests/tus_server.py starts the server with its own command line.
'use strict';

const fs = require('node:fs');
const inspector = require('node:inspector');
const path = require('node:path');

const directory = process.env.BENCH_CPUPROF_DIR;
if (directory) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // In-process inspector sessions answer synchronously, so this runs before the process ends.
    session.post('Profiler.stop', (err, result) => {
      if (!err) {
        fs.writeFileSync(path.join(directory, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
      }
    });
  });
}
