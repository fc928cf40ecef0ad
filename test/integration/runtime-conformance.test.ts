/**
 * The runtime conformance suite for every runtime sluice runs: Node (its own runtime client),
 * Python (AWS's awslambdaric, unchanged) and provided.al2023 (an aws-lambda-go bootstrap,
 * unchanged). Python and Go cases are skipped, saying why, when python3 / go is not installed.
 */
import { buildGoFunction } from '../fixtures/build-go.ts';
import { ensurePythonWithRic } from '../fixtures/python.ts';
import { describeRuntimeConformance } from '../conformance/runtime-conformance.ts';
import { fixtureSpec } from './environment-harness.ts';

describeRuntimeConformance('nodejs22.x', async () => ({
  spec: (overrides) => fixtureSpec('conformance-node', overrides),
}));

describeRuntimeConformance('python3.11 (awslambdaric)', async () => {
  const python = await ensurePythonWithRic();
  if (!python) return { skip: 'python3 with awslambdaric is not available here' };
  // The engine finds the interpreter through SLUICE_PYTHON.
  process.env.SLUICE_PYTHON = python;
  return {
    spec: (overrides) =>
      fixtureSpec('conformance-python', {
        runtime: 'python3.11',
        handler: 'app.handler',
        ...overrides,
      }),
  };
});

describeRuntimeConformance('provided.al2023 (aws-lambda-go)', async () => {
  let codeDir: string;
  try {
    codeDir = await buildGoFunction('conformance-go');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { skip: 'go is not installed here' };
    }
    throw error;
  }
  return {
    spec: (overrides) => ({
      ...fixtureSpec('conformance-go', { runtime: 'provided.al2023', handler: 'bootstrap' }),
      codeDir,
      ...overrides,
    }),
  };
});
