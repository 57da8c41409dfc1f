import type { FloatDtype } from "../safetensors/dtype.js";
import { resultOf, resultTarget } from "./bf16-result.js";
import { copyTensor } from "./copy-tensor.js";
import { dtypeRounder, type Rounder } from "./kernels/dtype-rounder.js";
import {
	blockCut,
	keepAllCut,
	keepNoneCut,
	type MagnitudeSource,
	rowBlockCut,
	taskVectorSource,
} from "./kernels/keep-magnitude-ranks.js";
import { TOP_BUCKETS, TOP_SUMS } from "./kernels/magnitude-buckets.js";
import { DARE_BLOCK, PRUNE_KINDS, type RangeArray } from "./kernels/range-kernels.js";
import { addPartNorms, rescaleRatio } from "./kernels/rescale-l1.js";
import { runRange } from "./kernels/run-range.js";
import { HEAP_SCRATCH, type ScratchAllocator } from "./kernels/scratch.js";
import { simdEnabled } from "./kernels/simd/simd-kernels.js";
import type { BlockCut } from "./kernels/simd/task-arithmetic-simd.js";
import { dellaMaskBits, dellaMaskNorms, dellaMasksAsBits, sparsifyDella } from "./kernels/sparsify-della.js";
import { magnitudeKeepCount, sparsifyMagnitude } from "./kernels/sparsify-magnitude.js";
import { outlierRanks, sparsifyMagnitudeOutliers } from "./kernels/sparsify-magnitude-outliers.js";
import { dareKeepsAll, dareThreshold, sparsifyRandom } from "./kernels/sparsify-random.js";
import type {
	BlockSumsTensor,
	MergeContext,
	MergeInputs,
	MergeMethod,
	MergeResult,
	ModelTensor,
	ParameterDef,
	ParameterValue,
} from "./merge-method.js";
import type { Operands } from "./operands.js";
import { readBoolean, readNumber } from "./read-param.js";
import { requireBase } from "./require-base.js";
import { weightSum } from "./weight-sum.js";

/** How a family member prunes each task vector (mergekit's sparsification methods). */
type Sparsification = "magnitude" | "random" | "magnitude_outliers" | "della_magprune";

interface FamilyMember {
	name: string;
	displayName: string;
	paperUrl: string;
	explanation: string;
	/** TIES-style sign election ("sum"), or a plain weighted sum. */
	consensus: boolean;
	sparsification: Sparsification | undefined;
	normalize: boolean;
	rescale: boolean;
}

const WEIGHT: ParameterDef = {
	name: "weight",
	scope: "per-model",
	type: "number",
	required: true,
	description: "How much of this model's task vector (its change from the base) is added.",
};

const DENSITY: ParameterDef = {
	name: "density",
	scope: "per-model",
	type: "number",
	default: 1,
	range: { min: 0, max: 1, minExclusive: true },
	description: "Share of this model's task vector kept by pruning (1 keeps everything).",
};

const GAMMA: ParameterDef = {
	name: "gamma",
	scope: "per-model",
	type: "number",
	default: 0.01,
	range: { min: 0, max: 1, maxExclusive: true },
	description: "Share of the largest changes dropped as outliers before the smallest are pruned to reach density.",
};

const EPSILON: ParameterDef = {
	name: "epsilon",
	scope: "per-model",
	type: "number",
	default: 0.15,
	range: { min: 0, max: 1, maxExclusive: true },
	description:
		"Spread of the keep probabilities: from density − epsilon for the smallest change to density + epsilon for the largest.",
};

/** Shared with sce, which takes the same flag. */
export const INT8_MASK: ParameterDef = {
	name: "int8_mask",
	scope: "global",
	type: "boolean",
	default: false,
	description: "Store masks as int8 to save memory in mergekit; it does not change the result.",
};

const LAMBDA: ParameterDef = {
	name: "lambda",
	scope: "global",
	type: "number",
	default: 1,
	description: "Factor applied to the merged task vector before it is added to the base.",
};

function normalizeParameter(fallback: boolean): ParameterDef {
	return {
		name: "normalize",
		scope: "global",
		type: "boolean",
		default: fallback,
		description:
			"Divide the merged task vector by the sum of the weights (of the agreeing models, with sign election).",
	};
}

function rescaleParameter(fallback: boolean): ParameterDef {
	return {
		name: "rescale",
		scope: "global",
		type: "boolean",
		default: fallback,
		description: "After pruning, scale each task vector back to its original L1 norm.",
	};
}

