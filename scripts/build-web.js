#!/usr/bin/env node
// Builds the fleet map page (web/) into dist/web/ for `netbeacon fleet serve`
// to serve: esbuild bundles web/src/main.ts with cytoscape.js and fcose into
// one script (map.js), web/src/prefetch.ts into a small one that the page
// runs first (prefetch.js), and the HTML and CSS are copied beside them. Offline: esbuild's
// binary comes in its npm package. Runs in `prepare` and `npm test`; its
// output is not committed (dist/ is built, like the TypeScript).
'use strict';
const { copyFileSync, mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const out = join(root, 'dist', 'web');

async function main() {
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch (err) {
    process.stderr.write(`build-web: esbuild is not installed (${err.message}); the fleet map needs \`npm install\` with dev dependencies\n`);
    process.exit(1);
  }
  mkdirSync(out, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { map: join(root, 'web', 'src', 'main.ts'), prefetch: join(root, 'web', 'src', 'prefetch.ts') },
    outdir: out,
    bundle: true,
    minify: process.env.NETBEACON_WEB_MINIFY !== '0',
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    // The licences of cytoscape.js, fcose and their layout bases, served beside the script.
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
    tsconfig: join(root, 'web', 'tsconfig.json'),
  });
  for (const f of ['index.html', 'map.css']) copyFileSync(join(root, 'web', f), join(out, f));
  const bytes = Object.entries(result.metafile.outputs).find(([k]) => k.endsWith('map.js'))?.[1].bytes ?? 0;
  writeFileSync(join(out, 'build.json'), JSON.stringify({ built: new Date().toISOString(), esbuild: esbuild.version, bytes }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`build-web: ${err.message}\n`);
  process.exit(1);
});
