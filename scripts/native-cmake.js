#!/usr/bin/env node
// Configures and builds the native quality build (CMakeLists.txt) through
// cmake-js: the ASan addon, the C++ tests, the fuzz target. The install-time
// build stays node-gyp's (scripts/build-native.js).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const TARGETS = ['asan', 'tests', 'fuzz'];

function usage() {
  return `Usage: node scripts/native-cmake.js [--out DIR] TARGET...    (TARGET: ${TARGETS.join(', ')}, configure)
       node scripts/native-cmake.js --help

Builds the native quality build's targets with cmake-js into DIR (default
build-cmake/; not build/, which node-gyp deletes on every rebuild):
  asan       DIR/asan/netbeacon.node, the addon under ASan and UBSan
             (npm run test:asan loads it into the tap suite);
  tests      DIR/native_tests, the C++ unit tests (run by ctest: npm run test:native);
  fuzz       DIR/fuzz_verify, the libFuzzer target (scripts/fuzz.sh);
  configure  only configure: DIR/compile_commands.json, for clang-tidy.

Headers are this Node's own (<prefix>/include/node, or $npm_config_nodedir),
as scripts/build-native.js gives node-gyp: nothing is downloaded. Needs
cmake, clang and, for the tests, GoogleTest (Debian: cmake clang
libclang-rt-dev libgtest-dev).`;
}

/** The Node prefix whose include/node has the headers (N-API, OpenSSL 3, zlib). */
function nodeDir() {
  const dirs = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')].filter(Boolean);
  return dirs.find((d) => fs.existsSync(path.join(d, 'include', 'node', 'node_api.h')));
}

function fail(message) {
  console.error(`native-cmake: ${message}`);
  process.exit(1);
}

function main(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  let out = path.join(root, 'build-cmake');
  const targets = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = path.resolve(argv[++i] ?? fail('--out needs a directory'));
    else if (TARGETS.includes(argv[i]) || argv[i] === 'configure') targets.push(argv[i]);
    else fail(`unknown argument ${argv[i]}\n${usage()}`);
  }
  if (targets.length === 0) fail(`no target given\n${usage()}`);

  const nodedir = nodeDir();
  if (!nodedir)
    fail(`Node's headers were not found (no include/node/node_api.h under $npm_config_nodedir or ${path.resolve(path.dirname(process.execPath), '..')})`);
  for (const tool of ['cmake', 'clang++']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0)
      fail(`${tool} is not installed (Debian: apt-get install cmake clang libclang-rt-dev libgtest-dev)`);
  }
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  // cmake-js takes the headers' directory from npm's nodedir setting, and
  // downloads headers only when <nodedir>/include/node/node.h is missing,
  // which nodeDir() has ruled out.
  const env = { ...process.env, npm_config_nodedir: nodedir };
  const common = ['--directory', root, '--out', out, '--debug', '--CDCMAKE_CXX_COMPILER=clang++', `--CDNODE_EXECUTABLE=${process.execPath}`];
  const run = (args) => {
    const r = spawnSync(process.execPath, [cmakeJs, ...args, ...common], { cwd: root, env, stdio: 'inherit' });
    if (r.status !== 0) fail(`cmake-js ${args.join(' ')} exited ${r.status ?? r.signal}`);
  };
  // cmake-js configures on the first build only; CMake re-runs its own
  // configure step when CMakeLists.txt or native/ changes.
  if (targets.includes('configure') || !fs.existsSync(path.join(out, 'CMakeCache.txt'))) run(['configure']);
  for (const t of targets.filter((x) => x !== 'configure')) {
    run(['build', '--target', t, '--parallel', String(Math.max(1, require('node:os').availableParallelism()))]);
  }
}

main(process.argv.slice(2));
