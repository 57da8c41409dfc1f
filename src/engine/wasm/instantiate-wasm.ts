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

/** Compiles and instantiates a module synchronously (it is small), on the calling thread, over `memory`. */
export function instantiateWasm(bytes: Uint8Array<ArrayBuffer>, memory: SharedWasmMemory): WasmFunctions {
	const { Instance, Module } = api();
	const { exports } = new Instance(new Module(bytes), { env: { memory } });
	return exports as WasmFunctions;
}
