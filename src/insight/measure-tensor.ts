import { runRange } from "../methods/kernels/run-range.js";
import type { ModelTensor } from "../methods/merge-method.js";
import { leastSquaresShares } from "./least-squares-shares.js";
import { MEASURE_BLOCK, measuresInSimd } from "./measure-range.js";
import { measureSumLayout } from "./measure-sum-layout.js";
import { createMeasureSums, type MeasureSums } from "./measure-sums.js";
import type { MergedTensor } from "./tensor-observer.js";

/** Tensors of at least this many elements are measured on a sample of their blocks. */
export const SAMPLE_FROM = 1 << 20;
/** One block in this many is measured. */
export const SAMPLE_STRIDE = 8;

/**
 * Measures one merged tensor against the base in a single pass over the data the executor already holds: the base
 * B, each model's task vector τᵢ = Xᵢ − B (never stored: recomputed per element), and the final change
 * Δ = result − B. `modelIndex` places each model in the report's model list; the base, and models outside the list,
 * have no task vector. Without a base tensor nothing but the tensor count is recorded.
 */
export function measureTensor(
	merged: MergedTensor,
	baseKey: string | undefined,
	modelIndex: ReadonlyMap<string, number>,
): MeasureSums {
	const sums = createMeasureSums(modelIndex.size);
	sums.tensors = 1;
	const { inputs, result } = merged;
	const base = inputs.base ?? inputs.models.find((input) => input.model === baseKey);
	const n = (result.bf16 ?? result.data).length;
	if (!base || (base.bf16 ?? base.data).length !== n) {
		return sums;
	}
	const others: { tensor: ModelTensor; index: number }[] = [];
	for (const tensor of inputs.models) {
		const index = modelIndex.get(tensor.model);
		if (tensor.model !== base.model && index !== undefined && (tensor.bf16 ?? tensor.data).length === n) {
			others.push({ tensor, index });
		}
	}
	const count = others.length;
	const layout = measureSumLayout(count);
	const xs = others.map((other) => other.tensor.bf16 ?? other.tensor.data);
	// A result stored as bfloat16 bits is read so where the kernels can (else decoded once, here).
	const y = result.bf16 && measuresInSimd(xs) ? result.bf16 : result.data;
	// One pass, split across the executor's worker threads when it has them, as the merge's own kernels are.
	// Large tensors are measured on every SAMPLE_STRIDE-th block of elements, the same blocks whatever the split, and
	// the sums scaled up to the whole tensor: the report's figures move in the fourth digit at most, and the pass,
	// otherwise the largest cost of the cheap methods, shrinks eightfold.
	const stride = n >= SAMPLE_FROM ? SAMPLE_STRIDE : 1;
	const pass = runRange(
		merged,
		"measure-task-vectors",
		{
			arrays: [base.bf16 ?? base.data, y, ...xs],
			numbers: [stride],
		},
		n,
		layout.length,
	);
	if (stride > 1) {
		const blocks = Math.ceil(n / MEASURE_BLOCK);
		const measured =
			Math.ceil(blocks / stride) * MEASURE_BLOCK - ((blocks - 1) % stride === 0 ? blocks * MEASURE_BLOCK - n : 0);
		const scale = n / measured;
		for (let k = 0; k < pass.length; k++) {
			pass[k] = (pass[k] as number) * scale;
		}
	}
	const normSq = pass.subarray(layout.normSq, layout.normSq + count);
	const dotDelta = pass.subarray(layout.dotDelta, layout.dotDelta + count);
	const wins = pass.subarray(layout.wins, layout.wins + count);
	const contested = pass.subarray(layout.contested, layout.contested + count);
	const gram = new Float64Array(count * count);
	let pair = layout.gram;
	for (let i = 0; i < count; i++) {
		gram[i * count + i] = normSq[i] as number;
		for (let k = i + 1; k < count; k++, pair++) {
			gram[i * count + k] = pass[pair] as number;
			gram[k * count + i] = pass[pair] as number;
		}
	}
	sums.elements = n;
	sums.baseSq = pass[0] as number;
	sums.deltaSq = pass[1] as number;
	sums.conflicts = pass[2] as number;
	sums.conflictsAtBase = pass[3] as number;
	const size = sums.count;
	others.forEach(({ index }, i) => {
		sums.present[index] = n;
		sums.normSq[index] = normSq[i] as number;
		sums.dotDelta[index] = dotDelta[i] as number;
		sums.wins[index] = wins[i] as number;
		sums.contested[index] = contested[i] as number;
		others.forEach(({ index: other }, k) => {
			sums.gram[index * size + other] = gram[i * count + k] as number;
		});
	});
	explainSums(sums);
	for (const stats of merged.kernelStats) {
		for (const model of stats.models) {
			const index = modelIndex.get(model.model);
			if (index === undefined) {
				continue;
			}
			sums.kept[index] = (sums.kept[index] as number) + model.kept;
			sums.keptOf[index] = (sums.keptOf[index] as number) + stats.elements;
			if (model.agreed !== undefined) {
				sums.agreed[index] = (sums.agreed[index] as number) + model.agreed;
				sums.agreedOf[index] = (sums.agreedOf[index] as number) + model.kept;
			}
		}
	}
	return sums;
}

/**
 * Sets each model's share of ‖Δ‖² (`explained`) from the sums' Gram matrix and dot products, over the models that
 * have the tensor: once per tensor, from the sums of all its blocks where it was merged in blocks.
 */
export function explainSums(sums: MeasureSums): void {
	const present = [...sums.present.keys()].filter((index) => (sums.present[index] as number) > 0);
	const count = present.length;
	const gram = new Float64Array(count * count);
	present.forEach((index, i) => {
		present.forEach((other, k) => {
			gram[i * count + k] = sums.gram[index * sums.count + other] as number;
		});
	});
	const explained = leastSquaresShares(
		gram,
		Float64Array.from(present, (index) => sums.dotDelta[index] as number),
		count,
	);
	sums.explained.fill(0);
	present.forEach((index, i) => {
		sums.explained[index] = explained[i] as number;
	});
}
