import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { assembleWasm, type WasmModuleSource } from "../../src/engine/wasm/assemble-wasm.js";
import { compileCached, wasmCacheDir } from "../../src/engine/wasm/compile-cached.js";
import { compileWasm, createSharedMemory, instantiateWasm } from "../../src/engine/wasm/instantiate-wasm.js";

function source(constant: number): WasmModuleSource {
	return {
		memory: { minPages: 1, maxPages: 4 },
		functions: [{ name: "answer", params: [], result: "i32", body: `i32.const ${constant}` }],
	};
}

/** assembleWasm, counting its calls. */
function countingAssembler(): { assemble: typeof assembleWasm; calls: () => number } {
	let calls = 0;
	return {
		assemble: (module) => {
			calls++;
			return assembleWasm(module);
		},
		calls: () => calls,
	};
}

const answer = (module: object): number | undefined =>
	instantiateWasm(module, createSharedMemory(1, 4)).answer?.() as number | undefined;

const dirs: string[] = [];
function cacheDir(): string {
	const dir = mkdtempSync(join(tmpdir(), "mergesmith-wasm-cache-"));
	dirs.push(dir);
	return join(dir, "wasm");
}

afterEach(() => {
	for (const dir of dirs.splice(0)) {
		rmSync(dir, { recursive: true, force: true });
	}
});

describe("compileCached", () => {
	it("assembles a module once, and later runs compile the bytes it kept", () => {
		const dir = cacheDir();
		const counter = countingAssembler();
		expect(answer(compileCached(source(42), counter.assemble, compileWasm, dir))).toBe(42);
		expect(answer(compileCached(source(42), counter.assemble, compileWasm, dir))).toBe(42);
		expect(counter.calls()).toBe(1);
		expect(readdirSync(dir).filter((name) => name.endsWith(".wasm"))).toHaveLength(1);
	});

	it("assembles changed kernels anew, and drops modules a month old", () => {
		const dir = cacheDir();
		const counter = countingAssembler();
		compileCached(source(1), counter.assemble, compileWasm, dir);
		compileCached(source(2), counter.assemble, compileWasm, dir);
		const [first, second] = readdirSync(dir).sort();
		const monthAgo = new Date(Date.now() - 31 * 24 * 3600 * 1000);
		utimesSync(join(dir, first as string), monthAgo, monthAgo);
		expect(answer(compileCached(source(3), counter.assemble, compileWasm, dir))).toBe(3);
		expect(counter.calls()).toBe(3);
		const after = readdirSync(dir);
		expect(after).toHaveLength(2);
		expect(after).toContain(second);
		expect(after).not.toContain(first);
	});

	it("replaces a kept module that does not compile", () => {
		const dir = cacheDir();
		const counter = countingAssembler();
		compileCached(source(7), counter.assemble, compileWasm, dir);
		const [name] = readdirSync(dir);
		writeFileSync(join(dir, name as string), new Uint8Array([0x00, 0x61, 0x73]));
		expect(answer(compileCached(source(7), counter.assemble, compileWasm, dir))).toBe(7);
		expect(counter.calls()).toBe(2);
		expect(answer(compileCached(source(7), counter.assemble, compileWasm, dir))).toBe(7);
		expect(counter.calls()).toBe(2);
	});

	it("assembles every time where the cache cannot be written", () => {
		// A folder under a file cannot be made, whoever runs the test.
		const file = join(cacheDir(), "..", "a-file");
		writeFileSync(file, "");
		const counter = countingAssembler();
		expect(answer(compileCached(source(3), counter.assemble, compileWasm, join(file, "wasm")))).toBe(3);
		expect(answer(compileCached(source(3), counter.assemble, compileWasm, join(file, "wasm")))).toBe(3);
		expect(counter.calls()).toBe(2);
	});

	it("keeps its modules under XDG_CACHE_HOME, or ~/.cache", () => {
		expect(wasmCacheDir({ XDG_CACHE_HOME: "/var/cache/me" })).toBe("/var/cache/me/mergesmith/wasm");
		expect(wasmCacheDir({})).toMatch(/\/\.cache\/mergesmith\/wasm$/);
	});
});
