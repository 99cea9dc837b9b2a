import { defineConfig } from 'vitest/config';

// Two projects (STYLE (c)): pure unit tests run in parallel without root;
// integration tests touch real namespaces and run one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // After each file: nothing it made may be left in the machine's own namespace (it fails, naming it).
          setupFiles: ['test/helpers/leak-check.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
