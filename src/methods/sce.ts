import { copyTensor } from "./copy-tensor.js";
import { keepMagnitudeRanks } from "./kernels/keep-magnitude-ranks.js";
import { pairSums } from "./kernels/pair-sums.js";
import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import type { MergeContext, MergeMethod, ParameterDef } from "./merge-method.js";
import { readNumber } from "./read-param.js";
import { requireBase } from "./require-base.js";
import { INT8_MASK } from "./task-arithmetic.js";

const SELECT_TOPK: ParameterDef = {
	name: "select_topk",
	scope: "global",
	type: "number",
	default: 1,
	range: { min: 0, max: 1, minExclusive: true },
	description:
		"Share of the elements, those where the models disagree most (highest variance), that take part in the merge.",
};

/**
 * SCE (FuseChat): Select the top-variance elements of the task vectors τᵢ = Xᵢ − B, Calculate per-model weights
 * sᵢ ∝ mean(τᵢ²), Erase the elements whose sign disagrees with the elected one, and add the weighted mean to B.
 */
export const sce: MergeMethod = {
	name: "sce",
	displayName: "SCE",
	paperUrl: "https://arxiv.org/abs/2408.07990",
	explanation:
		"Merges the models' changes from the base, keeping only the elements where the models differ most, weighting each model " +
		"by how large its changes are, and dropping changes that point against the majority sign. Per-model weights are not used.",
	parameters: [SELECT_TOPK, INT8_MASK],
	baseRole: "reference",
	requiresBase: true,
	modelCount: { min: 1, countsBase: false },
	shapePolicy: "strict",
	isRandomized: () => false,
	merge(inputs, context) {
		const where = `sce on ${context.tensorName}`;
		const { base, models } = requireBase(inputs, where);
		if (models.length === 0) {
			return copyTensor(base);
		}
		const selectTopk = readNumber(context.params, SELECT_TOPK, where);
		const b = base.data;
		const n = b.length;
		const count = models.length;
		const scratch = context.alloc ?? HEAP_SCRATCH;
		const deltas = models.map((tensor) => {
			const delta = scratch.f32Uninitialised(n);
			runRange(context, "task-vector", { arrays: [tensor.bf16 ?? tensor.data, b, delta], numbers: [] }, n);
			return delta;
		});
		if (selectTopk < 1) {
			const variance = scratch.f32Uninitialised(n);
			selectByVariance(deltas, selectTopk, variance, context);
			// Its memory goes to the numerator: at full size the embeddings' arrays are 262 MB each.
			scratch.free?.(variance);
		}
		const energies = deltas.map((delta) => (pairSums(delta, delta, n, context)[0] as number) / n);
		const total = energies.reduce((sum, energy) => sum + energy, 0);
		const weights = Math.abs(total) < 1e-6 ? energies.map(() => 1 / count) : energies.map((energy) => energy / total);
		const numerator = scratch.f32Uninitialised(n);
		const divisor = scratch.f32Uninitialised(n);
		// The sign election with votes of scale 1, summing the agreeing models' weighted task vectors and weights.
		const ones = weights.map(() => 1);
		runRange(
			context,
			"sign-election",
			{ arrays: [numerator, divisor, ...deltas], numbers: [...ones, ...weights, ...weights] },
			n,
			count,
		);
		runRange(context, "sce-finish", { arrays: [numerator, b, divisor], numbers: [] }, n);
		const out = numerator;
		return { data: out, shape: [...base.shape] };
	},
};

/** Zeroes, in every task vector, the elements outside the floor(nonzero · topk) highest population variances. */
function selectByVariance(
	deltas: readonly Float32Array[],
	topk: number,
	variance: Float32Array,
	context: Pick<MergeContext, "parallel" | "alloc">,
): void {
	const n = variance.length;
	const [nonzero = 0] = runRange(context, "sce-variance", { arrays: [variance, ...deltas], numbers: [] }, n, 1);
	// mergekit computes k from a float32 product (an int64 count times a Python float).
	const k = Math.floor(Math.fround(Math.fround(nonzero) * Math.fround(topk)));
	keepMagnitudeRanks(variance, 0, k, context);
	runRange(context, "sce-select", { arrays: [variance, ...deltas], numbers: [] }, n);
}
