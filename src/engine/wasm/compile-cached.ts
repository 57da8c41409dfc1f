import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ASSEMBLER_FILE, type WasmModuleSource } from "./assemble-wasm.js";

/** Where assembled kernel modules are kept between runs: `$XDG_CACHE_HOME/mergesmith/wasm` (or `~/.cache/…`). */
export function wasmCacheDir(env: NodeJS.ProcessEnv = process.env): string {
	return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "mergesmith", "wasm");
}

/** How long a module of other kernels is kept after it was written. */
const STALE_MS = 30 * 24 * 3600 * 1000;

/**
 * The module for `source`, compiled by `compile` from bytes assembled once per machine: assembling the kernels' 0.8 MB
 * of text takes a merge's main thread about 0.1 s before its first read, and the bytes depend only on that text and
 * on the assembler. They are kept under the SHA-256 of both, so a changed kernel or assembler is assembled anew; a
 * file that does not compile is replaced, and those of other kernels go after a month. Where the cache cannot be written (a
 * read-only home, say), every run assembles, as without it.
 */
export function compileCached<T>(
	source: WasmModuleSource,
	assemble: (source: WasmModuleSource) => Uint8Array<ArrayBuffer>,
	compile: (bytes: Uint8Array<ArrayBuffer>) => T,
	dir = wasmCacheDir(),
): T {
	const file = join(dir, `${sourceHash(source)}.wasm`);
	try {
		return compile(new Uint8Array(readFileSync(file)));
	} catch {
		// Not cached yet, or not whole.
	}
	const bytes = assemble(source);
	const compiled = compile(bytes);
	const partial = `${file}.${process.pid}.partial`;
	try {
		mkdirSync(dir, { recursive: true });
		// Written whole under another name, then renamed: a merge starting meanwhile reads all of it or nothing.
		writeFileSync(partial, bytes);
		renameSync(partial, file);
		// Modules of other kernels not written for a month belong to versions long replaced (the test runner's, from
		// the sources, and the built command's differ, so a newer one alone is no sign).
		for (const name of readdirSync(dir)) {
			const other = join(dir, name);
			if (name.endsWith(".wasm") && other !== file && Date.now() - statSync(other).mtimeMs > STALE_MS) {
				rmSync(other, { force: true });
			}
		}
	} catch {
		try {
			rmSync(partial, { force: true });
		} catch {
			// Nothing was written.
		}
	}
	return compiled;
}

/** The SHA-256 of the assembler and of `source`, piece by piece (a JSON text of it all would take as long again). */
function sourceHash(source: WasmModuleSource): string {
	const hash = createHash("sha256");
	hash.update(readFileSync(ASSEMBLER_FILE));
	hash.update(`\0${source.memory.minPages} ${source.memory.maxPages}`);
	for (const fn of source.functions) {
		const locals = (fn.locals ?? []).map((local) => local.join(" ")).join(",");
		hash.update(`\0${fn.name}(${fn.params.map((param) => param.join(" ")).join(",")}) ${fn.result ?? ""}; ${locals}\0`);
		hash.update(fn.body);
	}
	return hash.digest("hex");
}
