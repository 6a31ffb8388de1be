#!/usr/bin/env node
// Builds the native addon during `npm install`. A failed build never fails
// the install: netbeacon then runs its pure-JS engine, and the reason is kept
// in build/native-status.json for `netbeacon doctor` to report.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const statusFile = path.join(root, 'build', 'native-status.json');

function record(status) {
  fs.mkdirSync(path.dirname(statusFile), { recursive: true });
  fs.writeFileSync(statusFile, JSON.stringify({ ...status, at: new Date().toISOString() }) + '\n');
}

if (process.env.NETBEACON_SKIP_NATIVE_BUILD) {
  console.log('netbeacon: NETBEACON_SKIP_NATIVE_BUILD is set: not building the addon (JS engine only)');
  process.exit(0);
}
if (process.platform !== 'linux') {
  record({ built: false, reason: `platform ${process.platform} is not Linux` });
  console.log(`netbeacon: the native engine needs Linux (this is ${process.platform}); using the JS engine`);
  process.exit(0);
}

// node-gyp: the pinned devDependency in a checkout; in an installed package
// (npm install -g, the .deb's npm ci --omit=dev) the one npm runs scripts
// with, which npm names in npm_config_node_gyp; else npm's own copy.
let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
} catch {
  const npmGyp = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const fromNpm = process.env.npm_config_node_gyp;
  gyp = fromNpm && fs.existsSync(fromNpm) ? fromNpm : fs.existsSync(npmGyp) ? npmGyp : null;
}
if (!gyp) {
  record({ built: false, reason: 'node-gyp was not found' });
  console.warn('netbeacon: node-gyp was not found; the native engine is not built, the JS engine will be used');
  process.exit(0);
}

const args = [gyp, 'rebuild'];
// Build against the headers of the Node that runs us (they carry OpenSSL 3
// and zlib); never download headers, which fails without internet.
const nodedir = process.env.npm_config_nodedir || path.resolve(path.dirname(process.execPath), '..');
if (fs.existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodedir}`);
if (process.env.NETBEACON_NATIVE_DEBUG) args.push('--debug');
const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (r.status === 0) {
  record({ built: true });
  process.exit(0);
}
const tail = (r.stderr || String(r.error || '')).trim().split('\n').slice(-15).join('\n');
process.stderr.write(tail + '\n');
record({ built: false, reason: `node-gyp rebuild exited ${r.status}`, detail: tail });
console.warn('netbeacon: the native addon failed to build (see above); the JS engine will be used. `netbeacon doctor` says more.');
process.exit(0);
