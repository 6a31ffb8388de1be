#!/usr/bin/env bash
# Fuzzes the native verifier and observe's line writers: builds the cmake-js
# `fuzz` target (CMakeLists.txt), seeds it and runs it.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/fuzz.sh [SECONDS]      fuzz for SECONDS (default 60)
       scripts/fuzz.sh --repro FILE   run one input (a crash-* file) and show what it does
       scripts/fuzz.sh --help

Fuzzes netbeacon::Verifier::Verify and KeyRing::Verify (native/verify.cc,
keyring.cc and what they use), and observe's C++ line writers (BsonToJson,
ParseFrame, LinePrefix/Suffix in native/observe_lines.cc) with libFuzzer
under AddressSanitizer and UndefinedBehaviorSanitizer (native/fuzz_verify.cc
says how an input is used). Exits non-zero when the fuzzer finds a crash, a
sanitizer report, a leak or a broken contract check; the reproducer is left
in build-cmake/fuzz/ (replay it with --repro). Prints the number of
executions at the end.

Seeds, in a fresh temporary corpus: native/fuzz/corpus/ (a minimised corpus
kept in the repo), every UDP payload and frame of
../shared/vectors/maas/corpus.cases.jsonl, the gzip plaintexts inside its
authentic tokens and their BSON. The key is derived from
../shared/vectors/maas/secret.

Build: node scripts/native-cmake.js fuzz (cmake-js, clang, Node's own
headers; needs cmake clang libclang-rt-dev).
Environment: FUZZ_JOBS (parallel fuzzing processes, default 1),
FUZZ_ARGS (extra libFuzzer flags), FUZZ_MERGE_INTO (after a run with no
crash, merge into that directory the inputs that add coverage to it:
FUZZ_MERGE_INTO=native/fuzz/corpus scripts/fuzz.sh 600 refreshes the kept
corpus).
EOF
}

root="$(cd "$(dirname "$0")/.." && pwd)"
vectors="$root/../shared/vectors/maas"
out="$root/build-cmake/fuzz"
bin="$root/build-cmake/fuzz_verify"

repro=""
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --repro)
    [ $# -eq 2 ] && [ -f "$2" ] || { usage >&2; exit 2; }
    repro="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
    ;;
  *)
    [ $# -le 1 ] && [[ "${1:-60}" =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }
    ;;
esac
SECONDS_TO_RUN="${1:-60}"
merge_into=""
if [ -n "${FUZZ_MERGE_INTO:-}" ]; then
  mkdir -p "$FUZZ_MERGE_INTO"
  merge_into="$(cd "$FUZZ_MERGE_INTO" && pwd)"
fi

node "$root/scripts/native-cmake.js" fuzz
mkdir -p "$out"
export NETBEACON_FUZZ_SECRET_FILE="$vectors/secret"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

if [ -n "$repro" ]; then
  exec "$bin" -runs=1 "$repro"
fi

# --- seeds ---------------------------------------------------------------------------
corpus="$(mktemp -d "${TMPDIR:-/tmp}/netbeacon-fuzz.XXXXXX")"
trap 'rm -rf "$corpus"' EXIT
if [ -d "$root/native/fuzz/corpus" ]; then cp "$root/native/fuzz/corpus/"* "$corpus/" 2>/dev/null || true; fi
node - "$vectors" "$corpus" <<'JS'
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const [vectors, dir] = process.argv.slice(2);
const secret = Buffer.from(fs.readFileSync(path.join(vectors, 'secret'), 'utf8').trim(), 'hex');
const key = crypto.pbkdf2Sync(secret, Buffer.alloc(0), 100000, 32, 'sha256');
let n = 0;
const seed = (mode, bytes) => fs.writeFileSync(path.join(dir, `seed-${n++}`), Buffer.concat([Buffer.from([mode]), bytes]));
for (const line of fs.readFileSync(path.join(vectors, 'corpus.cases.jsonl'), 'utf8').trim().split('\n')) {
  const c = JSON.parse(line);
  seed(3, Buffer.from(c.frame_hex, 'hex'));
  if (c.udp_payload_hex == null) continue;
  const d = Buffer.from(c.udp_payload_hex, 'hex');
  seed(0, d);
  const len = d.length >= 4 ? d.readUInt16BE(2) : 0;
  if (len < 73 || d.length < 4 + len || d[4] !== 0x80) continue;
  const tok = d.subarray(4, 4 + len);
  const mac = crypto.createHmac('sha256', key.subarray(0, 16)).update(tok.subarray(0, len - 32)).digest();
  if (!mac.equals(tok.subarray(len - 32))) continue;
  const dec = crypto.createDecipheriv('aes-128-cbc', key.subarray(16), tok.subarray(9, 25));
  try {
    const plain = Buffer.concat([dec.update(tok.subarray(25, len - 32)), dec.final()]);
    seed(1, plain);
    seed(2, plain);
    try { seed(3, require('zlib').gunzipSync(plain)); } catch { /* not gzip: the other seeds cover it */ }
  } catch { /* bad padding: the datagram seed covers it */ }
}
console.log(`fuzz.sh: ${n} seeds from the MAAS vectors, ${fs.readdirSync(dir).length} inputs in all, in ${dir}`);
JS

# --- run -------------------------------------------------------------------------------
# -jobs sends each worker's output to a log file (fuzz-N.log in $out); only
# ask for it when parallel fuzzing is wanted.
jobs=${FUZZ_JOBS:-1}
jobs_args=()
if [ "$jobs" -gt 1 ]; then jobs_args=(-jobs="$jobs" -workers="$jobs"); fi
echo "fuzz.sh: fuzzing for ${SECONDS_TO_RUN}s"
cd "$out"
rm -f fuzz-*.log
log="$(mktemp "${TMPDIR:-/tmp}/netbeacon-fuzz-log.XXXXXX")"
set +e
"$bin" -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=65600 \
  ${jobs_args[@]+"${jobs_args[@]}"} ${FUZZ_ARGS:-} "$corpus" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# libFuzzer's final stats, per process: stat::number_of_executed_units.
logs=("$log")
for f in fuzz-*.log; do [ -f "$f" ] && logs+=("$f"); done
execs=$(awk '/^stat::number_of_executed_units:/ { n += $2 } END { print n + 0 }' "${logs[@]}")
rm -f "$log"
echo "fuzz.sh: $execs executions in ${SECONDS_TO_RUN}s ($jobs process(es), $((execs / (SECONDS_TO_RUN > 0 ? SECONDS_TO_RUN : 1)))/s)"
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: FAILED (libFuzzer exit $rc); reproducers: $(ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null | tr '\n' ' ')" >&2
  echo "fuzz.sh: replay one with: scripts/fuzz.sh --repro FILE" >&2
  exit $rc
fi
echo "fuzz.sh: no crash in ${SECONDS_TO_RUN}s"
if [ -n "$merge_into" ]; then
  before=$(ls "$merge_into" | wc -l)
  "$bin" -merge=1 -max_len=65600 "$merge_into" "$corpus" >/dev/null 2>&1
  echo "fuzz.sh: $merge_into: $before inputs before the merge, $(ls "$merge_into" | wc -l) after"
fi
