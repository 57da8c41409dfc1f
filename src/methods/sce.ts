import { resultOf, resultTarget } from "./bf16-result.js";
import { copyTensor } from "./copy-tensor.js";
import { keepMagnitudeRanks, rankCut, tieAt, valuesSource } from "./kernels/keep-magnitude-ranks.js";
import { magnitudeAtRankOf, topBucketAt } from "./kernels/magnitude-at-rank.js";
import { LOW_BUCKETS, TOP_BUCKETS, TOP_SUMS } from "./kernels/magnitude-buckets.js";
import { pairSums } from "./kernels/pair-sums.js";
import { PAIR_BLOCK, type RangeArray } from "./kernels/range-kernels.js";
import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import { SCE_SIMD_MAX } from "./kernels/simd/sce-simd.js";
import { simdEnabled } from "./kernels/simd/simd-kernels.js";
import type {
	BlockSumsTensor,
	MergeContext,
	MergeInputs,
	MergeMethod,
	MergeResult,
	ModelTensor,
	ParameterDef,
} from "./merge-method.js";
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
	blockSums: {
		applies: sceBlockApplies,
		passes: (tensor) => (readNumber(tensor.params, SELECT_TOPK, "sce") < 1 ? 3 : 1),
		add: sceBlockSums,
	},
	merge(inputs, context) {
		if (context.tensorSums) {
			return sceBlockMerge(inputs, context, context.tensorSums);
		}
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
		const scratch = context.alloc ?? HEAP_SCRATCH;
		const deltas = models.map((tensor) => {
			const delta = scratch.f32Uninitialised(n);
			runRange(context, "task-vector", { arrays: [tensor.bf16 ?? tensor.data, b, delta], numbers: [] }, n);
			return delta;
		});
		if (selectTopk < 1) {
			const variance = scratch.f32Uninitialised(n);
			selectByVariance(deltas, selectTopk, variance, context);
			// Its memory goes to the result: at full size the embeddings' arrays are 262 MB each.
			scratch.free?.(variance);
		}
		const weights = energyWeights(deltas.map((delta) => (pairSums(delta, delta, n, context)[0] as number) / n));
		const out = scratch.f32Uninitialised(n);
		runRange(context, "sce-combine", { arrays: [out, b, ...deltas], numbers: weights }, n);
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
	// The variances, and the cut that keeps their top ranks, as numbers [lowerBits, lowerCut] (see VarianceCut).
	let selected: Float32Array | undefined;
	let cut = KEEP_ALL;
	if (selectTopk < 1) {
		const made = madeVariance(b, xs, context);
		selected = made.variance;
		cut = topRanksCut(made.variance, topkCount(made.nonzero, selectTopk), context);
	}
	const energies = selectedEnergies(b, xs, selected, cut, context);
	return combineSelected(base, xs, selected, cut, energyWeights(Array.from(energies, (energy) => energy / n)), context);
}

/** The cut that keeps every variance. */
const KEEP_ALL = [-1, 0];

/** The variances of the task vectors made from `b` and `xs`, and how many are nonzero. */
function madeVariance(
	b: RangeArray,
	xs: readonly RangeArray[],
	context: MergeContext,
): { variance: Float32Array; nonzero: number } {
	const variance = (context.alloc ?? HEAP_SCRATCH).f32Uninitialised(b.length);
	const [nonzero = 0] = runRange(
		context,
		"sce-variance-of-made",
		{ arrays: [variance, b, ...xs], numbers: [] },
		b.length,
		1,
	);
	return { variance, nonzero };
}

/**
 * Each made task vector's ‖δᵢ‖² after the selection by `cut` of the `selected` variances (none: every element), added
 * per PAIR_BLOCK in block order, on to `running` where given (the blocks of rows before).
 */
function selectedEnergies(
	b: RangeArray,
	xs: readonly RangeArray[],
	selected: Float32Array | undefined,
	cut: readonly number[],
	context: MergeContext,
	running?: Float64Array,
): Float64Array {
	const n = b.length;
	const count = xs.length;
	const blocks = Math.ceil(n / PAIR_BLOCK);
	const sums = (context.alloc ?? HEAP_SCRATCH).f64(count * blocks);
	runRange(
		context,
		"sce-energies-of-made",
		{ arrays: [sums, b, ...xs, ...(selected ? [selected] : [])], numbers: [count, ...cut], align: PAIR_BLOCK },
		n,
	);
	// Added block by block in order, as pairSums adds them.
	return Float64Array.from(xs, (_, i) => {
		let total = running?.[i] ?? 0;
		for (let block = 0; block < blocks; block++) {
			total += sums[count * block + i] as number;
		}
		return total;
	});
}

