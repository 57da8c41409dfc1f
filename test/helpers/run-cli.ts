import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const GOLDEN_DIR = fileURLToPath(new URL("../../../shared/golden", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/mergesmith.js", import.meta.url));

export interface CliResult {
	code: number;
	stdout: string;
	stderr: string;
}

/** Runs the built `mergesmith` command as a user would (npm test builds it first). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
	return new Promise((resolve) => {
		execFile(
			process.execPath,
			[BIN, ...args],
			{ env: { ...process.env, HF_HUB_OFFLINE: "1", ...env }, maxBuffer: 64 * 1024 * 1024 },
			(error, stdout, stderr) => {
				const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
				resolve({ code, stdout, stderr });
			},
		);
	});
}
