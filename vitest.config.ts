import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Scratch projects and generated samples live under test/.tmp: never suites of their own.
    exclude: ['**/node_modules/**', 'test/.tmp/**'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Child-process and socket tests measure deadlines; two workers keep a 2-core machine honest.
    maxWorkers: 2,
  },
});