const DARE_URL = "https://arxiv.org/abs/2311.03099";
const BREADCRUMBS_URL = "https://arxiv.org/abs/2312.06795";
const DELLA_URL = "https://arxiv.org/abs/2406.11617";

const MEMBERS: readonly FamilyMember[] = [
	{
		name: "task_arithmetic",
		displayName: "Task Arithmetic",
		paperUrl: "https://arxiv.org/abs/2212.04089",
		explanation:
			"Adds each model's change from the base model (its task vector), scaled by its weight, back onto the base. " +
			"Use it to combine skills of models fine-tuned from the same base.",
		consensus: false,
		sparsification: undefined,
		normalize: false,
		rescale: false,
	},
	{
		name: "ties",
		displayName: "TIES",
		paperUrl: "https://arxiv.org/abs/2306.01708",
		explanation:
			"Keeps only each model's largest changes from the base, lets the models vote on the sign of every weight, " +
			"and averages the changes that agree with the vote. It reduces interference when merging several fine-tunes.",
		consensus: true,
		sparsification: "magnitude",
		normalize: true,
		rescale: false,
	},
	{
		name: "dare_ties",
		displayName: "DARE TIES",
		paperUrl: DARE_URL,
		explanation:
			"Randomly drops most of each model's changes from the base and scales the rest up to compensate, then merges " +
			"them with TIES sign voting. The randomness depends on the seed.",
		consensus: true,
		sparsification: "random",
		normalize: false,
		rescale: true,
	},
	{
		name: "dare_linear",
		displayName: "Linear DARE",
		paperUrl: DARE_URL,
		explanation:
			"Randomly drops most of each model's changes from the base and scales the rest up to compensate, then adds " +
			"them to the base by weight. The randomness depends on the seed.",
		consensus: false,
		sparsification: "random",
		normalize: false,
		rescale: true,
	},
	{
		name: "breadcrumbs",
		displayName: "Model Breadcrumbs",
		paperUrl: BREADCRUMBS_URL,
		explanation:
			"Drops both the smallest changes from the base and a few extreme outliers in each model, then adds the rest to " +
			"the base by weight.",
		consensus: false,
		sparsification: "magnitude_outliers",
		normalize: false,
		rescale: false,
	},
	{
		name: "breadcrumbs_ties",
		displayName: "Model Breadcrumbs with TIES",
		paperUrl: BREADCRUMBS_URL,
		explanation:
			"Drops both the smallest changes from the base and a few extreme outliers in each model, then merges the rest " +
			"with TIES sign voting.",
		consensus: true,
		sparsification: "magnitude_outliers",
		normalize: false,
		rescale: false,
	},
	{
		name: "della",
		displayName: "DELLA",
		paperUrl: DELLA_URL,
		explanation:
			"Randomly drops changes from the base, giving larger changes a better chance to survive, rescales the rest and " +
			"merges them with TIES sign voting. The randomness depends on the seed.",
		consensus: true,
		sparsification: "della_magprune",
		normalize: true,
		rescale: true,
	},
	{
		name: "della_linear",
		displayName: "Linear DELLA",
		paperUrl: DELLA_URL,
		explanation:
			"Randomly drops changes from the base, giving larger changes a better chance to survive, rescales the rest and " +
			"adds them to the base by weight. The randomness depends on the seed.",
		consensus: false,
		sparsification: "della_magprune",
		normalize: false,
		rescale: true,
	},
];

function makeMember(member: FamilyMember): MergeMethod {
	const parameters: ParameterDef[] = [WEIGHT, DENSITY];
	if (member.sparsification === "magnitude_outliers") {
		parameters.push(GAMMA);
	}
	if (member.sparsification === "della_magprune") {
		parameters.push(EPSILON);
	}
	const rescale = rescaleParameter(member.rescale);
	parameters.push(normalizeParameter(member.normalize), rescale, INT8_MASK, LAMBDA);
	const random = member.sparsification === "random" || member.sparsification === "della_magprune";
	return {
		name: member.name,
		displayName: member.displayName,
		paperUrl: member.paperUrl,
		explanation: member.explanation,
		parameters,
		baseRole: "reference",
		requiresBase: true,
		modelCount: { min: 1, countsBase: false },
		shapePolicy: "crop-to-base",
		isRandomized: ({ perModel }) => random && perModel.some((params) => prunesAtRandom(params.density)),
		// Pruning ranks, draws or rescales over the whole tensor.
		elementwise: member.sparsification === undefined,
		...(member.sparsification === undefined
			? {}
			: {
					blockSums: {
						applies: (tensor) => familyBlocksApply(member, tensor, readBoolean(tensor.params, rescale, member.name)),
						add: (inputs, context, running) =>
							member.sparsification === "magnitude" || member.sparsification === "magnitude_outliers"
								? addRankSums(member, parameters, inputs, context, running)
								: addMaskSums(member, parameters, inputs, context, running),
					},
				}),
		merge: (inputs, context) => mergeFamily(member, parameters, inputs, context),
	};
}

