#!/usr/bin/env bash
# One-time (idempotent) project set-up: Node 22, npm dependencies, TypeScript build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$SLUICE_ROOT"
echo "sluice setup: using node $(node --version) at $(command -v node)" >&2
stamp=node_modules/.sluice-install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ "$(cat "$stamp")" != "$(node --version)" ]; then
  npm ci --no-audit --no-fund
  node --version > "$stamp"
fi
npm run -s build
