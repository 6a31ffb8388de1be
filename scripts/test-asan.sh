#!/usr/bin/env bash
# The tap suite over the addon built with AddressSanitizer and
# UndefinedBehaviorSanitizer, then a LeakSanitizer pass over the tests that
# drive the addon.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/test-asan.sh                    the whole suite, then the leak pass (npm run test:asan)
       scripts/test-asan.sh --ci               the named subset CI runs, then the leak pass
       scripts/test-asan.sh TEST_FILE...       those files only (npm run test:asan -- TEST_FILE...)
       scripts/test-asan.sh --help

1. Builds build-cmake/asan/netbeacon.node (node scripts/native-cmake.js asan)
   and the TypeScript.
2. Runs tap over the whole suite (every test/**/*.test.ts, the
   integration tests too when run as root), the CI subset, or TEST_FILE..., with
   that addon loaded in every node process: NETBEACON_ADDON names it, and
   LD_PRELOAD the sanitizer runtime (node itself is not instrumented, so
   the runtime must be in the process before the addon). Leak detection is
   off here (see below). Coverage thresholds are npm test's business.
3. The leak pass: the unit tests that drive the addon, each in one node
   process with LeakSanitizer on and the suppressions in
   scripts/lsan-node.supp (each one explained there).
Fails on any failing test and on any sanitizer report, from any process
(a report in a child that a test killed counts too): reports are written
to a temporary directory, printed at the end, and kept.

Why leaks are checked apart: LeakSanitizer cannot see into V8's heap
(mmap'ed pages, not malloc), so every malloc'ed block that only the JS heap
points to looks lost when a node process ends without tearing V8 down
(process.exit(), which every CLI run in the suite does): hundreds of false
reports from node itself. Test files that end by themselves tear the
environment down, finalizers run, and what is left is real.

Environment: ASAN_TEST_JOBS (tap's --jobs, default tap's config);
NETBEACON_TEST_TIMING_SCALE (default 3: how much the tests bound by the
wall clock, test/helpers/timing.ts, stretch their bounds);
ASAN_TEST_TIMEOUT (seconds per test file, default 900, three times npm
test's 300: under the sanitizers every node process starts and runs 3-4
times slower, `netbeacon --help` 2.9 s against 0.67 s, and the slowest
file, the bench smoke, takes 150 s without them).
EOF
}

# The unit tests that drive the addon: the leak pass runs these.
leak_tests=(
  test/unit/native-verifier.test.ts
  test/unit/verifier-suite.test.ts
  test/unit/line-encoder.test.ts
  test/unit/engine-agreement.test.ts
  test/unit/frame-native.test.ts
  test/unit/bpf.test.ts
  test/unit/capture-record.test.ts
  test/unit/raw-send.test.ts
  test/unit/live-capture.test.ts
)
# What CI runs every time (the whole suite does not fit its time; see the
# README): those unit tests, observe's native line writer over a capture
# file, and the integration tests where the native capture meets real
# packets on veths: the key ring through a running agent (key-rotation),
# stripped and in-band tags sent raw (vlans), an interface deleted under a
# running ring and a consumer too slow for a flood (live-capture-ops).
ci_tests=(
  "${leak_tests[@]}"
  test/unit/binding.test.ts
  test/cli/observe.test.ts
  test/integration/key-rotation.test.ts
  test/integration/vlans.test.ts
  test/integration/live-capture-ops.test.ts
)

leak_pass=1
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --ci)
    [ $# -eq 1 ] || { usage >&2; exit 2; }
    set -- "${ci_tests[@]}"
    ;;
  -*) usage >&2; exit 2 ;;
  "") ;;
  *) leak_pass=0 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
addon="$root/build-cmake/asan/netbeacon.node"

node scripts/native-cmake.js asan
npx tsc -p tsconfig.json

runtime="$(clang -print-file-name=libclang_rt.asan-x86_64.so)"
[ -f "$runtime" ] || { echo "test-asan.sh: the ASan runtime was not found (clang -print-file-name gave $runtime; Debian: libclang-rt-dev)" >&2; exit 1; }
reports="$(mktemp -d "${TMPDIR:-/tmp}/netbeacon-asan.XXXXXX")"

# Only node and what node runs get the runtime: not this script's own tools.
# halt_on_error: the first report ends the process (the addon is built with
# -fno-sanitize-recover=all, for UBSan too). log_path: reports go to files
# named for the process, found afterwards whatever became of its stderr.
# quarantine_size_mb=16 (default 256): freed memory stays poisoned, for
# use-after-free reports, until 16 MiB more is freed. Every node process
# allocates through the runtime, and the default quarantine was most of
# its cost: `netbeacon --help` took 1.6 s of CPU with it, 1.0-1.2 s with
# 8-16 MiB, 0.4 s without the runtime.
common="halt_on_error=1:log_path=$reports/report:quarantine_size_mb=16"
# The few tests bound by the wall clock (test/helpers/timing.ts) allow
# three times their bounds here: the sanitizers slow every process 3-4x.
san=(env "LD_PRELOAD=$runtime${LD_PRELOAD:+ $LD_PRELOAD}" "NETBEACON_ADDON=$addon" "UBSAN_OPTIONS=print_stacktrace=1:$common"
  "NETBEACON_TEST_TIMING_SCALE=${NETBEACON_TEST_TIMING_SCALE:-3}")

