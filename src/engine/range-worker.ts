import { parentPort, workerData } from "node:worker_threads";
import { RANGE_KERNELS, type RangeArgs, type RangeKernelName } from "../methods/kernels/range-kernels.js";
import { adoptKernelMemory, kernelMemory } from "./kernel-memory.js";
import type { SharedWasmMemory } from "./wasm/instantiate-wasm.js";

/** A worker thread of WorkerPool: runs range kernels on shared memory and signals each part done through `flags`. */
export interface RangeTask {
	kernel: RangeKernelName;
	args: RangeArgs;
	/** Which of `args.arrays` lie in the kernel memory (arrays arrive as new objects, so the sender says). */
	inKernelMemory: boolean[];
	start: number;
	end: number;
	/** This worker's slot in the pool's flags and sums. */
	slot: number;
	sums: Float64Array;
	sumCount: number;
}

const {
	flags,
	ready,
	slot: me,
	memory,
	scratch,
} = workerData as {
	flags: Int32Array;
	ready: Int32Array;
	slot: number;
	memory: SharedWasmMemory;
	scratch: number;
};
adoptKernelMemory(memory, scratch);

parentPort?.on("message", (task: RangeTask) => {
	let state = 1;
	try {
		task.args.arrays.forEach((array, i) => {
			if (task.inKernelMemory[i]) {
				kernelMemory().recognise(array.buffer);
			}
		});
		const sums = new Float64Array(task.sumCount);
		RANGE_KERNELS[task.kernel](task.args, task.start, task.end, sums);
		task.sums.set(sums, task.slot * task.sumCount);
	} catch (error) {
		state = 2;
		process.stderr.write(`mergesmith worker: ${(error as Error).stack ?? String(error)}\n`);
	}
	Atomics.store(flags, task.slot, state);
	Atomics.notify(flags, task.slot);
});
Atomics.store(ready, me, 1);
Atomics.notify(ready, me);