/**
 * Whether a pruning member's tensor goes in blocks of rows (MergeMethod.blockSums): where familyInOnePass merges it
 * (a bf16 merge of up to three models, SIMD kernels; TIES and Model Breadcrumbs without the rescale), and:
 * - DARE with the rescale, which needs each mask's L1 norms over the whole tensor (without it, DARE draws in the
 *   combining pass), and DELLA where its masks can be kept as bits (dellaMasksAsBits). The first pass draws each
 *   mask, adds up its norms and keeps it as bits (addMaskSums); the second combines each block with them, drawing
 *   nothing again.
 * - TIES and Model Breadcrumbs, whose magnitude ranks are over the whole tensor: the first pass counts the top
 *   histogram of each task vector's magnitudes, the whole tensor's and each block's (addRankSums); the second cuts
 *   each block where the whole tensor's cut falls in it (rowBlockCut).
 */
function familyBlocksApply(member: FamilyMember, tensor: BlockSumsTensor, rescale: boolean): boolean {
	const models = tensor.models.filter((input) => input.model !== tensor.base?.model).length;
	const kind = member.sparsification;
	const fits = kind === "random" ? rescale : kind === "della_magprune" ? dellaMasksAsBits(tensor.shape) : !rescale;
	return fits && tensor.base !== undefined && tensor.computeDtype === "BF16" && simdEnabled() && models <= 3;
}

/**
 * The sums of TIES's and Model Breadcrumbs' blocks of rows (see familyBlocksApply): the elements of a block (every
 * block's but the last's), then each model's top histogram of its task vector's magnitudes over the whole tensor
 * (TOP_SUMS each), then each block's own counts of the top buckets (TOP_BUCKETS 32-bit counts a model), which say in
 * which block a boundary's ties fall.
 */
function rankSumsLayout(
	sums: Float64Array,
	models: number,
): { blockElements: number; top(model: number): Float64Array; blockCounts(block: number, model: number): Uint32Array } {
	const countsAt = sums.byteOffset + 8 * (1 + models * TOP_SUMS);
	return {
		blockElements: sums[0] as number,
		top: (model) => sums.subarray(1 + model * TOP_SUMS, 1 + (model + 1) * TOP_SUMS),
		blockCounts: (block, model) =>
			new Uint32Array(sums.buffer, countsAt + 4 * TOP_BUCKETS * (block * models + model), TOP_BUCKETS),
	};
}

/** The operands of a block of rows in the first pass (see familyBlocksApply): the base as stored among them. */
function blockOperands(
	member: FamilyMember,
	parameters: readonly ParameterDef[],
	inputs: MergeInputs,
	context: MergeContext,
): { base: ModelTensor; b: RangeArray; models: ModelTensor[]; where: string; rows: NonNullable<MergeContext["rows"]> } {
	const operands = taskArithmeticOperands(member.name, parameters, inputs, context);
	const rows = context.rows;
	if ("done" in operands || !rows) {
		throw new Error(`${member.name} on ${context.tensorName}: a block of rows that has no model besides the base`);
	}
	const { base, models, where } = operands;
	return { base, b: base.bf16 ?? base.data, models, where, rows };
}

