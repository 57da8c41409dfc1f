import { main } from "../../src/cli/main.js";
import type { CliResult } from "./run-cli.js";

/**
 * Runs the `mergesmith` command line in this process (no build, no process start: fast enough for a corpus of
 * recipes). `env` is what the command sees, and also set on process.env while it runs, since model lookup reads
 * HF_HUB_CACHE from there; calls must therefore not overlap.
 */
export async function runMain(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
	let stdout = "";
	let stderr = "";
	const saved = new Map(Object.keys(env).map((key) => [key, process.env[key]]));
	Object.assign(process.env, env);
	try {
		const code = await main(args, {
			stdout: { write: (text: string) => (stdout += text) },
			stderr: { write: (text: string) => (stderr += text) },
			env: { ...process.env, HF_HUB_OFFLINE: "1", ...env },
		});
		return { code, stdout, stderr };
	} finally {
		for (const [key, value] of saved) {
			if (value === undefined) {
				delete process.env[key];
			} else {
				process.env[key] = value;
			}
		}
	}
}