# The addon the suite will use, loaded as every test process will load it.
"${san[@]}" "ASAN_OPTIONS=detect_leaks=0:$common" node -e '
const s = require("./dist/src/engine/binding.js").loadBinding();
if (!s.ok || s.path !== process.env.NETBEACON_ADDON) { console.error("test-asan.sh: the ASan addon does not load:", s.ok ? s.path : s.detail); process.exit(1); }
console.log("test-asan.sh: every node process loads", s.path);
'

failed=0
start=$(date +%s)
jobs=()
if [ -n "${ASAN_TEST_JOBS:-}" ]; then jobs=(--jobs "$ASAN_TEST_JOBS"); fi
echo "test-asan.sh: tap over ${*:-the whole suite}; sanitizer reports go to $reports"
started_suite=$(date +%s)
"${san[@]}" "ASAN_OPTIONS=detect_leaks=0:$common" npx tap --disable-coverage --timeout "${ASAN_TEST_TIMEOUT:-900}" ${jobs[@]+"${jobs[@]}"} "$@" || failed=1
echo "test-asan.sh: the suite took $(($(date +%s) - started_suite)) s"
if compgen -G "$reports/report.*" >/dev/null; then
  echo "test-asan.sh: sanitizer reports from the suite:" >&2
  for r in "$reports"/report.*; do echo "--- $r" >&2; cat "$r" >&2; done
  failed=1
fi

# --- the leak pass ---------------------------------------------------------------
# Each file straight in node, as tap runs it (transpiled, not type-checked),
# with LeakSanitizer on. exitcode=0: a leak report changes no exit status,
# so a test that checks a child's exit (ip, tcpdump, python3 get the
# runtime too) is not thrown off by that program's own leaks; the reports
# are judged here instead: one with a frame in the addon fails the run (a
# leak planted in NativeVerifier::Verify was reported at its line).
if [ $leak_pass -eq 1 ]; then
  leaks="$reports/leaks"
  mkdir -p "$leaks"
  lcommon="halt_on_error=1:log_path=$leaks/report"
  lsan=("${san[@]}" "UBSAN_OPTIONS=print_stacktrace=1:$lcommon" "ASAN_OPTIONS=detect_leaks=1:$lcommon"
        "LSAN_OPTIONS=suppressions=$root/scripts/lsan-node.supp:print_suppressions=0:exitcode=0"
        TS_NODE_TRANSPILE_ONLY=1 TAP_TIMEOUT=300 NETBEACON_AGREEMENT_ITEMS=3000)
  loaders=(--import="file://$root/node_modules/@tapjs/typescript/dist/esm/import.mjs"
           --import="file://$root/node_modules/@tapjs/mock/dist/esm/import.mjs")
  lstart=$(date +%s)
  for f in "${leak_tests[@]}"; do
    log="$reports/$(basename "$f").log"
    if "${lsan[@]}" node "${loaders[@]}" "$f" >"$log" 2>&1; then
      echo "test-asan.sh: leak pass: $f: $(grep -E '^# \{' "$log" | tail -n 1)"
    else
      echo "test-asan.sh: leak pass: $f FAILED (log: $log)" >&2
      tail -n 20 "$log" >&2
      failed=1
    fi
  done
  for r in "$leaks"/report.*; do
    [ -f "$r" ] || continue
    # The addon's frames: its source files when symbolised, else its module.
    if grep -q 'ERROR: LeakSanitizer' "$r" && ! grep -qF -e "$root/native/" -e 'netbeacon.node' "$r"; then
      echo "test-asan.sh: leak pass: not the addon's, ignored: $r ($(grep -oE '\(/[^+)]+' "$r" | grep -v libclang_rt | awk 'NR == 1 { print substr($0, 2) }'), $(grep -m1 SUMMARY "$r"))"
    else
      echo "--- $r" >&2
      cat "$r" >&2
      failed=1
    fi
  done
  echo "test-asan.sh: the leak pass took $(($(date +%s) - lstart)) s"
fi

if [ $failed -ne 0 ]; then
  echo "test-asan.sh: FAILED (logs and reports kept in $reports)" >&2
  exit 1
fi
rm -rf "$reports"
echo "test-asan.sh: passed, no sanitizer report from the addon, in $(($(date +%s) - start)) s"
