#!/usr/bin/env bash
# npm run package:deb — builds netbeacon_VERSION_ARCH.deb with dpkg-deb.
#
#   /usr/lib/netbeacon/          the package as `npm pack` lays it out (package.json
#                                "files"), its runtime dependencies from
#                                package-lock.json (npm ci --omit=dev) and the
#                                addon built for this architecture
#   /usr/bin/netbeacon           execs /usr/bin/node (what Depends: nodejs gives)
#   /lib/systemd/system/         every packaging/*.service, neither enabled nor started
#   /etc/netbeacon/netbeacon.yaml  the commented example config, a conffile
#   /etc/netbeacon/fleet.yaml      the fleet service's, a conffile
#   /usr/share/man/man1/netbeacon.1.gz, /usr/share/doc/netbeacon/
#
# Nothing Debian provides is copied in: not Node.js (Depends: nodejs >= 20),
# not OpenSSL or zlib (the addon uses the ones node itself exports), not
# node-gyp or any devDependency. The npm packages that are bundled Debian
# lacks or has at other versions than the lock (README, Installing). Runs
# offline when npm's cache holds the locked dependencies (it does after `npm ci`).
#
# Usage: scripts/package-deb.sh [OUTDIR]   (default: the repository root)
# Env:   DEBFULLNAME / DEBEMAIL for the Maintainer field.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-$root}
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() {
  echo "package-deb: $*" >&2
  exit 1
}
for tool in dpkg-deb dpkg-shlibdeps dpkg-buildflags strip gzip npm node; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev binutils)"
done

version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
deb="$out/netbeacon_${version}_${arch}.deb"
maintainer="${DEBFULLNAME:-netbeacon maintainers} <${DEBEMAIL:-maintainers@netbeacon.invalid}>"
# Reproducible: file times and the changelog date come from the last commit.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

