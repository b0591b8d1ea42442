// The supervised child of the supervise bench: a process with a child of its own (a grandchild), like a
// wrapper script or a tool that forks. Prints `child <pid> <grandchild pid>` once both run; on SIGTERM it
// exits at once, without stopping the grandchild (as careless wrappers do).
import { spawn } from 'node:child_process';

const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)'], { stdio: 'ignore' });
grandchild.unref();
setInterval(() => {}, 60_000);
process.on('SIGTERM', () => process.exit(0));
console.log(`child ${process.pid} ${grandchild.pid}`);
