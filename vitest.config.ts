import { defineConfig } from 'vitest/config';

/**
 * The fast loop (`npm run test:fast`): the files that run wholly inside the test worker. They start no child
 * process, worker thread or system binary, and drain no real connections (a probe handler or an input check may
 * open one loopback socket). Everything else (signals to real processes, the HTTP drain under load, supervised
 * children, PM2, nginx, HAProxy, Bun, Deno, jest, the samples) runs in the `process` project. `npm test` runs both.
 * A new file goes here when it keeps to that rule.
 */
const inProcess = [
  'core/code-shape',
  'core/describe-error',
  'core/env',
  'core/final-listener',
  'core/listener-order',
  'core/proc',
  'core/proc.properties',
  'core/public-api.fuzz',
  'core/repeat-rule',
  'core/report-json',
  'core/sequence-observer',
  'core/termination-log',
  'core/testing',
  'core/times-limit',
  'core/tracker',
  'core/types',
  'core/use-fake-process',
  'core/validate',
  'docs/docs-agree',
  'docs/samples-harness',
  'frameworks/fastify-plugin-input',
  'frameworks/health-fetch',
  'frameworks/nest-input',
  'health/health-handler',
  'health/health-heartbeat',
  'health/health-liveness',
  'health/health-not-ready-file',
  'health/health-redact',
  'health/health-rounds',
  'health/health-shutdown',
  'health/health-ticker',
  'http/http-input',
  'http/http-types',
  'supervise/supervise-backoff',
  'supervise/supervise-validation',
  'system/pm2-env',
  'system/systemd-listen-fds',
  'system/systemd-pings',
  'system/systemd-stop-status',
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