/** The sign election and finish of the task vectors selected by `cut`, with the weights, into the result. */
function combineSelected(
	base: ModelTensor,
	xs: readonly RangeArray[],
	selected: Float32Array | undefined,
	cut: readonly number[],
	weights: readonly number[],
	context: MergeContext,
): MergeResult {
	const b = base.bf16 ?? base.data;
	const out = resultTarget(b.length, context);
	runRange(
		context,
		"sce-combine-of-made",
		{ arrays: [out, b, ...xs, ...(selected ? [selected] : [])], numbers: [...cut, ...weights] },
		b.length,
	);
	return resultOf(out, [...base.shape], context);
}

/**
 * The cut that keeps descending ranks [0, k) of `values` (see VarianceCut), as numbers [lowerBits, lowerCut]: none
 * kept where k is 0, all where k is n.
 */
function topRanksCut(values: Float32Array, k: number, context: MergeContext): number[] {
	if (k <= 0) {
		return KEEP_NONE;
	}
	if (k >= values.length) {
		return KEEP_ALL;
	}
	const { lowerBits, lowerCut } = rankCut(valuesSource(values, context), 0, k, context.alloc ?? HEAP_SCRATCH);
	return [lowerBits, lowerCut];
}

/** The cut that keeps no variance. */
const KEEP_NONE = [0x7fffffff, 0];

/*
 * SCE in blocks of rows (MergeMethod.blockSums), where the made-task-vector kernels run and select_topk < 1: three
 * passes over the blocks find what the passes over the whole tensor find, each block's variances made again in each
 * from its inputs (they are never held for the whole tensor, whose embedding matrices' variances are as large as two
 * of its inputs). Pass 0 counts the nonzero variances and their top histogram; pass 1 the low histogram of the top
 * bucket the cut falls in; pass 2 goes through the blocks in order counting the cut's ties until it finds the index
 * before which they are kept, and adds up each block's energies after the selection, the block's cut as far as the
 * ties seen so far tell it (all of them kept before that index, none after). The merge then combines each block with
 * the whole tensor's cut and weights. With select_topk 1 there is one pass, the energies'.
 */

/** Where each pass's sums lie in MergeContext.tensorSums (select_topk < 1); pass 2's energies follow its first two. */
const NONZERO = 0;
const TOP_HISTOGRAM = NONZERO + 1;
const LOW_HISTOGRAM = TOP_HISTOGRAM + TOP_SUMS;
/** [ties of the cut's magnitude seen, the cut's index + 1 once found] */
const TIES = LOW_HISTOGRAM + LOW_BUCKETS;
const SELECTION_SUMS = TIES + 2;

function sceBlockApplies(tensor: BlockSumsTensor): boolean {
	return (
		simdEnabled() && tensor.base !== undefined && tensor.models.length >= 1 && tensor.models.length <= SCE_SIMD_MAX
	);
}

/** One pass's sums of a block of rows, added to the blocks' before (`running`). */
function sceBlockSums(inputs: MergeInputs, context: MergeContext, running: Float64Array | undefined): Float64Array {
	const { where, b, xs, selectTopk, rows } = blockOperands(inputs, context);
	const earlier = context.tensorSums;
	if (selectTopk >= 1) {
		return selectedEnergies(b, xs, undefined, KEEP_ALL, context, running);
	}
	const add = (sums: ArrayLike<number>): Float64Array =>
		Float64Array.from(sums, (value, i) => value + (running?.[i] ?? 0));
	if (earlier === undefined) {
		const { variance, nonzero } = madeVariance(b, xs, context);
		const sums = new Float64Array(LOW_HISTOGRAM);
		sums[NONZERO] = nonzero;
		sums.set(valuesSource(variance, context).histogram(-1), TOP_HISTOGRAM);
		return add(sums);
	}
	const rank = cutRank(earlier, selectTopk, rows.total);
	if (earlier.length === LOW_HISTOGRAM) {
		const high = earlier.subarray(TOP_HISTOGRAM, LOW_HISTOGRAM);
		if (rank === undefined || high[TOP_BUCKETS] === 0) {
			// No cut to place, or no low bits to tell its magnitudes apart (see magnitudeAtRankOf).
			return new Float64Array(LOW_BUCKETS);
		}
		const { variance } = madeVariance(b, xs, context);
		return add(valuesSource(variance, context).histogram(topBucketAt(high, rank).top));
	}
	if (earlier.length !== TIES) {
		throw new Error(`${where}: a block of rows past SCE's passes over its sums`);
	}
	const { variance } = madeVariance(b, xs, context);
	const boundary = rank === undefined ? undefined : cutBoundary(earlier, rank, rows.total);
	const seen = running?.[0] ?? 0;
	let found = running?.[1] ?? 0;
	let seenAfter = seen;
	if (boundary?.ties && found === 0) {
		const at = tieAt(
			valuesSource(variance, context),
			boundary.bits,
			boundary.keep - seen,
			context.alloc ?? HEAP_SCRATCH,
		);
		seenAfter += at.count;
		found = at.index < variance.length ? rows.offset + at.index + 1 : 0;
	}
	const cut = blockCut(earlier, selectTopk, rows, found);
	const energies = selectedEnergies(b, xs, variance, cut, context, running?.subarray(2));
	return Float64Array.of(seenAfter, found, ...energies);
}

