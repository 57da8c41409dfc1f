import type { Rounder } from "./kernels/dtype-rounder.js";

/**
 * Σ wᵢ: in a bf16/fp16 merge (`round` given) a float32 running sum, rounded, as PyTorch sums a tensor of that dtype;
 * in a float32 merge in float64.
 */
export function weightSum(weights: readonly number[], round: Rounder | undefined): number {
	return round
		? round(weights.reduce((sum, weight) => Math.fround(sum + weight), 0))
		: weights.reduce((sum, weight) => sum + weight, 0);
}
