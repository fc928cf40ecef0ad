import { defineConfig } from 'vitest/config';

// Two projects so unit tests (no brokers, fast) and integration tests (real brokers) can run
// separately; `npm test` runs both. Brokers are started once per run by the global set-up.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/conformance/**/*.test.ts'],
          // Driven by the AWS CLI and real brokers: the integration project runs these.
          exclude: ['test/conformance/fidelity/**', 'node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/conformance/fidelity/**/*.test.ts'],
          globalSetup: ['test/brokers/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
