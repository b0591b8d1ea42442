export declare const MAX_FUNCTION_LINES: number;
export declare const MAX_CLASS_LINES: number;
/** `file:function` → why it may be longer. */
export declare const LONG_FUNCTION_ALLOWED: Map<string, string>;

export interface FunctionShape {
	/** Relative to the package root, with `/`. */
	file: string;
	line: number;
	name: string;
	lines: number;
}

/** Every .ts file under `dir` (src/ by default): what breaks a rule, one line each, and every function's length. */
export declare function checkShape(dir?: string): { problems: string[]; functions: FunctionShape[] };
