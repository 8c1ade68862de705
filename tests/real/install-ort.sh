#!/bin/sh
# Installs the reference of tests/real/run.sh, ONNX Runtime for Node.js (npm onnxruntime-node,
# the version pinned by tests/real/package-lock.json), into DEST/node_modules with
# `npm ci --ignore-scripts`: the package carries its CPU binaries (bin/napi-v6/OS/ARCH/), and
# its install script only downloads the optional CUDA ones. Does nothing when DEST already
# holds this lock file's install; builds a new one beside it and renames it into place, so an
# interrupted install is never taken for a complete one.
# usage: install-ort.sh DEST
set -u
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$(dirname "$1")" || exit 1
dest=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
if [ -f "$dest/package-lock.json" ] && cmp -s "$here/package-lock.json" "$dest/package-lock.json" &&
   [ -d "$dest/node_modules/onnxruntime-node" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "install-ort.sh: node and npm are needed (Debian packages nodejs, npm)" >&2
  exit 1
fi
rm -rf "$dest.new"
mkdir -p "$dest.new" || exit 1
cp "$here/package.json" "$here/package-lock.json" "$dest.new/" || exit 1
if ! (cd "$dest.new" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2; then
  echo "install-ort.sh: npm ci failed in $dest.new" >&2
  exit 1
fi
if ! node -e 'require(process.argv[1])' "$dest.new/node_modules/onnxruntime-node" >&2; then
  echo "install-ort.sh: onnxruntime-node is installed but does not load (no CPU binary for $(uname -m)?)" >&2
  exit 1
fi
rm -rf "$dest"
mv "$dest.new" "$dest"
