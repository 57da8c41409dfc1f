import { resultOf, resultTarget } from "./bf16-result.js";
import { copyTensor } from "./copy-tensor.js";
import { keepMagnitudeRanks, rankCut, valuesSource } from "./kernels/keep-magnitude-ranks.js";
import { pairSums } from "./kernels/pair-sums.js";
import { PAIR_BLOCK } from "./kernels/range-kernels.js";
import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import { SCE_SIMD_MAX } from "./kernels/simd/sce-simd.js";
import { simdEnabled } from "./kernels/simd/simd-kernels.js";
import type { MergeContext, MergeMethod, MergeResult, ModelTensor, ParameterDef } from "./merge-method.js";
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
		if (simdEnabled() && models.length <= SCE_SIMD_MAX) {
			return sceOfMadeTaskVectors(base, models, selectTopk, context);
		}
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
		const weights = energyWeights(deltas.map((delta) => (pairSums(delta, delta, n, context)[0] as number) / n));
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

/**
 * SCE over task vectors made a block at a time from the models and the base as stored, never stored whole: only the
 * variances (where select_topk < 1) and the result take memory. Three passes: the variances, whose top ranks' cut is
 * found (the variances are not zeroed: the later passes compare them with the cut); each task vector's energy after
 * the selection; the sign election and finish. Bit-identical to the passes over stored task vectors.
 */
function sceOfMadeTaskVectors(
	base: ModelTensor,
	models: readonly ModelTensor[],
	selectTopk: number,
	context: MergeContext,
): MergeResult {
	const b = base.bf16 ?? base.data;
	const xs = models.map((tensor) => tensor.bf16 ?? tensor.data);
	const n = b.length;
	const count = xs.length;
	const scratch = context.alloc ?? HEAP_SCRATCH;
	// The variances, and the cut that keeps their top ranks, as numbers [lowerBits, lowerCut] (see VarianceCut).
	const selected: Float32Array[] = [];
	let cut = [-1, 0];
	if (selectTopk < 1) {
		const variance = scratch.f32Uninitialised(n);
		const [nonzero = 0] = runRange(
			context,
			"sce-variance-of-made",
			{ arrays: [variance, b, ...xs], numbers: [] },
			n,
			1,
		);
		cut = topRanksCut(variance, topkCount(nonzero, selectTopk), context);
		selected.push(variance);
	}
	const blocks = Math.ceil(n / PAIR_BLOCK);
	const sums = scratch.f64(count * blocks);
	runRange(
		context,
		"sce-energies-of-made",
		{ arrays: [sums, b, ...xs, ...selected], numbers: [count, ...cut], align: PAIR_BLOCK },
		n,
	);
	// Added block by block in order, as pairSums adds them.
	const energies = xs.map((_, i) => {
		let total = 0;
		for (let block = 0; block < blocks; block++) {
			total += sums[count * block + i] as number;
		}
		return total / n;
	});
	const out = resultTarget(n, context);
	runRange(
		context,
		"sce-combine-of-made",
		{ arrays: [out, b, ...xs, ...selected], numbers: [...cut, ...energyWeights(energies)] },
		n,
	);
	return resultOf(out, [...base.shape], context);
}

/**
 * The cut that keeps descending ranks [0, k) of `values` (see VarianceCut), as numbers [lowerBits, lowerCut]: none
 * kept where k is 0, all where k is n.
 */
function topRanksCut(values: Float32Array, k: number, context: MergeContext): number[] {
	if (k <= 0) {
		return [0x7fffffff, 0];
	}
	if (k >= values.length) {
		return [-1, 0];
	}
	const { lowerBits, lowerCut } = rankCut(valuesSource(values, context), 0, k, context.alloc ?? HEAP_SCRATCH);
	return [lowerBits, lowerCut];
}

/** sᵢ = mean(τᵢ²) / Σ mean(τⱼ²), or equal weights where the energies add up to almost nothing. */
function energyWeights(energies: readonly number[]): number[] {
	const total = energies.reduce((sum, energy) => sum + energy, 0);
	return Math.abs(total) < 1e-6 ? energies.map(() => 1 / energies.length) : energies.map((energy) => energy / total);
}

/** How many variances SCE keeps: floor(nonzero · topk), from a float32 product as mergekit computes it. */
function topkCount(nonzero: number, topk: number): number {
	return Math.floor(Math.fround(Math.fround(nonzero) * Math.fround(topk)));
}

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
	keepMagnitudeRanks(variance, 0, topkCount(nonzero, topk), context);
	runRange(context, "sce-select", { arrays: [variance, ...deltas], numbers: [] }, n);
}