work=$(mktemp -d "${TMPDIR:-/tmp}/netbeacon-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/root
lib=$stage/usr/lib/netbeacon

# 1. The files `npm pack` would ship. A dist/ file without a source is left
#    over from a removed module: it would be packaged, so stop.
echo "package-deb: npm pack (compiles the TypeScript)"
stale=$(cd dist/src 2>/dev/null && find . -name '*.js' | sed 's/\.js$//' | while read -r f; do [ -e "$root/src/$f.ts" ] || echo "dist/src/${f#./}.js"; done || true)
[ -z "$stale" ] || die "stale compiled files (their sources are gone): $stale; run rm -rf dist && npm run build:ts"
tgz=$(npm pack --silent --pack-destination "$work" | tail -1)
mkdir -p "$lib"
tar -xzf "$work/$tgz" -C "$lib" --strip-components=1 --exclude='package/node_modules'
cp package-lock.json "$lib/"

# 2. Runtime dependencies exactly as locked, and the addon built with
#    Debian's hardening flags. The staged package.json keeps only the install
#    script: `prepare` would run tsc, a devDependency.
echo "package-deb: npm ci --omit=dev, building the addon"
node -e '
  const fs = require("fs"), p = process.argv[1];
  const j = JSON.parse(fs.readFileSync(p, "utf8"));
  j.scripts = { install: j.scripts.install };
  delete j.devDependencies; delete j.bundleDependencies; delete j.tap;
  fs.writeFileSync(p, JSON.stringify(j, null, 2) + "\n");
' "$lib/package.json"
(
  cd "$lib"
  export DEB_BUILD_MAINT_OPTIONS=hardening=+all
  eval "$(dpkg-buildflags --export=sh)"
  nodedir=$(dirname "$(dirname "$(command -v node)")")
  [ -e "$nodedir/include/node/node_api.h" ] && export npm_config_nodedir=$nodedir
  # The lock lists devDependencies too; npm ci --omit=dev skips them but wants the lock whole.
  npm ci --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error
)
node -e 'const s=require(process.argv[1]); if (!s.built) { console.error("package-deb: the addon did not build: " + (s.reason || "?") + "\n" + (s.detail || "")); process.exit(1) }' "$lib/build/native-status.json"

# 3. Keep what runs. node-addon-api is headers for the build; the build tree,
#    the C++ sources, docs, type declarations and source maps are not run.
echo "package-deb: pruning to what runs"
node scripts/deb-modules.js drop-build-only "$lib/node_modules"
rm -rf "$lib/node_modules/node-addon-api" "$lib/node_modules/.bin" "$lib/node_modules/.package-lock.json" "$lib/package-lock.json"
rm -rf "$lib/native" "$lib/scripts" "$lib/packaging"
find "$lib/build" -mindepth 1 -maxdepth 1 ! -name Release ! -name native-status.json -exec rm -rf {} +
find "$lib/build/Release" -mindepth 1 ! -name netbeacon.node -exec rm -rf {} +
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$lib/build/Release/netbeacon.node"
# better-sqlite3 (the fleet store) the same way: its module alone, stripped;
# its build tree, test extension, SQLite amalgamation and C++ sources are not run.
bsq=$lib/node_modules/better-sqlite3
if [ -d "$bsq" ]; then
  [ -f "$bsq/build/Release/better_sqlite3.node" ] || die "better-sqlite3 was not built ($bsq/build/Release/better_sqlite3.node)"
  find "$bsq/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$bsq/build/Release" -mindepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
  rm -rf "$bsq/deps" "$bsq/src" "$bsq/binding.gyp"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$bsq/build/Release/better_sqlite3.node"
fi
find "$lib/node_modules" \( -iname '*.md' -o -iname '*.markdown' -o -iname '*.html' -o -iname '*.png' -o -iname '*.svg' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.map' -o -name '*.ts' -o -name '.*' -o -name 'test' -o -name 'tests' -o -name 'benchmarks' -o -name 'docs' -o -name 'docsify' -o -name 'examples' \) \
  -prune -exec rm -rf {} +
# The dependencies' own command-line tools: nothing runs them (there is no node_modules/.bin).
node scripts/deb-modules.js drop-bins "$lib/node_modules"
rm -f "$lib/README.md"
find "$lib/dist" -name '*.map' -delete
find "$lib/dist" -name '*.js' -exec sed -i '/^\/\/# sourceMappingURL=/d' {} +

# 4. The rest of the tree.
install -D -m 755 /dev/stdin "$stage/usr/bin/netbeacon" <<'EOF'
#!/bin/sh
# exec, so that the node process is the one systemd supervises (NotifyAccess=main) and signals reach it.
exec /usr/bin/node /usr/lib/netbeacon/dist/src/cli/main.js "$@"
EOF
units=""
for unit in packaging/*.service; do
  install -D -m 644 "$unit" "$stage/lib/systemd/system/$(basename "$unit")"
  units="$units $(basename "$unit")"
done
units=${units# }
install -D -m 644 packaging/netbeacon.yaml "$stage/etc/netbeacon/netbeacon.yaml"
install -D -m 644 packaging/fleet.yaml "$stage/etc/netbeacon/fleet.yaml"
doc=$stage/usr/share/doc/netbeacon
install -d "$doc" "$stage/usr/share/man/man1" "$stage/usr/share/lintian/overrides"
node scripts/manpage.js "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)" | gzip -9n >"$stage/usr/share/man/man1/netbeacon.1.gz"
gzip -9n <README.md >"$doc/README.md.gz"
install -m 644 packaging/deb/lintian-overrides "$stage/usr/share/lintian/overrides/netbeacon"
{
  echo "netbeacon ($version) unstable; urgency=medium"
  echo
  echo "  * Built from $(git describe --always --dirty 2>/dev/null || echo 'a source tree') by scripts/package-deb.sh."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz" # a native package (no Debian revision): changelog.gz, not changelog.Debian.gz
# The copyright file: netbeacon's, then one paragraph per bundled npm package with its licence.
{
  first=$(git log --max-parents=0 --format=%ad --date=format:%Y 2>/dev/null | tail -1 || true)
  last=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
  years=${first:-$last}; [ "$years" = "$last" ] || years="$years-$last"
  sed "s/@YEARS@/$years/" packaging/deb/copyright.in
  node scripts/deb-modules.js copyright "$lib/node_modules" "$work/licenses"
  while read -r lic; do
    case "$lic" in
      Apache-2.0) printf '\nLicense: Apache-2.0\n On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.\n' ;;
      MIT | ISC) printf '\nLicense: %s\n' "$lic" && sed -e 's/^$/./' -e 's/^/ /' "packaging/deb/license-$lic.txt" ;;
      *) die "a bundled package has the licence \"$lic\": add its text to packaging/deb/ and here" ;;
    esac
  done <"$work/licenses"
} >"$doc/copyright"
# Their licences and notices are in the copyright file now.
node scripts/deb-modules.js drop-licenses "$lib/node_modules"
find "$stage" -depth -type d -empty -delete

# 5. Modes, times, control files.
find "$stage" -type d -exec chmod 755 {} +
find "$stage" -type f -exec chmod 644 {} +
chmod 755 "$stage/usr/bin/netbeacon"
# A file that starts with #! is a script and must be executable (main.js included; the wrapper runs it with node).
find "$lib" -type f -exec sh -c 'for f; do [ "$(head -c 2 "$f")" = "#!" ] && chmod 755 "$f"; done; true' sh {} +
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$stage/DEBIAN"
for s in postinst prerm postrm; do
  sed "s/@UNITS@/$units/" "packaging/deb/$s" >"$stage/DEBIAN/$s"
  chmod 755 "$stage/DEBIAN/$s"
done
printf '%s\n' /etc/netbeacon/netbeacon.yaml /etc/netbeacon/fleet.yaml >"$stage/DEBIAN/conffiles"
(
  # dpkg-shlibdeps wants a debian/control to read; the libraries the addon links (libc, libstdc++, libgcc).
  mkdir -p "$work/shlibs/debian" && cd "$work/shlibs"
  printf 'Source: netbeacon\n\nPackage: netbeacon\nArchitecture: any\n' >debian/control
  dpkg-shlibdeps -O "$lib/build/Release/netbeacon.node" 2>/dev/null | sed -n 's/^shlibs:Depends=//p' >"$work/shlibs.txt"
)
shlibs=$(cat "$work/shlibs.txt")
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no library dependencies for the addon"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@MAINTAINER@/$maintainer/" -e "s/@INSTALLED_SIZE@/$size/" -e "s/@SHLIBS@/$shlibs/" \
  packaging/deb/control.in >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "package-deb: $deb ($(du -k "$deb" | cut -f1) KiB, installed $size KiB; Depends: nodejs (>= 20), $shlibs)"
