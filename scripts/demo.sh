#!/usr/bin/env bash
# The main job: set up (Node 22, npm dependencies, build), start local brokers, run sluice with
# config/demo.yaml and send sample traffic, showing records flowing into functions.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$SLUICE_ROOT"
bash scripts/setup.sh
exec node scripts/demo.ts "$@"
