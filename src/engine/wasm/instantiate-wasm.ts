/** The part of the WebAssembly JavaScript API the kernels use (Node's types leave the global undeclared). */
interface WebAssemblyApi {
	Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
	Instance: new (module: object) => { exports: Record<string, unknown> };
}

export interface WasmInstance {
	functions: Record<string, (...args: number[]) => number | undefined>;
	/** The module's memory, which never grows, so views of it stay valid. */
	memory: ArrayBuffer;
}

/** Compiles and instantiates a module synchronously (it is small), on the calling thread. */
export function instantiateWasm(bytes: Uint8Array<ArrayBuffer>): WasmInstance {
	const api = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
	const { exports } = new api.Instance(new api.Module(bytes));
	const { memory, ...functions } = exports;
	return {
		functions: functions as WasmInstance["functions"],
		memory: (memory as { buffer: ArrayBuffer }).buffer,
	};
}
