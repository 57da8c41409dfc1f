import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { IO_THREADS_PRELOAD } from "../../src/engine/io-threads.js";

/** The number of threads of a Node process that preloads the pool's size and runs eight file opens side by side. */
function threadsAfterOpens(env: NodeJS.ProcessEnv): Promise<number> {
	const script = `
		const { open } = await import("node:fs/promises");
		const { readdirSync } = await import("node:fs");
		const files = await Promise.all(Array.from({ length: 8 }, () => open(${JSON.stringify(import.meta.filename)})));
		await Promise.all(files.map((file) => file.close()));
		process.stdout.write(String(readdirSync("/proc/self/task").length));`;
	return new Promise((resolve, reject) => {
		execFile(
			process.execPath,
			[...IO_THREADS_PRELOAD, "--input-type=module", "-e", script],
			{ env: { ...process.env, UV_THREADPOOL_SIZE: undefined, ...env } },
			(error, stdout) => (error ? reject(error) : resolve(Number(stdout))),
		);
	});
}

describe.runIf(process.platform === "linux")("the I/O thread pool of a process that merges", () => {
	it("has sixteen threads, twelve more than Node's default, unless the environment sets its size", async () => {
		const preloaded = await threadsAfterOpens({});
		const four = await threadsAfterOpens({ UV_THREADPOOL_SIZE: "4" });
		expect(preloaded - four).toBe(12);
	});
});
