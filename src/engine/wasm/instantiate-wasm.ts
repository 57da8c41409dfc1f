/** A shared WebAssembly memory (Node's types leave the WebAssembly global undeclared). */
export interface SharedWasmMemory {
	readonly buffer: SharedArrayBuffer;
	/** Adds `pages` pages of 64 KiB; returns the size in pages before. */
	grow(pages: number): number;
}

/** The part of the WebAssembly JavaScript API the kernels use. */
interface WebAssemblyApi {
	Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
	Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
	Memory: new (limits: { initial: number; maximum: number; shared: true }) => SharedWasmMemory;
}

const api = (): WebAssemblyApi => (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

export type WasmFunctions = Record<string, (...args: number[]) => number | undefined>;

/** A new shared memory of `initialPages` pages that can grow to `maxPages`. */
export function createSharedMemory(initialPages: number, maxPages: number): SharedWasmMemory {
	return new (api().Memory)({ initial: initialPages, maximum: maxPages, shared: true });
}

/** A compiled module: worker threads can be given one (through workerData), instead of compiling it again. */
export type WasmModule = object;

/** Compiles a module synchronously (it is small), on the calling thread. */
export function compileWasm(bytes: Uint8Array<ArrayBuffer>): WasmModule {
	return new (api().Module)(bytes);
}

/** Instantiates a module (compiling it first when given its bytes) over `memory`. */
export function instantiateWasm(source: Uint8Array<ArrayBuffer> | WasmModule, memory: SharedWasmMemory): WasmFunctions {
	const module = source instanceof Uint8Array ? compileWasm(source) : source;
	const { exports } = new (api().Instance)(module, { env: { memory } });
	return exports as WasmFunctions;
}
