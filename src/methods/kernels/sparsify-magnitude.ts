import type { MergeContext } from "../merge-method.js";
import { keepMagnitudeRanks } from "./keep-magnitude-ranks.js";
import { l1Norm } from "./l1-norm.js";
import { rescaleL1 } from "./rescale-l1.js";

/**
 * TIES pruning, in place: keeps the floor(density·numel) largest |δ| over the whole tensor (ties to the lowest
 * index) and zeroes the rest. `where` names the merge, tensor and model for the error message.
 */
export function sparsifyMagnitude(
	delta: Float32Array,
	density: number,
	rescale: boolean,
	where: string,
	context: Pick<MergeContext, "parallel" | "alloc"> = {},
): void {
	if (density >= 1) {
		return;
	}
	const k = magnitudeKeepCount(delta.length, density, where);
	const before = rescale ? l1Norm(delta) : 0;
	keepMagnitudeRanks(delta, 0, k, context);
	if (rescale) {
		rescaleL1(delta, before);
	}
}

/** How many of n elements TIES pruning keeps (density < 1): floor(density·n), which must not be 0. */
export function magnitudeKeepCount(n: number, density: number, where: string): number {
	const k = Math.floor(density * n);
	if (k <= 0) {
		throw new Error(
			`${where}: density ${density} keeps no element of ${n} (floor(density × numel) = 0); raise density to at least ${1 / n}`,
		);
	}
	return k;
}
