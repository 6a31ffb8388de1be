#!/usr/bin/env bash
# Builds native/fuzz_verify.cc with libFuzzer, ASan and UBSan and runs it.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/fuzz.sh [SECONDS]      (default 60)
       scripts/fuzz.sh --help

Fuzzes netbeacon::Verifier::Verify and KeyRing::Verify (native/verify.cc, keyring.cc and what they use),
and observe's C++ line writers (BsonToJson, ParseFrame, LinePrefix/Suffix in native/observe_lines.cc) for
SECONDS with libFuzzer under AddressSanitizer and UndefinedBehaviorSanitizer.
Exits non-zero when the fuzzer finds a crash, a sanitizer report, a leak or
a broken contract check; the reproducer is left in build/fuzz/.

Seeds: every UDP payload and frame of ../shared/vectors/maas/corpus.cases.jsonl,
the gzip plaintexts inside its authentic tokens and their BSON, in a fresh temporary
corpus directory. The key is derived from ../shared/vectors/maas/secret.

Headers: OpenSSL 3 and zlib from Node's own include directory, as the addon
uses. The fuzz binary is not loaded into node, so it links the system's
runtime libraries by path (libcrypto.so.3 and libz.so.1 from the libssl3
and zlib1g packages; OpenSSL 3.x keeps its ABI across minor versions), so
no -dev package is needed. Missing clang, compiler-rt (libFuzzer) or those
runtimes are installed with apt-get.

Environment: FUZZ_JOBS (parallel fuzzing processes, default 1),
FUZZ_ARGS (extra libFuzzer flags).
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
esac
SECONDS_TO_RUN="${1:-60}"
[[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }

root="$(cd "$(dirname "$0")/.." && pwd)"
vectors="$root/../shared/vectors/maas"
out="$root/build/fuzz"
mkdir -p "$out"

apt_install() {
  echo "fuzz.sh: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- toolchain ---------------------------------------------------------------
if ! command -v clang++ >/dev/null; then apt_install clang; fi
major="$(clang++ -dumpversion | cut -d. -f1)"
probe="$out/probe.cc"
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe" -o "$out/probe" 2>/dev/null; then
  apt_install "libclang-rt-$major-dev" || apt_install libclang-rt-dev
  clang++ -fsanitize=fuzzer,address,undefined "$probe" -o "$out/probe"
fi

# --- headers: Node's own ---------------------------------------------------------
node_inc=""
for dir in "${npm_config_nodedir:-}" "$(npm config get nodedir 2>/dev/null || true)" "$(dirname "$(dirname "$(command -v node)")")"; do
  if [ -n "$dir" ] && [ -f "$dir/include/node/openssl/evp.h" ] && [ -f "$dir/include/node/zlib.h" ]; then
    node_inc="$dir/include/node"
    break
  fi
done
[ -n "$node_inc" ] || { echo "fuzz.sh: Node's headers (include/node with openssl/ and zlib.h) were not found" >&2; exit 1; }

# --- runtime libraries, by path ------------------------------------------------------
# awk reads to the end: an early exit would SIGPIPE ldconfig, and with
# pipefail that fails the script (it did, now and then, in CI).
find_lib() { ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n && !found { print $NF; found = 1 }'; }
crypto="$(find_lib libcrypto.so.3)"
[ -n "$crypto" ] || { apt_install libssl3; crypto="$(find_lib libcrypto.so.3)"; }
zlib="$(find_lib libz.so.1)"
[ -n "$zlib" ] || { apt_install zlib1g; zlib="$(find_lib libz.so.1)"; }
[ -n "$crypto" ] && [ -n "$zlib" ] || { echo "fuzz.sh: libcrypto.so.3 or libz.so.1 not found" >&2; exit 1; }

# --- build ---------------------------------------------------------------------------
bin="$out/fuzz_verify"
echo "fuzz.sh: building $bin (clang $major, headers $node_inc, $crypto, $zlib)"
clang++ -std=c++17 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra -Werror \
  -I"$node_inc" \
  "$root/native/fuzz_verify.cc" "$root/native/verify.cc" "$root/native/keyring.cc" "$root/native/fernet_crypto.cc" "$root/native/gunzip.cc" \
  "$root/native/frame.cc" "$root/native/observe_lines.cc" \
  "$crypto" "$zlib" -o "$bin"

# --- seeds ---------------------------------------------------------------------------
corpus="$(mktemp -d "${TMPDIR:-/tmp}/netbeacon-fuzz.XXXXXX")"
trap 'rm -rf "$corpus"' EXIT
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
console.log(`fuzz.sh: ${n} seeds in ${dir}`);
JS

# --- run -------------------------------------------------------------------------------
# -jobs sends each worker's output to a log file; only ask for it when
# parallel fuzzing is wanted.
jobs_args=()
if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then jobs_args=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS"); fi
echo "fuzz.sh: fuzzing for ${SECONDS_TO_RUN}s"
cd "$out"
set +e
NETBEACON_FUZZ_SECRET_FILE="$vectors/secret" \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  "$bin" -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=65600 \
  ${jobs_args[@]+"${jobs_args[@]}"} ${FUZZ_ARGS:-} "$corpus"
rc=$?
set -e
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: FAILED (libFuzzer exit $rc); reproducers: $(ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null | tr '\n' ' ')" >&2
  exit $rc
fi
echo "fuzz.sh: no crash in ${SECONDS_TO_RUN}s"
