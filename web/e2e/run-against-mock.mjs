#!/usr/bin/env node
// Runs e2e/viewer.e2e.mjs against dev/mock-api.mjs on a free port:
// `npm run e2e:mock` (after `npm run build`). The environment passes through,
// so VIEWER_TOKEN=dev-resource EXPECT_SEARCH=billing npm run e2e:mock tries
// another token; defaults: dev-admin and "invoice".
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const mock = spawn(process.execPath, [join(here, '../dev/mock-api.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((ok, fail) => {
  let out = '';
  mock.stdout.on('data', (d) => {
    out += d;
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) ok(m[1]);
  });
  mock.on('exit', (code) => fail(new Error(`the mock exited (${code}) before listening`)));
  setTimeout(() => fail(new Error('the mock did not start in 10 s')), 10000).unref();
});
mock.stdout.resume();
console.log(`mock API at ${url}`);
const env = { VIEWER_TOKEN: 'dev-admin', EXPECT_SEARCH: 'invoice', ...process.env, VIEWER_URL: url };
const e2e = spawn(process.execPath, [join(here, 'viewer.e2e.mjs')], { stdio: 'inherit', env });
const code = await new Promise((ok) => e2e.on('exit', (c, sig) => ok(c ?? (sig ? 1 : 0))));
mock.kill('SIGTERM');
process.exit(code);
