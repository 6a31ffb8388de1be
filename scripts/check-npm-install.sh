#!/usr/bin/env bash
# Installs netbeacon as an operator does with npm, on a machine that has never
# seen it: `npm pack`, then `npm install -g ./netbeacon-*.tgz` into a temporary
# prefix, offline, with an empty npm cache (the tarball bundles its runtime
# dependencies: package.json "bundleDependencies"). Then checks that
# `netbeacon` is on PATH, the addon was built at install, and the commands
# run. Removes everything it made. CI runs it (.ci/run).
#
# Usage: scripts/check-npm-install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { printf 'check-npm-install: %s\n' "$*"; }
fail() {
  echo "check-npm-install: FAILED: $*" >&2
  exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/netbeacon-npm.XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$(node -p 'require("./package.json").version')

log "npm pack"
tgz=$work/$(npm pack --silent --pack-destination "$work" | tail -1)
listing=$(tar -tzf "$tgz")
if grep -qE '^package/(test|bench|dist/bench|dist/test|coverage)/' <<<"$listing"; then fail "the tarball carries tests or the bench: $(grep -E '^package/(test|bench|dist/bench|dist/test)/' <<<"$listing" | head -3)"; fi
for f in package/dist/src/cli/main.js package/binding.gyp package/scripts/build-native.js package/scripts/native-sources.js package/native/verify.cc package/packaging/netbeacon.service package/packaging/netbeacon.yaml package/node_modules/commander/package.json; do
  grep -qx "$f" <<<"$listing" || fail "the tarball lacks $f"
done
log "$(basename "$tgz"): $(du -k "$tgz" | cut -f1) KiB, $(wc -l <<<"$listing") files"

log "npm install -g into $work/prefix (offline, empty cache)"
npm install -g --prefix "$work/prefix" --cache "$work/cache" --offline --no-audit --no-fund --loglevel=error "$tgz" >"$work/install.log" 2>&1 || {
  tail -30 "$work/install.log" >&2
  fail "npm install -g exited non-zero"
}
export PATH="$work/prefix/bin:$PATH"
[ "$(command -v netbeacon)" = "$work/prefix/bin/netbeacon" ] || fail "netbeacon is not on PATH from the prefix (found: $(command -v netbeacon || echo nothing))"
[ "$(netbeacon --version)" = "$version" ] || fail "netbeacon --version printed $(netbeacon --version), not $version"
pkg=$work/prefix/lib/node_modules/netbeacon
node -e 'const s=require(process.argv[1]); if (!s.built) { console.error(s.reason, s.detail || ""); process.exit(1) }' "$pkg/build/native-status.json" ||
  fail "the addon did not build at install ($pkg/build/native-status.json)"

# The fleet store's native module (bundled, built at install like the addon) opens a database.
node -e 'const D=require(process.argv[1]); const db=new D(":memory:"); if (db.prepare("select 1 as x").get().x !== 1) process.exit(1)' "$pkg/node_modules/better-sqlite3" ||
  fail "the bundled better-sqlite3 did not build at install (fleet serve needs it)"
[ -s "$pkg/dist/web/index.html" ] || fail "the tarball lacks the fleet map (dist/web)"

# The MAAS vectors beside the checkout (CI has them): a secret for doctor, a capture for observe.
secret=$root/../shared/vectors/maas/secret
args=()
[ -e "$secret" ] && args=(--secret-file "$secret")
doctor=$(netbeacon doctor --json "${args[@]}") || true
node -e '
  const r = JSON.parse(process.argv[1]);
  const want = "loaded from " + process.argv[2] + "/build/Release/netbeacon.node";
  if (r.engine.addon !== want) { console.error("doctor: addon " + r.engine.addon + ", wanted " + want); process.exit(1) }
  if (r.engine.capture.engine !== "native") { console.error("doctor: capture engine " + JSON.stringify(r.engine.capture)); process.exit(1) }
' "$doctor" "$pkg" || fail "doctor does not report the installed addon"
if [ -e "$secret" ]; then
  n=$(netbeacon observe --input-file "$root/../shared/vectors/maas/corpus.pcap" --secret-file "$secret" 2>/dev/null | wc -l)
  [ "$n" -gt 0 ] || fail "observe printed no beacon from the MAAS corpus"
  log "observe on the MAAS corpus: $n beacons"
fi
log "ok: netbeacon $version on PATH from the tarball, addon built at install, doctor reports the native engine"
