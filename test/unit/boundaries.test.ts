/**
 * The folder boundaries of `.dependency-cruiser.cjs` (run by `npm run lint`): the rules catch a
 * deliberate violation in a fixture tree, the real tree keeps them, and every listed exception is
 * still needed.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/boundaries', import.meta.url));

interface Exceptions {
  imports: { from: string; to: string; why: string }[];
  brokerSdks: { from: string; why: string }[];
  brokerSdkPattern: string;
}
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as IConfiguration & {
  exceptions: Exceptions;
};

async function cruiseTree(baseDir: string): Promise<ICruiseResult> {
  // tsconfig.json only names the compiler options; the tree has no path aliases to resolve.
  const { tsConfig: _tsConfig, ...options } = config.options ?? {};
  const reported = await cruise(['src', 'connectors'], {
    ...options,
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden ?? [] },
  });
  return reported.output as ICruiseResult;
}

const violationsOf = (result: ICruiseResult) =>
  result.summary.violations
    .map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)
    .sort((a, b) => a.localeCompare(b));

describe('folder boundaries (dependency-cruiser)', () => {
  it('reports each import that crosses a boundary, and a module cycle, in a fixture tree', async () => {
    const result = await cruiseTree(FIXTURE);
    expect(violationsOf(result)).toEqual([
      'connectors-<plugin>-imports: connectors/demo/crosses-into-engine.ts → src/engine/runner.ts',
      'no-circular: src/lambda/cycle-a.ts → src/lambda/cycle-b.ts',
      'src-batching-imports: src/batching/crosses-into-config.ts → src/config/types.ts',
      'src-engine-imports: src/engine/crosses-into-api.ts → src/api/serves-engine.ts',
    ]);
  });

  it('finds no violation in the real tree', async () => {
    const result = await cruiseTree(ROOT);
    expect(violationsOf(result)).toEqual([]);
    expect(result.summary.totalCruised).toBeGreaterThan(100);
  });

  it('lists only exceptions that are still needed', async () => {
    const result = await cruiseTree(ROOT);
    const imports = new Set(
      result.modules.flatMap((m) => m.dependencies.map((d) => `${m.source} → ${d.resolved}`)),
    );
    for (const e of config.exceptions.imports) expect(imports).toContain(`${e.from} → ${e.to}`);
    const sdk = new RegExp(config.exceptions.brokerSdkPattern);
    for (const e of config.exceptions.brokerSdks) {
      const module = result.modules.find((m) => m.source === e.from);
      expect(module?.dependencies.some((d) => sdk.test(d.resolved))).toBe(true);
    }
  });
});
