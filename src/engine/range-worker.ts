import { parentPort, workerData } from "node:worker_threads";
import { adoptSimdWasm } from "../methods/kernels/simd/simd-kernels.js";
import { adoptKernelMemory, kernelMemory } from "./kernel-memory.js";
import { type RangeTask, runChunks } from "./run-chunks.js";
import type { SharedWasmMemory, WasmModule } from "./wasm/instantiate-wasm.js";

/**
 * A worker thread of WorkerPool: takes chunks of range kernels on shared memory, and signals each run done through
 * `flags`.
 */
const {
	flags,
	ready,
	next,
	slot: me,
	memory,
	scratch,
	wasm,
} = workerData as {
	flags: Int32Array;
	ready: Int32Array;
	next: Int32Array;
	slot: number;
	memory: SharedWasmMemory;
	scratch: number;
	wasm: WasmModule;
};
adoptKernelMemory(memory, scratch);
adoptSimdWasm(wasm);

parentPort?.on("message", (task: RangeTask) => {
	let state = 1;
	try {
		task.args.arrays.forEach((array, i) => {
			if (task.inKernelMemory[i]) {
				kernelMemory().recognise(array.buffer);
			}
		});
		runChunks(next, task);
	} catch (error) {
		state = 2;
		process.stderr.write(`mergesmith worker: ${(error as Error).stack ?? String(error)}\n`);
	}
	Atomics.store(flags, task.slot, state);
	Atomics.notify(flags, task.slot);
});
Atomics.store(ready, me, 1);
Atomics.notify(ready, me);
