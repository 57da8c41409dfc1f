import type { MergeContext } from "../merge-method.js";
import { keepMagnitudeRanks } from "./keep-magnitude-ranks.js";
import { l1Norm } from "./l1-norm.js";
import { rescaleL1 } from "./rescale-l1.js";

/**
 * Model Breadcrumbs pruning, in place: drops the floor(gamma·numel) largest |δ| (outliers) and then the smallest,
 * so that floor(density·numel) elements remain (mergekit's ascending ranks [n_bot, numel − n_top)).
 * Returns a warning when mergekit's quirk zeroes the whole task vector (n_top = 0 makes Python's `[n_bot:-0]`
 * slice empty); the quirk is reproduced so results match mergekit.
 */
export function sparsifyMagnitudeOutliers(
	delta: Float32Array,
	density: number,
	gamma: number,
	rescale: boolean,
	context: Pick<MergeContext, "parallel" | "alloc"> = {},
): string | undefined {
	if (density >= 1) {
		return undefined;
	}
	const ranks = outlierRanks(delta.length, density, gamma);
	if ("warning" in ranks) {
		delta.fill(0);
		return ranks.warning;
	}
	const before = rescale ? l1Norm(delta) : 0;
	keepMagnitudeRanks(delta, ranks.lo, ranks.hi, context);
	if (rescale) {
		rescaleL1(delta, before);
	}
	return undefined;
}

/**
 * The descending magnitude ranks [lo, hi) that Model Breadcrumbs keeps of n elements (density < 1): the
 * floor(gamma·n) largest cut as outliers, then the smallest, so that floor(density·n) remain; or, where no outlier is
 * cut, the warning that mergekit's quirk keeps nothing (the task vector is then zeroed).
 */
export function outlierRanks(
	n: number,
	density: number,
	gamma: number,
): { lo: number; hi: number } | { warning: string } {
	const keep = Math.floor(density * n);
	let nTop = Math.floor(gamma * n);
	let nBot = n - keep - nTop;
	if (nBot < 0) {
		nTop += nBot;
		nBot = 0;
	}
	if (nTop <= 0) {
		return {
			warning:
				`gamma ${gamma} × ${n} elements cuts no outlier (floor(gamma × numel) = 0), and mergekit then keeps nothing, ` +
				"so this model's task vector was zeroed (a mergekit quirk, reproduced); raise gamma to at least " +
				`${1 / n} or set density 1`,
		};
	}
	// Ascending ranks [nBot, n − nTop) are descending ranks [nTop, n − nBot).
	return { lo: nTop, hi: n - nBot };
}
