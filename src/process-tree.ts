/**
 * What Linux says of a process and of the processes above this one: command line, parent, process group,
 * whether it is on its way out. Two small reads of /proc per process, made only when asked; undefined
 * wherever /proc cannot answer (another system, a sandbox without it, a process that has gone, Deno without
 * `--allow-read` for it: never a permission prompt).
 */
import type * as NodeFs from 'node:fs';
import { granted } from './runtime-permissions.js';

/** One process as /proc shows it. */
export interface ProcessInfo {
	readonly pid: number;
	readonly ppid: number;
	/** Its process group: a terminal's Ctrl+C reaches every process of the foreground group. */
	readonly pgrp: number;
	/** The command line, as the process shows it now (a process may rewrite it: npm shows `npm run dev`). */
	readonly argv: readonly string[];
	/** In clock ticks since boot: with the pid, it names the process, since pids are reused. */
	readonly startTime: number;
	/** Ended, or ending: a zombie, dead, or past the start of its exit (PF_EXITING). */
	readonly exiting: boolean;
}

/** The kernel's flag for a task that has begun to exit (include/linux/sched.h). */
const PF_EXITING = 0x4;

/** How far up `parentChain` goes by default: the app, a shell, a tool, the tool's own launcher. */
const CHAIN_DEPTH = 4;

function fs(): typeof NodeFs {
	return globalThis.process.getBuiltinModule('node:fs') as typeof NodeFs;
}

/** What `/proc/<pid>/stat` holds after the command: field 3 (state) onwards, as strings. */
function statFields(pid: number): string[] | undefined {
	try {
		const stat = fs().readFileSync(`/proc/${pid}/stat`, 'utf8');
		// `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so read after the last ')'.
		return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	} catch {
		return undefined;
	}
}

/** One process, or undefined where /proc does not show it. */
export function readProcess(pid: number): ProcessInfo | undefined {
	if (globalThis.process?.platform !== 'linux' || !Number.isInteger(pid) || pid <= 0) return undefined;
	if (!granted({ name: 'read', path: `/proc/${pid}` })) return undefined;
	const fields = statFields(pid);
	if (fields === undefined) return undefined;
	let argv: string[] = [];
	try {
		argv = fs().readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
		// The command line ends with a NUL; one rewritten by process.title is padded with more of them.
		while (argv.length > 0 && argv[argv.length - 1] === '') argv.pop();
	} catch {}
	const state = fields[0] ?? '';
	// Fields, counted from the state (index 0): ppid 1, pgrp 2, flags 6, starttime 19.
	return {
		pid,
		ppid: Number(fields[1]),
		pgrp: Number(fields[2]),
		argv,
		startTime: Number(fields[19]),
		exiting: state === 'Z' || state === 'X' || state === 'x' || (Number(fields[6]) & PF_EXITING) !== 0,
	};
}

/**
 * The processes above `pid` (this process by default), nearest first, up to `depth` of them; stops below
 * pid 1 (init, or a container's first process, says nothing about who sends signals). Empty where /proc
 * cannot answer.
 */
export function parentChain(pid = globalThis.process?.pid ?? 0, depth = CHAIN_DEPTH): ProcessInfo[] {
	const chain: ProcessInfo[] = [];
	let next = pid === globalThis.process?.pid ? globalThis.process.ppid : readProcess(pid)?.ppid;
	while (next !== undefined && next > 1 && chain.length < depth) {
		const info = readProcess(next);
		if (info === undefined) break;
		chain.push(info);
		next = info.ppid;
	}
	return chain;
}

/** Whether the process `info` named is still there and not on its way out (the same pid, started at the same time). */
export function stillRunning(info: Pick<ProcessInfo, 'pid' | 'startTime'>): boolean {
	const now = readProcess(info.pid);
	return now !== undefined && now.startTime === info.startTime && !now.exiting;
}

/** The name a command line runs under: the last part of its first word (`/usr/bin/node` → `node`). */
export function commandName(argv: readonly string[]): string {
	const first = argv[0] ?? '';
	return first.slice(first.lastIndexOf('/') + 1);
}
