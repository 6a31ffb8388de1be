#!/usr/bin/env node
// The npm packages the .deb carries in /usr/lib/netbeacon/node_modules, for
// scripts/package-deb.sh:
//   deb-modules.js copyright NODE_MODULES LICENSES_OUT
//       prints one DEP-5 paragraph per package (the copyright notices of its
//       licence file, which MIT and ISC ask to be kept, and its licence) and
//       writes the licence names used to LICENSES_OUT, one a line;
//   deb-modules.js drop-bins NODE_MODULES
//       removes each package's command-line tools ("bin"): nothing runs them;
//   deb-modules.js drop-licenses NODE_MODULES
//       removes each package's licence and notice files, once the copyright
//       file holds what they say;
//   deb-modules.js drop-build-only NODE_MODULES
//       removes what only installs need: prebuild-install (better-sqlite3's
//       install script tries it before node-gyp; the module is built by
//       then) and every package that nothing else left requires.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** Every package directory under a node_modules, scoped and nested ones too. */
function packages(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir).sort()) {
    if (e.startsWith('.')) continue;
    const p = path.join(dir, e);
    if (e.startsWith('@')) {
      out.push(...packages(p));
      continue;
    }
    if (!fs.existsSync(path.join(p, 'package.json'))) continue;
    out.push(p);
    if (fs.existsSync(path.join(p, 'node_modules'))) out.push(...packages(path.join(p, 'node_modules')));
  }
  return out;
}

const manifest = (p) => JSON.parse(fs.readFileSync(path.join(p, 'package.json'), 'utf8'));

const LICENSE_FILE = /^(licen[cs]e|notice)/i;

function notices(p) {
  const file = fs.readdirSync(p).find((f) => LICENSE_FILE.test(f) && !/^notice/i.test(f));
  if (!file) return [];
  return (
    fs
      .readFileSync(path.join(p, file), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      // A notice names a year or (c): "copyright license to …" and "[yyyy]" in a licence's own text are not notices.
      .filter((l) => /^copyright\s*(\(c\)|©|\d{4})/i.test(l))
      .map((l) => l.replace(/^copyright\s*(\(c\)|©)?\s*/i, ''))
  );
}

function copyright(root, licensesOut) {
  const used = new Set();
  for (const p of packages(root)) {
    const j = manifest(p);
    const license = typeof j.license === 'string' ? j.license : 'UNKNOWN';
    used.add(license);
    const author = typeof j.author === 'string' ? j.author : (j.author && j.author.name) || `the ${j.name} authors`;
    const who = notices(p);
    process.stdout.write(
      [
        '',
        `Files: usr/lib/netbeacon/node_modules/${path.relative(root, p)}/*`,
        `Copyright: ${(who.length ? who : [author]).join('\n ')}`,
        `License: ${license}`,
        `Comment: ${j.name} ${j.version} from the npm registry, as package-lock.json pins it.`,
        '',
      ].join('\n'),
    );
  }
  fs.writeFileSync(licensesOut, [...used].sort().join('\n') + '\n');
}

function dropBins(root) {
  for (const p of packages(root)) {
    const bin = manifest(p).bin;
    for (const b of typeof bin === 'string' ? [bin] : Object.values(bin || {})) fs.rmSync(path.join(p, b), { force: true });
  }
}

function dropLicenses(root) {
  for (const p of packages(root)) for (const f of fs.readdirSync(p)) if (LICENSE_FILE.test(f)) fs.rmSync(path.join(p, f), { force: true, recursive: true });
}

const BUILD_ONLY = new Set(['prebuild-install']);

/** Node's resolution of `name` from package directory `from`, inside root's parent. */
function resolvePackage(root, from, name) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === path.dirname(root) || dir === path.dirname(dir)) return null;
  }
}

function dropBuildOnly(root) {
  const app = path.dirname(root);
  const keep = new Set();
  const walk = (dir) => {
    const j = manifest(dir);
    for (const name of Object.keys({ ...j.dependencies, ...j.optionalDependencies })) {
      if (BUILD_ONLY.has(name)) continue;
      const p = resolvePackage(root, dir, name);
      if (p && !keep.has(p)) {
        keep.add(p);
        walk(p);
      }
    }
  };
  walk(app);
  for (const p of packages(root).reverse()) if (!keep.has(p) && fs.existsSync(p)) fs.rmSync(p, { recursive: true, force: true });
  // Scope directories left empty.
  for (const e of fs.readdirSync(root)) if (e.startsWith('@') && fs.readdirSync(path.join(root, e)).length === 0) fs.rmdirSync(path.join(root, e));
}

const [cmd, root, out] = process.argv.slice(2);
if (cmd === 'copyright' && root && out) copyright(root, out);
else if (cmd === 'drop-bins' && root) dropBins(root);
else if (cmd === 'drop-licenses' && root) dropLicenses(root);
else if (cmd === 'drop-build-only' && root) dropBuildOnly(root);
else {
  process.stderr.write(
    'usage: deb-modules.js copyright NODE_MODULES LICENSES_OUT | drop-bins NODE_MODULES | drop-licenses NODE_MODULES | drop-build-only NODE_MODULES\n',
  );
  process.exit(2);
}
