#!/usr/bin/env bash
# Runs the native live capture (NativeCapture: rings, worker thread, batch
# pool, thread-safe function) under valgrind memcheck in two throw-away
# network namespaces, and fails on a definite leak or a memcheck error in
# the addon. Root only. Log: build/leakcheck/native-capture.valgrind.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
addon="$root/build/Release/netbeacon.node"
[ -f "$addon" ] || { echo "leakcheck-capture.sh: $addon is missing: npm run build:native" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "leakcheck-capture.sh: valgrind is not installed" >&2; exit 1; }
logs="$root/build/leakcheck"
mkdir -p "$logs"
log="$logs/native-capture.valgrind"
a="nbt-vg-$$-a"
b="nbt-vg-$$-b"
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add name vga netns "$a" type veth peer name vgb netns "$b"
ip netns exec "$a" ip link set vga up
ip netns exec "$b" ip link set vgb up
rc=0
ip netns exec "$b" valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
  --error-exitcode=1 --smc-check=all-non-file --num-callers=30 --log-file="$log" \
  node --expose-gc "$root/test/helpers/capture-churn.js" "$addon" vgb "$a" vga || rc=$?
grep -E "definitely lost|ERROR SUMMARY" "$log" || true
# V8's conservative stack scan reads uninitialised stack words during GC:
# those reports are V8's own; any error with a frame in the addon is ours.
if grep -q "netbeacon.node" "$log" && grep -B2 -A30 -E "Invalid (read|write)|uninitialised|definitely lost in" "$log" | grep -q "netbeacon.node"; then
  echo "leakcheck-capture.sh: memcheck reports an error in the addon (see $log)" >&2
  exit 1
fi
if grep -qE "definitely lost: [1-9]" "$log"; then
  echo "leakcheck-capture.sh: definite leak (see $log)" >&2
  exit 1
fi
# rc is also 1 for V8's own stack-scan reports; only the driver's own failure counts.
if [ "$rc" -ne 0 ] && ! grep -q "ERROR SUMMARY: [1-9]" "$log"; then
  echo "leakcheck-capture.sh: the driver failed ($rc)" >&2
  exit "$rc"
fi
echo "leakcheck-capture.sh: clean"
