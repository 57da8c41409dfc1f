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
} = workerData as {
	flags: Int32Array;
	ready: Int32Array;
	next: Int32Array;
	slot: number;
	memory: SharedWasmMemory;
	scratch: number;
};
adoptKernelMemory(memory, scratch);

function runTask(task: RangeTask): void {
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
}

// The first message is the kernels' compiled module (see WorkerPool.create); the worker is ready once it has it.
parentPort?.once("message", ({ wasm }: { wasm: WasmModule }) => {
	adoptSimdWasm(wasm);
	parentPort?.on("message", runTask);
	Atomics.store(ready, me, 1);
	Atomics.notify(ready, me);
});
