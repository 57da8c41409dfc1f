import { copyTensor } from "./copy-tensor.js";
import { keepMagnitudeRanks } from "./kernels/keep-magnitude-ranks.js";
import { HEAP_SCRATCH } from "./kernels/scratch.js";
import { signConsensus } from "./kernels/sign-consensus.js";
import type { MergeMethod, ParameterDef } from "./merge-method.js";
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
			const delta = scratch.f32(n);
			for (let j = 0; j < n; j++) {
				delta[j] = (tensor.data[j] as number) - (b[j] as number);
			}
			return delta;
		});
		if (selectTopk < 1) {
			selectByVariance(deltas, selectTopk, scratch.f32(n));
		}
		const energies = deltas.map((delta) => {
			let sum = 0;
			for (let j = 0; j < n; j++) {
				sum += (delta[j] as number) ** 2;
			}
			return sum / n;
		});
		const total = energies.reduce((sum, energy) => sum + energy, 0);
		const weights = Math.abs(total) < 1e-6 ? energies.map(() => 1 / count) : energies.map((energy) => energy / total);
		const numerator = scratch.f32(n);
		const divisor = scratch.f32(n);
		signConsensus(
			deltas,
			weights.map(() => 1),
			weights,
			weights,
			numerator,
			divisor,
			undefined,
			scratch,
		);
		const out = numerator;
		for (let j = 0; j < n; j++) {
			out[j] = (b[j] as number) + (numerator[j] as number) / Math.max(divisor[j] as number, 1e-6);
		}
		return { data: out, shape: [...base.shape] };
	},
};

/** Zeroes, in every task vector, the elements outside the floor(nonzero · topk) highest population variances. */
function selectByVariance(deltas: readonly Float32Array[], topk: number, variance: Float32Array): void {
	const count = deltas.length;
	const n = (deltas[0] as Float32Array).length;
	let nonzero = 0;
	for (let j = 0; j < n; j++) {
		let mean = 0;
		for (let i = 0; i < count; i++) {
			mean += (deltas[i] as Float32Array)[j] as number;
		}
		mean /= count;
		let sum = 0;
		for (let i = 0; i < count; i++) {
			const d = ((deltas[i] as Float32Array)[j] as number) - mean;
			sum += d * d;
		}
		variance[j] = sum / count;
		if (variance[j] !== 0) {
			nonzero++;
		}
	}
	// mergekit computes k from a float32 product (an int64 count times a Python float).
	const k = Math.floor(Math.fround(Math.fround(nonzero) * Math.fround(topk)));
	keepMagnitudeRanks(variance, 0, k);
	for (let j = 0; j < n; j++) {
		if (variance[j] === 0) {
			for (let i = 0; i < count; i++) {
				(deltas[i] as Float32Array)[j] = 0;
			}
		}
	}
}
