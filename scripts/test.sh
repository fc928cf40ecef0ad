#!/usr/bin/env bash
# The whole test suite from nothing: Node 22, npm dependencies, build, then unit tests and the
# integration tests against real Kafka, ElasticMQ (SQS), RabbitMQ and MinIO, which the vitest
# global set-up installs (cached in ~/.cache/sluice-brokers), starts on 127.0.0.1 and stops.
# Extra arguments go to vitest, e.g.  bash scripts/test.sh test/unit/config-load.test.ts
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$SLUICE_ROOT"
bash scripts/setup.sh
mkdir -p .sluice
report=.sluice/vitest-report.json
rc=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || rc=$?
[ -n "${SLUICE_CI_START:-}" ] && echo "ci: $(( $(date +%s) - SLUICE_CI_START )) s since .ci/run started"
# One plain closing line that any CI can read, whatever the runner prints above it.
node -e '
  const fs = require("fs");
  try {
    const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  } catch { console.log("tests: 0 passed, 1 failed"); process.exitCode = 1; }
' "$report" || rc=1
exit $rc
