import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createHugePages, hugePagesNote, transparentHugePageMode } from "../../src/engine/huge-pages.js";
import { PROJECT_ROOT } from "../helpers/run-cli.js";

const helper = (errno = 0) => ({ advise: () => errno, hugePageOffset: () => 0 });
const missing = () => ({ error: "Cannot find module 'huge_pages.node'" });

describe("createHugePages", () => {
	it("asks for them through the helper where the kernel gives them on request", () => {
		const pages = createHugePages(undefined, "madvise", () => helper());
		expect(pages.status).toEqual({ on: true, how: "madvise (transparent_hugepage: madvise)" });
		expect(hugePagesNote(pages.status)).toBeUndefined();
	});

	it("says how to build the helper where it is missing and the kernel gives them only on request", () => {
		const { status } = createHugePages(undefined, "madvise", missing);
		expect(status.on).toBe(false);
		expect(hugePagesNote(status)).toBe(
			"note: merges run without huge pages, slower to touch their memory: the native helper that asks for them is not built (Cannot find module 'huge_pages.node'); `npm run build:native` builds it (needs python3, make and a C compiler)",
		);
	});

	it("has nothing to ask for where the kernel gives them to all memory, or none", () => {
		expect(createHugePages(undefined, "always", missing).status.on).toBe(true);
		const never = createHugePages(undefined, "never", () => helper()).status;
		expect(never).toMatchObject({ on: false, reason: expect.stringContaining("never") });
		// The user's or the kernel's choice: no note.
		expect(hugePagesNote(never)).toBeUndefined();
		expect(hugePagesNote(createHugePages("0", "madvise", () => helper()).status)).toBeUndefined();
	});

	it("turns off, saying why, when the kernel refuses the request", () => {
		const pages = createHugePages(undefined, "madvise", () => helper(22));
		pages.advise(new Uint8Array(8), 8);
		expect(pages.status).toEqual({ on: false, reason: "madvise(MADV_HUGEPAGE) failed with errno 22" });
	});
});

const kernelMode = transparentHugePageMode();

/** Huge pages backing 64 MiB of kernel memory touched by a fresh process (KiB, from its smaps_rollup). */
function touchedInHugePages(env: NodeJS.ProcessEnv): Promise<number> {
	const script = `
		import { readFileSync } from "node:fs";
		import { kernelMemory } from "./dist/engine/kernel-memory.js";
		const huge = () => Number(/AnonHugePages:\\s+(\\d+)/.exec(readFileSync("/proc/self/smaps_rollup", "utf8"))[1]);
		const before = huge();
		const region = kernelMemory().allocate(64 << 20);
		new Uint8Array(region.buffer, region.byteOffset, region.byteLength).fill(1);
		console.log(huge() - before);
	`;
	return new Promise((resolve, reject) => {
		execFile(
			process.execPath,
			["--input-type=module", "-e", script],
			{ cwd: PROJECT_ROOT, env: { ...process.env, ...env } },
			(error, stdout) => (error ? reject(error) : resolve(Number(stdout.trim()))),
		);
	});
}

// Where the kernel has transparent huge pages at all (Linux, not "never"); `npm install` builds the helper.
describe.skipIf(kernelMode !== "madvise" && kernelMode !== "always")("kernel memory in huge pages", () => {
	it("is backed by 2 MiB pages once touched", async () => {
		// Of 64 MiB, all but the 2 MiB pages that straddle the memory's start and end where the kernel has huge pages
		// free (it falls back to 4 KiB pages where memory is too fragmented): at least half, where asking gives none.
		expect(await touchedInHugePages({})).toBeGreaterThanOrEqual(32 << 10);
	});

	it.skipIf(kernelMode !== "madvise")(
		"is not, with MERGESMITH_HUGE_PAGES=0, where the kernel waits to be asked",
		async () => {
			expect(await touchedInHugePages({ MERGESMITH_HUGE_PAGES: "0" })).toBe(0);
		},
	);
});