/** A block of rows' part of the rank sums (see rankSumsLayout), added to those of the blocks before it. */
function addRankSums(
	member: FamilyMember,
	parameters: readonly ParameterDef[],
	inputs: MergeInputs,
	context: MergeContext,
	running: Float64Array | undefined,
): Float64Array {
	const { b, models, where, rows } = blockOperands(member, parameters, inputs, context);
	let sums = running;
	if (!sums) {
		const blocks = Math.ceil(rows.total / b.length);
		const slots = 1 + models.length * TOP_SUMS + Math.ceil((blocks * models.length * TOP_BUCKETS) / 2);
		sums = new Float64Array(new SharedArrayBuffer(8 * slots));
		sums[0] = b.length;
	}
	const layout = rankSumsLayout(sums, models.length);
	const block = rows.offset / layout.blockElements;
	models.forEach((tensor, i) => {
		// A model kept whole has no cut (keepAllCut).
		if (readNumber(tensor.params, DENSITY, `${where}, model ${tensor.model}`) >= 1) {
			return;
		}
		const counts = taskVectorSource(tensor.bf16 ?? tensor.data, b, context).histogram(-1);
		const top = layout.top(i);
		for (let bucket = 0; bucket < TOP_SUMS; bucket++) {
			top[bucket] = (top[bucket] as number) + (counts[bucket] as number);
		}
		layout.blockCounts(block, i).set(counts.subarray(0, TOP_BUCKETS));
	});
	return sums;
}

/**
 * The sums of DARE's and DELLA's blocks of rows (see familyBlocksApply): each model's L1 norms before and after its
 * mask [before₀, after₀, before₁, …], added block by block in order as the whole tensor's are added, then each
 * model's mask over the whole tensor as bits, for the second pass. Shared memory, so that the worker threads read and
 * write it.
 */
function maskSumsLayout(sums: Float64Array, models: number, total: number): { words(model: number): Uint32Array } {
	const wordsPerModel = Math.ceil(total / 32);
	return {
		words: (model) =>
			new Uint32Array(sums.buffer, sums.byteOffset + 16 * models + 4 * wordsPerModel * model, wordsPerModel),
	};
}

function newMaskSums(models: number, total: number): Float64Array {
	const bytes = 16 * models + 4 * models * Math.ceil(total / 32);
	return new Float64Array(new SharedArrayBuffer(Math.ceil(bytes / 8) * 8));
}

/** A block of rows' part of DARE's or DELLA's sums (see maskSumsLayout), added to those of the blocks before it. */
function addMaskSums(
	member: FamilyMember,
	parameters: readonly ParameterDef[],
	inputs: MergeInputs,
	context: MergeContext,
	running: Float64Array | undefined,
): Float64Array {
	const { base, b, models, where, rows } = blockOperands(member, parameters, inputs, context);
	const sums = running ?? newMaskSums(models.length, rows.total);
	const layout = maskSumsLayout(sums, models.length, rows.total);
	models.forEach((tensor, i) => {
		const at = `${where}, model ${tensor.model}`;
		const density = readNumber(tensor.params, DENSITY, at);
		const x = tensor.bf16 ?? tensor.data;
		const mask = { words: layout.words(i).subarray(rows.offset / 32), offset: rows.offset };
		const uniform = context.uniform(tensor.model);
		let norms: Float64Array | undefined;
		if (member.sparsification === "random") {
			const threshold = dareThreshold(density);
			if (dareKeepsAll(threshold)) {
				return;
			}
			const [k0, k1] = uniform.keys;
			norms = dareNorms(x, b, [threshold, k0, k1], mask.words, mask.offset, context);
		} else {
			if (density >= 1) {
				return;
			}
			const epsilon = readNumber(tensor.params, EPSILON, at);
			norms = dellaMaskNorms(x, b, base.shape, { density, epsilon, where: at }, uniform, mask, context);
		}
		if (!norms) {
			throw new Error(`${at}: a block of rows whose masks cannot be kept as bits`);
		}
		// Per DARE block or DELLA lane, on to the blocks' before.
		sums.set(addPartNorms(norms, [sums[2 * i] as number, sums[2 * i + 1] as number]), 2 * i);
	});
	return sums;
}

function prunesAtRandom(density: ParameterValue | undefined): boolean {
	return typeof density === "number" && density > 0 && density < 1;
}

