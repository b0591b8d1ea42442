/**
 * The `graceful-proc/supervise` entry point: `supervise()`, `exitWithParent()`, `SuperviseError` and their
 * types. Importing it starts nothing.
 */
import { atCallSite } from '../call-site.js';
import { exitWithParent as exitWithParentProcess } from './exit-with-parent.js';
import { supervise as superviseChild } from './supervise.js';

// What these throw at their call points at the caller's line (call-site.ts); their documentation comes with `typeof`.
export const supervise: typeof superviseChild = /* @__PURE__ */ atCallSite(superviseChild);
export const exitWithParent: typeof exitWithParentProcess = /* @__PURE__ */ atCallSite(exitWithParentProcess);
export type { SupervisedProcess } from './supervise.js';
export type { OutputDestination } from './forward-output.js';
export type { ExitWithParentOptions } from './exit-with-parent.js';
export { SuperviseError } from './supervise-error.js';
export type { BackoffOptions, ReadyOption, RestartPolicy, SuperviseOptions, SuperviseState } from './options.js';
