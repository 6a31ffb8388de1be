#!/usr/bin/env bash
# CI's install step (.ci/run): netbeacon installed as operators install it.
#
#   1. scripts/check-npm-install.sh: `npm pack`, then `npm install -g` of the
#      tarball into a temporary prefix, offline, with an empty cache;
#   2. `npm run package:deb` into a temporary directory;
#   3. scripts/check-deb.sh on that .deb: lintian, apt-get install, doctor,
#      systemd-analyze verify, --version, remove, purge.
#
# All of them run whatever one does; the exit status is the number that
# failed (0 to 2; the .deb check cannot run when package:deb failed). .ci/run
# counts a non-zero status as one failed step in its totals line
# (scripts/ci-totals.js, which prints the status). Root (check-deb.sh
# installs and purges the .deb).
#
# Usage: scripts/check-install.sh
set -uo pipefail
cd "$(dirname "$0")/.."

failed=0
started=$SECONDS
echo "check-install: npm pack, npm install -g offline (scripts/check-npm-install.sh)"
bash scripts/check-npm-install.sh || {
  failed=$((failed + 1))
  echo "check-install: npm install check FAILED"
}
echo "check-install: ($((SECONDS - started)) s)"

started=$SECONDS
debdir=$(mktemp -d "${TMPDIR:-/tmp}/netbeacon-ci-deb.XXXXXX")
trap 'rm -rf "$debdir"' EXIT
echo "check-install: npm run package:deb, then scripts/check-deb.sh"
if npm run -s package:deb -- "$debdir"; then
  bash scripts/check-deb.sh "$debdir"/netbeacon_*.deb || {
    failed=$((failed + 1))
    echo "check-install: deb check FAILED"
  }
else
  failed=$((failed + 1))
  echo "check-install: package:deb FAILED"
fi
echo "check-install: ($((SECONDS - started)) s)"
exit "$failed"