function mergeFamily(
	member: FamilyMember,
	parameters: readonly ParameterDef[],
	inputs: MergeInputs,
	context: MergeContext,
): MergeResult {
	const operands = taskArithmeticOperands(member.name, parameters, inputs, context);
	if ("done" in operands) {
		return operands.done;
	}
	const { where, base, models, normalize, rescale, lambda, round, dtype } = operands;
	// With `dtype` the kernels round whole arrays in one pass each (roundArray), exactly as `round` does value by value.
	const scratch = context.alloc ?? HEAP_SCRATCH;
	const pruning =
		member.sparsification === undefined ||
		member.sparsification === "random" ||
		member.sparsification === "della_magprune" ||
		((member.sparsification === "magnitude" || member.sparsification === "magnitude_outliers") && !rescale);
	if (pruning && dtype === "BF16" && round) {
		const fused = familyInOnePass(member, models, base, { normalize, rescale, lambda, round, where }, context);
		if (fused) {
			return resultOf(fused, [...base.shape], context);
		}
	}
	if (context.rows && member.sparsification !== undefined) {
		// familyBlocksApply cuts only tensors that familyInOnePass merges: elsewhere a block would prune on its own.
		throw new Error(`${where}: a block of rows that the one-pass kernels did not merge`);
	}
	const b = base.data;
	const n = b.length;
	const weights: number[] = [];
	// Each model's pruned task vector δᵢ = sparsify(Xᵢ − B), in float32 like mergekit's tensors.
	const deltas = models.map((tensor) => {
		const at = `${where}, model ${tensor.model}`;
		const weight = readNumber(tensor.params, WEIGHT, at);
		weights.push(round ? round(weight) : weight);
		const delta = scratch.f32Uninitialised(n);
		const x = dtype === "BF16" && tensor.bf16 ? tensor.bf16 : tensor.data;
		runRange(context, "task-vector", { arrays: [x, b, delta], numbers: [], dtype }, n);
		sparsify(member.sparsification, delta, tensor.params, base.shape, rescale, context, tensor.model, at);
		return delta;
	});
	const divisor = member.consensus ? 1 : weightDivisor(weights, round);
	if (!(member.consensus && deltas.length <= 3 && (dtype === undefined || dtype === "BF16"))) {
		const out = scratch.f32Uninitialised(n);
		const counts = combineInPasses(
			member.consensus,
			deltas,
			weights,
			out,
			b,
			[+normalize, divisor, lambda],
			dtype,
			context,
		);
		recordCounts(context, n, models, counts, member.consensus);
		return { data: out, shape: [...base.shape] };
	}
	// task-combine's SIMD kernel writes a bf16 merge's result as the tensor is stored.
	const out =
		dtype === "BF16" && weights.every((w) => Math.fround(w) === w)
			? resultTarget(n, context)
			: scratch.f32Uninitialised(n);
	const args = { arrays: [out, b, ...deltas], numbers: [+normalize, lambda, ...weights], dtype };
	const counts = runRange(context, "task-combine", args, n, 2 * deltas.length);
	recordCounts(context, n, models, counts, member.consensus);
	return resultOf(out, [...base.shape], context);
}

/**
 * task_arithmetic, TIES, DARE, DELLA and the breadcrumbs methods in a bf16 merge with SIMD kernels and up to three
 * models, in one pass: the task vectors are made, pruned and combined a block at a time (see combineMadeTaskVectors),
 * so they are never stored. What the pruning needs of a whole vector comes first, from the task vector made block by
 * block (or lane by lane): the magnitude cut of TIES and Model Breadcrumbs (rank histograms and tie counts), DARE's L1
 * norms for the rescale, DELLA's mask and norms. Bit-identical to the passes of mergeFamily, with none of the task
 * vectors' memory. Undefined where it does not apply.
 */
