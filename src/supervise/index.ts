/**
 * The `graceful-proc/supervise` entry point: `supervise()`, `exitWithParent()`, `SuperviseError` and their
 * types. Importing it starts nothing.
 */
export { supervise, type SupervisedProcess } from './supervise.js';
export type { OutputDestination } from './forward-output.js';
export { exitWithParent, type ExitWithParentOptions } from './exit-with-parent.js';
export { SuperviseError } from './supervise-error.js';
export type { BackoffOptions, ReadyOption, RestartPolicy, SuperviseOptions, SuperviseState } from './options.js';
