import { defineConfig } from 'vitest/config';

/**
 * The fast loop (`npm run test:fast`): the files that run wholly inside the test worker. They start no child
 * process, worker thread or system binary, and drain no real connections (a probe handler or an input check may
 * open one loopback socket). Everything else (signals to real processes, the HTTP drain under load, supervised
 * children, PM2, nginx, HAProxy, Bun, jest, the samples) runs in the `process` project. `npm test` runs both.
 * A new file goes here when it keeps to that rule.
 */
const inProcess = [
  'describe-error',
  'docs-agree',
  'health-handler',
  'health-heartbeat',
  'health-liveness',
  'health-not-ready-file',
  'health-redact',
  'health-rounds',
  'health-shutdown',
  'health-ticker',
  'http-input',
  'http-types',
  'pm2-env',
  'proc',
  'proc.properties',
  'public-api.fuzz',
  'repeat-rule',
  'systemd-listen-fds',
  'samples-harness',
  'supervise-backoff',
  'supervise-validation',
  'termination-log',
  'testing',
  'times-limit',
  'types',
  'validate',
].map((name) => `test/${name}.test.ts`);

export default defineConfig({
  test: {
    // Scratch projects and generated samples live under test/.tmp: never suites of their own.
    exclude: ['**/node_modules/**', 'test/.tmp/**'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Child-process and socket tests measure deadlines; two workers keep a 2-core machine honest.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'fast', include: inProcess } },
      { extends: true, test: { name: 'process', include: ['test/**/*.test.ts'], exclude: inProcess } },
    ],
  },
});
