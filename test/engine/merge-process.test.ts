import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { MERGE_PROCESS_PRELOAD } from "../../src/engine/merge-process.js";

/** Runs an ES module script in a Node process, by default one that merges; resolves to what it printed. */
function runScript(
	script: string,
	env: NodeJS.ProcessEnv = {},
	flags: readonly string[] = MERGE_PROCESS_PRELOAD,
): Promise<string> {
	return new Promise((resolve, reject) => {
		execFile(
			process.execPath,
			[...flags, "--input-type=module", "-e", script],
			{ env: { ...process.env, UV_THREADPOOL_SIZE: undefined, ...env } },
			(error, stdout) => (error ? reject(error) : resolve(stdout.trim())),
		);
	});
}

/** The number of threads of a process that merges after eight file opens side by side. */
async function threadsAfterOpens(env: NodeJS.ProcessEnv): Promise<number> {
	const script = `
		const { open } = await import("node:fs/promises");
		const { readdirSync } = await import("node:fs");
		const files = await Promise.all(Array.from({ length: 8 }, () => open(${JSON.stringify(import.meta.filename)})));
		await Promise.all(files.map((file) => file.close()));
		process.stdout.write(String(readdirSync("/proc/self/task").length));`;
	return Number(await runScript(script, env));
}

describe("a process that merges", () => {
	it.runIf(process.platform === "linux")(
		"has sixteen I/O threads, twelve more than Node's default, unless the environment sets their number",
		async () => {
			const preloaded = await threadsAfterOpens({});
			const four = await threadsAfterOpens({ UV_THREADPOOL_SIZE: "4" });
			expect(preloaded - four).toBe(12);
		},
	);

	it("leaves code that calls the kernels block by block unoptimized where V8's default budget would optimize it", async () => {
		// A small function called as often as a tensor's blocks: V8's default budget optimizes it well before the end.
		const script = `
			function blockCall(block, sums) { sums[block & 7] += block * 0.5; return sums; }
			const sums = new Float64Array(8);
			for (let block = 0; block < 20000; block++) blockCall(block, sums);
			await new Promise((resolve) => setTimeout(resolve, 200));
			const optimized = 16; // V8's OptimizationStatus::kOptimized
			process.stdout.write(String((%GetOptimizationStatus(blockCall) & optimized) !== 0));`;
		expect(await runScript(script, {}, ["--allow-natives-syntax"])).toBe("true");
		expect(await runScript(script, {}, ["--allow-natives-syntax", ...MERGE_PROCESS_PRELOAD])).toBe("false");
	});
});
