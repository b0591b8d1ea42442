import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Child-process and socket tests measure deadlines; two workers keep a 2-core machine honest.
    maxWorkers: 2,
  },
});