/** The block of rows' inputs as the made kernels read them, select_topk, and where the block lies in the tensor. */
function blockOperands(inputs: MergeInputs, context: MergeContext) {
	const where = `sce on ${context.tensorName}`;
	const { base, models } = requireBase(inputs, where);
	const rows = context.rows;
	if (!rows || models.length === 0) {
		throw new Error(`${where}: a block of rows without its place in the tensor, or without a model`);
	}
	return {
		where,
		base,
		b: base.bf16 ?? base.data,
		xs: models.map((tensor) => tensor.bf16 ?? tensor.data),
		selectTopk: readNumber(context.params, SELECT_TOPK, where),
		rows,
	};
}

/** The descending rank of the last variance kept (k − 1), from pass 0's sums; undefined where none or all are kept. */
function cutRank(sums: Float64Array, selectTopk: number, n: number): number | undefined {
	const k = topkCount(sums[NONZERO] as number, selectTopk);
	return k <= 0 || k >= n ? undefined : k - 1;
}

/** The cut's magnitude bits, how many of the variances equal to it are kept, and whether some are not. */
function cutBoundary(sums: Float64Array, rank: number, n: number): { bits: number; keep: number; ties: boolean } {
	const lower = magnitudeAtRankOf(n, rank, (high) =>
		high < 0 ? sums.subarray(TOP_HISTOGRAM, LOW_HISTOGRAM) : sums.subarray(LOW_HISTOGRAM, TIES),
	);
	const keep = rank + 1 - lower.greater;
	return { bits: lower.bits, keep, ties: keep < lower.equal };
}

/**
 * The whole tensor's cut (as topRanksCut makes it) from passes 0–1's sums and `found`, the index + 1 of the first
 * tie at the cut that is not kept (0 while not found), with its index local to the block of rows.
 */
function blockCut(
	sums: Float64Array,
	selectTopk: number,
	rows: NonNullable<MergeContext["rows"]>,
	found: number,
): number[] {
	const k = topkCount(sums[NONZERO] as number, selectTopk);
	if (k <= 0) {
		return KEEP_NONE;
	}
	if (k >= rows.total) {
		return KEEP_ALL;
	}
	const boundary = cutBoundary(sums, k - 1, rows.total);
	const lowerCut = boundary.ties && found > 0 ? found - 1 : rows.total;
	return [boundary.bits, lowerCut - rows.offset];
}

/** A block of rows' merge with the whole tensor's cut and weights, from all passes' sums. */
function sceBlockMerge(inputs: MergeInputs, context: MergeContext, sums: Float64Array): MergeResult {
	const { base, b, xs, selectTopk, rows } = blockOperands(inputs, context);
	const energies = selectTopk >= 1 ? sums : sums.subarray(SELECTION_SUMS);
	const weights = energyWeights(Array.from(energies, (energy) => energy / rows.total));
	if (selectTopk >= 1) {
		return combineSelected(base, xs, undefined, KEEP_ALL, weights, context);
	}
	const { variance } = madeVariance(b, xs, context);
	return combineSelected(
		base,
		xs,
		variance,
		blockCut(sums, selectTopk, rows, sums[TIES + 1] as number),
		weights,
		context,
	);
}

/**
 * sᵢ = mean(τᵢ²) / Σ mean(τⱼ²), or equal weights where the energies add up to almost nothing; float32 values, as
 * mergekit's weights tensor holds them in a float32 merge.
 */
function energyWeights(energies: readonly number[]): number[] {
	const total = energies.reduce((sum, energy) => sum + energy, 0);
	const weights =
		Math.abs(total) < 1e-6 ? energies.map(() => 1 / energies.length) : energies.map((energy) => energy / total);
	return weights.map(Math.fround);
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
