import { counterUniform } from "../../src/execute/counter-random.js";
import { RANGE_KERNELS, type RangeArgs, type RangeKernelName } from "../../src/methods/kernels/range-kernels.js";
import { type RangeParts, runInParts } from "../../src/methods/kernels/run-range.js";
import type { MergeContext, ModelTensor, ParameterValue } from "../../src/methods/merge-method.js";

type Params = Record<string, ParameterValue>;

/** Deterministic test data: values uniform in [lo, hi) from a counter-based stream. */
export function uniformTensor(n: number, seed: number, lo = -1, hi = 1): Float32Array {
	const u = counterUniform(seed, "fixture", "data");
	const out = new Float32Array(n);
	for (let i = 0; i < n; i++) {
		out[i] = lo + (hi - lo) * u(i);
	}
	return out;
}

export function tensor(model: string, data: Float32Array, shape: readonly number[], params: Params = {}): ModelTensor {
	return { model, data, shape, params };
}

export interface TestContext extends MergeContext {
	warnings: string[];
}

export function context(params: Params = {}, seed = 1, tensorName = "model.layers.0.mlp.up_proj.weight"): TestContext {
	const warnings: string[] = [];
	return {
		tensorName,
		isEmbed: false,
		params,
		uniform: (model) => counterUniform(seed, tensorName, model),
		warn: (message) => {
			warnings.push(message);
		},
		warnings,
	};
}

export function countNonzero(values: Float32Array): number {
	let count = 0;
	for (const value of values) {
		if (value !== 0) {
			count++;
		}
	}
	return count;
}

/**
 * Stands in for the worker pool: runs a kernel in `pieces` parts split where the pool would split them (multiples
 * of the kernel's alignment), each with its own sums, added afterwards.
 */
export function splitInto(
	pieces: number,
): (kernel: RangeKernelName, args: RangeArgs, length: number, sumCount: number, parts?: RangeParts) => Float64Array {
	return (kernel, args, length, sumCount, parts) => {
		if (parts) {
			// A caller that keeps each part's sums chooses the split.
			return runInParts({ kernel, args, length, sumCount, parts });
		}
		const align = args.align ?? (args.elementsPerIndex === undefined ? 64 : 1);
		const step = Math.ceil(length / pieces / align) * align;
		const sums = new Float64Array(sumCount);
		for (let start = 0; start < length; start += step) {
			const part = new Float64Array(sumCount);
			RANGE_KERNELS[kernel](args, start, Math.min(length, start + step), part);
			part.forEach((value, k) => {
				sums[k] = (sums[k] as number) + value;
			});
		}
		return sums;
	};
}
