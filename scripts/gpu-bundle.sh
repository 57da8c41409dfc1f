#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that may have neither Node nor a package registry: this
# machine's node binary, the built dist/, bin/, templates/, package.json, the huge-pages helper and the production
# node_modules (dev tools left out, onnxruntime-node's native libraries for this platform only), as
# gpu-bundle/mergesmith-gpu.tar.xz.
# usage: scripts/gpu-bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."

npm run --silent build
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/mergesmith"
mkdir -p "$root"
cp "$(node -p process.execPath)" "$root/node"
cp -r dist bin templates package.json "$root/"
# The huge-pages helper, where npm install built it.
if [ -f native/build/Release/huge_pages.node ]; then
	mkdir -p "$root/native/build/Release"
	cp native/build/Release/huge_pages.node "$root/native/build/Release/"
fi

# Production dependencies only, as npm resolves them (no vitest, biome or typescript).
npm ls --omit=dev --parseable --all | tail -n +2 | sed "s|^$PWD/||" | sort -u >"$stage/dependencies"
tar -cf - -T "$stage/dependencies" | tar -xf - -C "$root"

# What the merge never loads: other platforms' onnxruntime libraries (240 MB), better-sqlite3's sources and build
# intermediates, type declarations and source maps.
platform=$(node -p 'process.platform + "/" + process.arch')
for dir in "$root"/node_modules/onnxruntime-node/bin/napi-v6/*/*; do
	[ "${dir#"$root"/node_modules/onnxruntime-node/bin/napi-v6/}" = "$platform" ] || rm -rf "$dir"
done
sqlite="$root/node_modules/better-sqlite3"
rm -rf "$sqlite/deps" "$sqlite/src" "$sqlite/build/Release/obj" "$sqlite/build/Release/obj.target" \
	"$sqlite/build/Release/sqlite3.a" "$sqlite/build/Release/test_extension.node"
find "$root" \( -name '*.d.ts' -o -name '*.d.cts' -o -name '*.d.mts' -o -name '*.map' \) -type f -delete

mkdir -p gpu-bundle
tar -C "$stage" -cf - mergesmith | xz -T0 -6 >gpu-bundle/mergesmith-gpu.tar.xz
echo "gpu-bundle/mergesmith-gpu.tar.xz: $(du -h gpu-bundle/mergesmith-gpu.tar.xz | cut -f1) ($(du -sh "$root" | cut -f1) unpacked)"