function familyInOnePass(
	member: FamilyMember,
	models: readonly ModelTensor[],
	base: ModelTensor,
	options: { normalize: boolean; rescale: boolean; lambda: number; round: Rounder; where: string },
	context: MergeContext,
): Float32Array | Uint16Array | undefined {
	const at = (tensor: ModelTensor): string => `${options.where}, model ${tensor.model}`;
	const weights = models.map((tensor) => options.round(readNumber(tensor.params, WEIGHT, at(tensor))));
	const divisor = member.consensus ? 1 : weightDivisor(weights, options.round);
	const representable = [...weights, divisor].every((w) => Math.fround(w) === w);
	if (!simdEnabled() || models.length > 3 || !representable) {
		return undefined;
	}
	// The base as stored where it is bfloat16: it is never decoded to float32.
	const b = base.bf16 ?? base.data;
	const n = b.length;
	const scratch = context.alloc ?? HEAP_SCRATCH;
	const xs = models.map((tensor) => tensor.bf16 ?? tensor.data);
	const densities = models.map((tensor) => readNumber(tensor.params, DENSITY, at(tensor)));
	let pruning: number[] = [];
	let kind: (typeof PRUNE_KINDS)[number] = "none";
	let words: Uint32Array[] = [];
	if (member.sparsification === "magnitude" || member.sparsification === "magnitude_outliers") {
		// In a block of rows, the ranks are the whole tensor's.
		const total = context.rows?.total ?? n;
		const cuts = models.map((tensor, i) => {
			const density = densities[i] as number;
			if (density >= 1) {
				return keepAllCut(n);
			}
			const source = taskVectorSource(xs[i] as RangeArray, b, context);
			const cut = (from: number, to: number): BlockCut =>
				context.tensorSums && context.rows
					? blockRankCut(context.tensorSums, context.rows, models.length, i, source, [from, to], scratch)
					: blockCut(source, from, to, scratch);
			if (member.sparsification === "magnitude") {
				return cut(0, magnitudeKeepCount(total, density, at(tensor)));
			}
			const ranks = outlierRanks(total, density, readNumber(tensor.params, GAMMA, at(tensor)));
			if ("warning" in ranks) {
				context.warn(`${at(tensor)}: ${ranks.warning}`);
				return keepNoneCut(n);
			}
			return cut(ranks.lo, ranks.hi);
		});
		kind = "keep-ranks";
		pruning = cuts.flatMap((cut) => [cut.upperBits, cut.lowerBits, cut.upperCut, cut.lowerCut]);
	} else if (member.sparsification === "random") {
		const masks = models.map((tensor, i) => {
			// As sparsifyRandom draws it; −1 where the mask would keep every element.
			const drawn = dareThreshold(densities[i] as number);
			const threshold = dareKeepsAll(drawn) ? -1 : drawn;
			const [k0, k1] = context.uniform(tensor.model).keys;
			const rescale =
				options.rescale && threshold >= 0
					? context.tensorSums && context.rows
						? blockMask(context.tensorSums, context.rows, models.length, i)
						: dareRescale(xs[i] as RangeArray, b, [threshold, k0, k1], context)
					: undefined;
			return { numbers: [threshold, k0, k1, rescale?.ratio ?? 0], words: rescale?.words };
		});
		pruning = masks.flatMap(({ numbers }) => numbers);
		// With a rescale, the norms' pass kept each mask as bits: the combining pass reads them instead of drawing again.
		if (options.rescale) {
			kind = "dare-bits";
			// A model left whole has no mask; its placeholder comes from the scratch allocator too, so that every array
			// is one the worker threads can share.
			words = masks.map((mask) => mask.words ?? scratch.u32(1));
		} else {
			kind = "dare";
		}
	} else if (member.sparsification === "della_magprune") {
		// DELLA's mask is drawn lane by lane with the ranks, so it is always kept as bits for the combining pass.
		const masks: { numbers: number[]; words: Uint32Array }[] = [];
		for (const [i, tensor] of models.entries()) {
			const density = densities[i] as number;
			if (density >= 1) {
				masks.push({ numbers: [-1, 0, 0, 0], words: scratch.u32(1) });
				continue;
			}
			const epsilon = readNumber(tensor.params, EPSILON, at(tensor));
			const blocked =
				context.tensorSums && context.rows && blockMask(context.tensorSums, context.rows, models.length, i);
			const mask = blocked
				? { words: blocked.words, ratio: options.rescale ? blocked.ratio : 0 }
				: density > 0
					? dellaMaskBits(
							xs[i] as RangeArray,
							b,
							base.shape,
							{ density, epsilon, rescale: options.rescale, where: at(tensor) },
							context.uniform(tensor.model),
							context,
						)
					: undefined;
			if (!mask) {
				return undefined;
			}
			masks.push({ numbers: [0, 0, 0, mask.ratio], words: mask.words });
		}
		kind = "dare-bits";
		pruning = masks.flatMap(({ numbers }) => numbers);
		words = masks.map((mask) => mask.words);
	}
	// Written as bfloat16 bits where the tensor is stored so.
	const out = resultTarget(n, context);
	const counts = runRange(
		context,
		"combine-made-task-vectors",
		{
			arrays: [out, b, ...xs, ...words],
			numbers: [
				PRUNE_KINDS.indexOf(kind),
				+member.consensus,
				+options.normalize,
				options.lambda,
				divisor,
				...weights,
				...pruning,
			],
			dtype: "BF16",
		},
		n,
		2 * models.length,
	);
	recordCounts(context, n, models, counts, member.consensus);
	return out;
}

/**
 * Records for the merge report how many elements of each model's task vector were kept, from the combining kernels'
 * counts [kept δ₀…, then agreeing uᵢ… where the sign is elected].
 */
