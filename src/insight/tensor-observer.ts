import type { KernelStats, MergeContext, MergeInputs, MergeResult } from "../methods/merge-method.js";
import type { PlannedTensor } from "../plan/merge-plan.js";

/**
 * One tensor as the executor merged it: the data it already holds, what the kernel reported, and the executor's
 * worker threads (`parallel`), which the measurements share as the merge does.
 */
export interface MergedTensor extends Pick<MergeContext, "parallel"> {
	tensor: PlannedTensor;
	inputs: MergeInputs;
	/** In float32, before the cast to the output dtype. */
	result: MergeResult;
	kernelStats: readonly KernelStats[];
	/** Where the tensor was merged a block of rows at a time: which block this is (`tensor` has its rows' shape). */
	block?: { first: boolean; last: boolean };
}

/** Called once per merged tensor (or block of one), after the kernel and before the values are encoded. */
export type TensorObserver = (merged: MergedTensor) => void;
