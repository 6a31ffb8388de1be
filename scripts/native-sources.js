#!/usr/bin/env node
// The addon's sources, in one place for both of its builds: binding.gyp
// (node-gyp, what `npm install` runs) and CMakeLists.txt (cmake-js: the
// ASan addon, the C++ tests, the fuzz target). The rule is the list: every
// native/*.cc except the fuzz harnesses (native/fuzz_*.cc); the C++ tests
// live in native/test/, below the glob. So a new native file needs no edit
// anywhere, and the two builds cannot compile different files
// (test/unit/native-sources.test.ts checks what each really compiled).
//
//   node scripts/native-sources.js           native/a.cc native/b.cc ...  (gyp's <!@())
//   node scripts/native-sources.js --cmake   native/a.cc;native/b.cc;...  (a CMake list)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function addonSources(root = path.resolve(__dirname, '..')) {
  return fs
    .readdirSync(path.join(root, 'native'))
    .filter((f) => f.endsWith('.cc') && !f.startsWith('fuzz_'))
    .sort()
    .map((f) => `native/${f}`);
}

module.exports = { addonSources };

if (require.main === module) {
  process.stdout.write(addonSources().join(process.argv.includes('--cmake') ? ';' : ' '));
}