function recordCounts(
	context: MergeContext,
	elements: number,
	models: readonly ModelTensor[],
	counts: Float64Array,
	consensus: boolean,
): void {
	context.record?.({
		elements,
		models: models.map((tensor, i) => ({
			model: tensor.model,
			kept: counts[i] as number,
			...(consensus ? { agreed: counts[models.length + i] as number } : {}),
		})),
	});
}

/**
 * The ratio sparsifyRandom's rescale scales a masked task vector by (its L1 norms before and after the mask, from the
 * task vector made block by block), or 0 where rescaleL1ByParts would leave it as it is; and the mask, as bits.
 */
function dareRescale(
	x: RangeArray,
	b: RangeArray,
	mask: [number, number, number],
	context: MergeContext,
): { ratio: number; words: Uint32Array } {
	const words = (context.alloc ?? HEAP_SCRATCH).u32(Math.ceil(b.length / 32));
	return { ratio: rescaleRatio(addPartNorms(dareNorms(x, b, mask, words, 0, context))), words };
}

/** The cut of model `model`'s ranks [from, to) in a block of rows, from the whole tensor's sums (addRankSums). */
function blockRankCut(
	sums: Float64Array,
	rows: NonNullable<MergeContext["rows"]>,
	models: number,
	model: number,
	source: MagnitudeSource,
	[from, to]: [number, number],
	scratch: ScratchAllocator,
): BlockCut {
	const layout = rankSumsLayout(sums, models);
	const block = rows.offset / layout.blockElements;
	const tiesBefore = (bucket: number): number => {
		let count = 0;
		for (let earlier = 0; earlier < block; earlier++) {
			count += layout.blockCounts(earlier, model)[bucket] as number;
		}
		return count;
	};
	const tiesIn = (bucket: number): number => layout.blockCounts(block, model)[bucket] as number;
	return rowBlockCut({ length: rows.total, top: layout.top(model) }, { source, tiesBefore, tiesIn }, from, to, scratch);
}

/** The rescale's ratio and the mask of model `model` for a block of rows, from the whole tensor's sums (addMaskSums). */
function blockMask(
	sums: Float64Array,
	rows: NonNullable<MergeContext["rows"]>,
	models: number,
	model: number,
): { ratio: number; words: Uint32Array } {
	return {
		ratio: rescaleRatio([sums[2 * model] as number, sums[2 * model + 1] as number]),
		words: maskSumsLayout(sums, models, rows.total)
			.words(model)
			.subarray(rows.offset / 32),
	};
}

/**
 * DARE's mask of the task vector δ = round(x − b) made block by block (see dareMaskMade), element j drawing as
 * element `offset` + j of the tensor, into `words` as bits: returns its L1 norms before and after, per DARE_BLOCK.
 */
function dareNorms(
	x: RangeArray,
	b: RangeArray,
	mask: [number, number, number],
	words: Uint32Array,
	offset: number,
	context: MergeContext,
): Float64Array {
	const norms = (context.alloc ?? HEAP_SCRATCH).f64(2 * Math.ceil(b.length / DARE_BLOCK));
	runRange(
		context,
		"task-vector-dare-norms",
		{ arrays: [x, b, norms, words], numbers: [...mask, offset], align: DARE_BLOCK },
		b.length,
	);
	return norms;
}

/**
 * A task-arithmetic member's input checks and global parameters, for the CPU kernel and the ONNX graph: the base and
 * the other models, normalize, rescale and lambda, and the rounding of a bf16/fp16 merge's intermediates (`round`, and
 * its `dtype`; both undefined in a float32 merge); or the base's copy when no other model has the tensor. `def` finds
 * a parameter of the member by name.
 */
export function taskArithmeticOperands(
	name: string,
	parameters: readonly ParameterDef[],
	inputs: MergeInputs,
	context: Pick<MergeContext, "tensorName" | "params" | "computeDtype">,
): Operands<{
	where: string;
	base: ModelTensor;
	models: ModelTensor[];
	def: (name: string) => ParameterDef;
	normalize: boolean;
	rescale: boolean;
	lambda: number;
	round: Rounder | undefined;
	dtype: FloatDtype | undefined;
}> {
	const where = `${name} on ${context.tensorName}`;
	// The base's own task vector is zero: it is skipped, whatever weight or density it was given.
	const { base, models } = requireBase(
		inputs,
		where,
		`${name} subtracts the base from every model, so base_model must be a model that has this tensor`,
	);
	if (models.length === 0) {
		return { done: copyTensor(base) };
	}
	const def = (parameter: string): ParameterDef => parameters.find((p) => p.name === parameter) as ParameterDef;
	const normalize = readBoolean(context.params, def("normalize"), where);
	const rescale = readBoolean(context.params, def("rescale"), where);
	const lambda = readNumber(context.params, LAMBDA, where);
	// In a bf16/fp16 merge mergekit rounds the task vectors, the weights and every intermediate to that dtype.
	const round = dtypeRounder(context.computeDtype);
	const dtype = round ? context.computeDtype : undefined;
	return { where, base, models, def, normalize, rescale, lambda, round, dtype };
}

