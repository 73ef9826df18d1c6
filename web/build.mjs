// Builds the viewer into dist/: viewer.js (Lit and the element in one
// classic script), viewer.css (the page around it), index.html and embed.html.
// `node build.mjs --dev` leaves it unminified with a source map.
// dist/README.md is committed and left alone; nothing else is deleted.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const dev = process.argv.includes('--dev');

await mkdir(dist, { recursive: true });
// A dev build is not what `make web` builds: drop its stamp so that the next
// `make web` (and so `make build`) builds again. A release build has no map.
for (const f of dev ? ['.stamp'] : ['viewer.js.map', 'viewer.css.map']) await rm(join(dist, f), { force: true });
const common = {
  bundle: true,
  minify: !dev,
  sourcemap: dev ? 'linked' : false,
  legalComments: 'eof',
  logLevel: 'warning',
  // The service's CSP has no 'unsafe-eval': esbuild emits none, and no
  // dependency may bring it in (the e2e script fails on a CSP violation).
};
const result = await build({
  ...common,
  entryPoints: { viewer: join(here, 'src/viewer.js') },
  outdir: dist,
  // A classic script, not a module: another origin's page can load it
  // without CORS (<script src=".../viewer.js" defer>).
  format: 'iife',
  target: ['es2022', 'chrome111', 'firefox115', 'safari16.4'],
  metafile: true,
});
await build({ ...common, entryPoints: { viewer: join(here, 'src/page.css') }, outdir: dist });
for (const page of await readdir(join(here, 'pages'))) {
  await copyFile(join(here, 'pages', page), join(dist, page));
}
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`dist/viewer.js: ${bytes} bytes${dev ? ' (dev)' : ''}`);
