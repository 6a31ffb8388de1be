#!/usr/bin/env bash
# Runs the native verifier's tests under valgrind and fails on a definite leak.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/leakcheck.sh
       scripts/leakcheck.sh --help

Runs, each in node under valgrind memcheck (--leak-check=full
--errors-for-leak-kinds=definite --error-exitcode=1):
  1. test/unit/native-verifier.test.ts (every native path, argument errors);
  2. test/unit/engine-agreement.test.ts with a few thousand mutations;
  3. test/unit/line-encoder.test.ts (observe's C++ lines, native vs JS);
  4. a churn driver that creates and drops many NativeVerifier objects and
     forces garbage collection, so that their destructors run before exit
     and anything they fail to free is reported as definitely lost.
Exits non-zero on a definite leak, on any memcheck error (invalid read or
write, use of uninitialised memory) or on a failing test. Logs are kept
in a temporary directory whose name is printed.

Needs the addon built (npm run build:native); installs valgrind with
apt-get when it is missing. Takes a few minutes: node runs ~30x slower
under valgrind.
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Logs go outside build/: a concurrent `node-gyp rebuild` deletes build/.
logs="$(mktemp -d "${TMPDIR:-/tmp}/netbeacon-leakcheck.XXXXXX")"

if ! command -v valgrind >/dev/null; then
  echo "leakcheck.sh: installing valgrind" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi
if [ ! -f build/Release/netbeacon.node ]; then
  echo "leakcheck.sh: build/Release/netbeacon.node is missing: run npm run build:native" >&2
  exit 1
fi

# V8's garbage collector scans the machine stack conservatively, reading
# slots nobody initialised: by design, not a bug, so it is suppressed.
supp="$logs/v8.supp"
cat >"$supp" <<'EOF'
{
   v8-conservative-stack-scan-cond
   Memcheck:Cond
   fun:*IteratePointersInStack*
}
{
   v8-conservative-stack-scan-value
   Memcheck:Value8
   fun:*IteratePointersInStack*
}
EOF
# V8 generates code at run time: memcheck must re-check self-modified code.
vg=(valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --error-exitcode=1 --smc-check=all-non-file --num-callers=30 --suppressions="$supp")
loaders=(--expose-gc
         --import="file://$root/node_modules/@tapjs/typescript/dist/esm/import.mjs"
         --import="file://$root/node_modules/@tapjs/mock/dist/esm/import.mjs")

failed=0
run() {
  local name="$1"
  shift
  echo "leakcheck.sh: $name (logs: $logs/$name.*)"
  if "${vg[@]}" --log-file="$logs/$name.valgrind" "$@" >"$logs/$name.log" 2>&1; then
    grep -E "definitely lost|ERROR SUMMARY" "$logs/$name.valgrind" | sed 's/^==[0-9]*== /  /'
  else
    failed=1
    echo "leakcheck.sh: $name FAILED" >&2
    tail -n 15 "$logs/$name.log" >&2 || true
    grep -E -A 25 "definitely lost in|Invalid (read|write)|uninitialised" "$logs/$name.valgrind" | head -n 80 >&2 || true
  fi
}

# Tests run straight in node (no tap runner, whose children valgrind would
# not follow); under valgrind they need far more than tap's 30 s default.
export TAP_TIMEOUT=0
run native-verifier node "${loaders[@]}" test/unit/native-verifier.test.ts
NETBEACON_AGREEMENT_ITEMS=3000 run engine-agreement node "${loaders[@]}" test/unit/engine-agreement.test.ts
run line-encoder node "${loaders[@]}" test/unit/line-encoder.test.ts
run churn node --expose-gc - <<'JS'
// Each NativeVerifier owns OpenSSL contexts, a z_stream and buffers; drop
// many of them and collect, so that leaks in their teardown are "definite".
const b = require('./build/Release/netbeacon.node');
const key = new Uint8Array(16).fill(7);
const data = Uint8Array.of(2, 1, 0, 0, 2, 1, 0, 80, ...new Uint8Array(80).fill(0x80));
const offsets = Uint32Array.of(0, 4, data.length);
const now = Float64Array.of(1e9, 1e9);
for (let i = 0; i < 200; i++) {
  const v = new b.NativeVerifier(key, key);
  v.verify(data, offsets, now, 2);
  v.observeLines(data, offsets, now, 2, new Uint8Array(4096));
  try { new b.NativeVerifier(key, new Uint8Array(3)); } catch { /* RangeError after allocation-free checks */ }
}
(async () => {
  for (let i = 0; i < 5; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  console.log('churn done');
})();
JS

if [ $failed -ne 0 ]; then
  echo "leakcheck.sh: FAILED" >&2
  exit 1
fi
echo "leakcheck.sh: no definite leak, no memcheck error"