/** The divisor of a plain weighted sum: Σ wᵢ (see weightSum), or 1 when that sum is below 1e-8 in magnitude. */
export function weightDivisor(weights: readonly number[], round: Rounder | undefined): number {
	const total = weightSum(weights, round);
	return Math.abs(total) < 1e-8 ? 1 : total;
}

/**
 * The combination in three passes over whole arrays: the plain weighted sum, and TIES for more than three models or
 * float16 merges (task-combine does TIES in one pass otherwise). Each δᵢ
 * becomes uᵢ = round(wᵢ·δᵢ) in place, then the sign election (consensus) and the finish. Returns the same counts.
 */
function combineInPasses(
	consensus: boolean,
	deltas: readonly Float32Array[],
	weights: readonly number[],
	out: Float32Array,
	b: Float32Array,
	[normalize, divisor, lambda]: readonly [number, number, number],
	dtype: MergeContext["computeDtype"],
	context: MergeContext,
): Float64Array {
	const n = out.length;
	const counts = new Float64Array(2 * deltas.length);
	deltas.forEach((delta, i) => {
		const [nonzero] = runRange(
			context,
			"scale-and-count",
			{ arrays: [delta], numbers: [weights[i] as number], dtype },
			n,
			1,
		);
		counts[i] = nonzero as number;
	});
	let divisors = out;
	if (consensus) {
		// The weighted task vectors vote; the divisor is the per-element sum of the agreeing models' weights.
		const ones = weights.map(() => 1);
		divisors = (context.alloc ?? HEAP_SCRATCH).f32Uninitialised(n);
		const agreed = runRange(
			context,
			"sign-election",
			{ arrays: [out, divisors, ...deltas], numbers: [...ones, ...ones, ...weights] },
			n,
			deltas.length,
		);
		counts.set(agreed, deltas.length);
	}
	runRange(
		context,
		"task-finish",
		{ arrays: [out, b, divisors, ...deltas], numbers: [+consensus, normalize, divisor, lambda], dtype },
		n,
	);
	return counts;
}

function sparsify(
	method: Sparsification | undefined,
	delta: Float32Array,
	params: Readonly<Record<string, ParameterValue>>,
	shape: readonly number[],
	rescale: boolean,
	context: MergeContext,
	model: string,
	where: string,
): void {
	if (method === undefined) {
		return;
	}
	const density = readNumber(params, DENSITY, where);
	switch (method) {
		case "magnitude":
			sparsifyMagnitude(delta, density, rescale, where, context);
			return;
		case "random":
			sparsifyRandom(delta, density, rescale, context.uniform(model), context);
			return;
		case "magnitude_outliers": {
			const warning = sparsifyMagnitudeOutliers(delta, density, readNumber(params, GAMMA, where), rescale, context);
			if (warning) {
				context.warn(`${where}: ${warning}`);
			}
			return;
		}
		case "della_magprune":
			sparsifyDella(
				delta,
				shape,
				density,
				readNumber(params, EPSILON, where),
				rescale,
				context.uniform(model),
				where,
				context,
			);
			return;
	}
}

/** The eight task-arithmetic methods, in mergekit's registry order. */
export const TASK_ARITHMETIC_FAMILY: readonly MergeMethod[] = MEMBERS.map(makeMember);

/** How a family member treats the task vectors, for `mergesmith explain`. */
export interface TaskArithmeticTraits {
	/** TIES sign election. */
	consensus: boolean;
	/** How each task vector is pruned; undefined: not at all, so `density` does nothing. */
	sparsification: Sparsification | undefined;
}

/** The traits of a task-arithmetic method by its name; undefined for methods outside the family. */
export function taskArithmeticTraits(name: string): TaskArithmeticTraits | undefined {
	const member = MEMBERS.find((candidate) => candidate.name === name);
	return member ? { consensus: member.consensus, sparsification: member.sparsification } : undefined;
}
