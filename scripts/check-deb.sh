#!/usr/bin/env bash
# Checks a netbeacon .deb as a rack operator meets it, then takes it away
# again (root; CI runs it after `npm run package:deb`, see .ci/run):
#
#   1. lintian --pedantic: every tag fixed or overridden with a reason
#      (packaging/deb/lintian-overrides), or this fails;
#   2. apt-get install ./netbeacon_*.deb, offline: Depends must be satisfied
#      by what is installed (see "nodejs" below);
#   3. the install started and enabled nothing; netbeacon --version, doctor,
#      agent --check-config on the conffile, observe on the MAAS corpus, all
#      from /usr/bin/netbeacon; systemd-analyze verify on every installed unit
#      (no warning either: systemd 252 only warns about keys it does not know);
#   4. an operator's edit of the conffile survives `apt-get remove`, which
#      leaves nothing else; `apt-get purge` then leaves nothing at all.
#
# nodejs: the package says Depends: nodejs (>= 20). Where Node 20 is a dpkg
# package (NodeSource's nodejs, Debian 13's), apt checks that line for real.
# Where node was installed some other way (a tarball, nvm) there is no
# package to satisfy it, as on a rack whose admin did the same: this script
# then installs a stand-in "nodejs" package that records the node it found
# (and links /usr/bin/node to it if that is missing), so apt still resolves
# the real Depends line, and purges the stand-in at the end. A dpkg nodejs
# older than 20 (Debian 12's 18) is a failure: the .deb cannot go there.
#
# Usage: scripts/check-deb.sh netbeacon_VERSION_ARCH.deb
set -euo pipefail
deb=$(realpath "${1:?usage: check-deb.sh netbeacon_VERSION_ARCH.deb}")
root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'check-deb: %s\n' "$*"; }
fail() {
  echo "check-deb: FAILED: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (it installs and purges the package)"
if dpkg-query -W -f='${Status}' netbeacon 2>/dev/null | grep -qE ' (installed|config-files|unpacked|half-installed|half-configured)$'; then
  fail "a netbeacon package is already on this machine: not touching it"
fi

export DEBIAN_FRONTEND=noninteractive
apt_offline=(-o Acquire::Retries=0 -o APT::Get::List-Cleanup=false -y -q --no-install-recommends)
version=$(dpkg-deb -f "$deb" Version)
conffile=/etc/netbeacon/netbeacon.yaml
work=$(mktemp -d "${TMPDIR:-/tmp}/netbeacon-checkdeb.XXXXXX")
standin=""
cleanup() {
  dpkg-query -W netbeacon >/dev/null 2>&1 && apt-get purge "${apt_offline[@]}" netbeacon >/dev/null 2>&1
  [ -n "$standin" ] && dpkg --purge nodejs >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

log "lintian --pedantic $(basename "$deb")"
if ! lintian --pedantic --display-info --fail-on warning,info,pedantic "$deb" >"$work/lintian" 2>&1; then
  grep -v 'running with root privileges' "$work/lintian" >&2
  fail "lintian reported tags that are neither fixed nor overridden (above)"
fi
log "lintian: no tag but the $(grep -c '^[^#[:space:]]' "$root/packaging/deb/lintian-overrides") overridden ones (packaging/deb/lintian-overrides says why)"

# --- what satisfies Depends: nodejs (>= 20)
have=$(dpkg-query -W -f='${Status} ${Version}' nodejs 2>/dev/null | sed -n 's/^install ok installed //p')
if [ -n "$have" ]; then
  dpkg --compare-versions "$have" ge 20 || fail "the installed nodejs package is $have: Depends: nodejs (>= 20) cannot be met here"
  log "Depends: nodejs (>= 20) is met by the installed nodejs $have"
else
  node=$(command -v node) || fail "no node at all"
  nv=$(node -p process.versions.node)
  [ "${nv%%.*}" -ge 20 ] || fail "node $nv at $node is older than 20"
  mkdir -p "$work/standin/DEBIAN"
  if [ ! -e /usr/bin/node ]; then
    mkdir -p "$work/standin/usr/bin" && ln -s "$node" "$work/standin/usr/bin/node"
  fi
  cat >"$work/standin/DEBIAN/control" <<EOF
Package: nodejs
Version: $nv-0~netbeacon.check
Architecture: all
Maintainer: scripts/check-deb.sh <nobody@netbeacon.invalid>
Description: stand-in for the Node.js $nv at $node, installed outside dpkg
 Made and removed by netbeacon's scripts/check-deb.sh so that apt can resolve
 Depends: nodejs (>= 20) on a machine whose node is not a dpkg package.
EOF
  dpkg-deb --root-owner-group --build "$work/standin" "$work/nodejs-standin.deb" >/dev/null
  dpkg -i "$work/nodejs-standin.deb" >/dev/null
  standin=yes
  log "node $nv at $node is not a dpkg package: installed a stand-in nodejs $nv package for apt to resolve Depends against"
fi
[ "$(/usr/bin/node -p 'process.versions.node.split(".")[0] >= 20')" = true ] || fail "/usr/bin/node (what /usr/bin/netbeacon runs) is older than 20"

# --- install
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#; s#/$##' | grep -v '^$' | sort >"$work/paths"
while read -r p; do [ -e "$p" ] && echo "$p"; done <"$work/paths" >"$work/existed" || true
cp "$deb" "$work/" && chmod 755 "$work" && chmod 644 "$work/$(basename "$deb")"
log "apt-get install ./$(basename "$deb") (offline)"
apt-get install "${apt_offline[@]}" "$work/$(basename "$deb")" >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log" >&2
  fail "apt-get install"
}
[ "$(dpkg-query -W -f='${Status}' netbeacon)" = "install ok installed" ] || fail "not installed after apt-get install"
units=$(dpkg -L netbeacon | grep '^/lib/systemd/system/.*\.service$' | sort)
[ -n "$units" ] || fail "no systemd unit installed"

# --- the install starts and enables nothing
enabled=$(find /etc/systemd/system -lname '*netbeacon*' 2>/dev/null || true)
[ -z "$enabled" ] || fail "the install enabled units: $enabled"
if pgrep -f '/usr/lib/netbeacon/' >/dev/null; then fail "a netbeacon process runs right after install"; fi

# --- what an operator runs
[ "$(command -v netbeacon)" = /usr/bin/netbeacon ] || fail "netbeacon on PATH is $(command -v netbeacon), not /usr/bin/netbeacon"
[ "$(netbeacon --version)" = "$version" ] || fail "netbeacon --version printed $(netbeacon --version), not $version"
log "netbeacon --version: $version"
secret=$root/../shared/vectors/maas/secret
args=()
[ -e "$secret" ] && args=(--secret-file "$secret")
netbeacon doctor "${args[@]}" || { [ ${#args[@]} -eq 0 ] || fail "netbeacon doctor: the agent cannot run here"; }
doctor=$(netbeacon doctor --json "${args[@]}" || true)
node -e '
  const r = JSON.parse(process.argv[1]);
  if (r.engine.addon !== "loaded from /usr/lib/netbeacon/build/Release/netbeacon.node" || r.engine.capture.engine !== "native")
    { console.error("doctor:", JSON.stringify(r.engine)); process.exit(1) }
' "$doctor" || fail "doctor does not report the packaged addon and the native engine"
if [ -e "$secret" ]; then
  netbeacon agent --config "$conffile" --check-config --secret-file "$secret" >/dev/null || fail "agent --check-config on the packaged $conffile"
  n=$(netbeacon observe --input-file "$root/../shared/vectors/maas/corpus.pcap" --secret-file "$secret" 2>/dev/null | wc -l)
  [ "$n" -gt 0 ] || fail "observe printed no beacon"
  log "agent --check-config accepts $conffile; observe decodes $n beacons of the MAAS corpus"
fi
man -w netbeacon >/dev/null || fail "man netbeacon: no page"
for u in $units; do
  out=$(systemd-analyze verify "$u" 2>&1) || fail "systemd-analyze verify $u: $out"
  [ -z "$out" ] || fail "systemd-analyze verify $u warns: $out"
done
log "systemd-analyze verify, no warning: $(echo $units)"
dpkg-query -W -f='${Conffiles}\n' netbeacon | grep -q " $conffile " || fail "$conffile is not a conffile"

# --- remove keeps the operator's conffile and nothing else; purge keeps nothing
echo "# edited by the operator (scripts/check-deb.sh)" >>"$conffile"
apt-get remove "${apt_offline[@]}" netbeacon >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log" >&2
  fail "apt-get remove"
}
[ "$(dpkg-query -W -f='${Status}' netbeacon)" = "deinstall ok config-files" ] || fail "after remove: $(dpkg-query -W -f='${Status}' netbeacon)"
grep -q 'edited by the operator' "$conffile" || fail "remove lost the operator's $conffile"
left=$(comm -23 "$work/paths" "$work/existed" | while read -r p; do [ -e "$p" ] && [ ! -d "$p" ] && [ "$p" != "$conffile" ] && [ "$p" != /etc/netbeacon/fleet.yaml ] && echo "$p"; done || true)
[ -z "$left" ] || fail "apt-get remove left: $left"
log "apt-get remove: only the conffiles are left (the edited $conffile, and /etc/netbeacon/fleet.yaml)"
apt-get purge "${apt_offline[@]}" netbeacon >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log" >&2
  fail "apt-get purge"
}
! dpkg-query -W netbeacon >/dev/null 2>&1 || [ "$(dpkg-query -W -f='${Status}' netbeacon)" = "unknown ok not-installed" ] || fail "after purge: $(dpkg-query -W -f='${Status}' netbeacon)"
left=$(comm -23 "$work/paths" "$work/existed" | while read -r p; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done || true)
for p in /var/log/netbeacon /var/log/private/netbeacon /var/lib/netbeacon /var/lib/private/netbeacon /var/lib/systemd/deb-systemd-helper-enabled/netbeacon.service.dsh-also; do
  if [ -e "$p" ]; then left="$left $p"; fi
done
[ -z "${left// /}" ] || fail "apt-get purge left: $left"
log "apt-get purge: nothing is left"
log "ok: $(basename "$deb") installs offline, runs, verifies, and goes away cleanly"
