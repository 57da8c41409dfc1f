import type { GraphBuilder, Value } from "./graph-builder.js";

/**
 * The graph form of keepMagnitudeRanks (src/methods/kernels/keep-magnitude-ranks.ts): true for the elements of
 * descending magnitude ranks [lo, hi), equal magnitudes ranked lowest index first, so that exactly hi − lo elements
 * are kept, the same ones. `magnitude` is |δ| as a 1-D float tensor; `lo` and `hi` are int64 tensors of shape [1],
 * undefined for lo = 0 and hi = n (no boundary on that side). NaN magnitudes, which the CPU kernel ranks above
 * everything, are not ranked here.
 */
export function keepMagnitudeRanks(
	g: GraphBuilder,
	magnitude: Value,
	lo: Value | undefined,
	hi: Value | undefined,
): Value | undefined {
	let keep: Value | undefined;
	if (hi) {
		// The magnitude at rank hi − 1, and how many of the elements equal to it still fit under hi.
		const lower = boundary(g, magnitude, hi);
		const room = g.sub(hi, lower.greater);
		keep = g.or(lower.above, g.and(lower.equal, g.less(lower.tieRank, room)));
	}
	if (lo) {
		// The magnitude at rank lo, and how many of the elements equal to it rank above lo.
		const upper = boundary(g, magnitude, g.add(lo, g.constant("int64", 1)));
		const skip = g.sub(lo, upper.greater);
		const below = g.or(g.less(magnitude, upper.value), g.and(upper.equal, g.greaterOrEqual(upper.tieRank, skip)));
		keep = keep ? g.and(keep, below) : below;
	}
	return keep;
}

/** The magnitude at descending rank `count − 1`, the elements above and equal to it, and each tie's rank among them. */
function boundary(
	g: GraphBuilder,
	magnitude: Value,
	count: Value,
): { value: Value; above: Value; equal: Value; greater: Value; tieRank: Value } {
	// The smallest of the `count` largest magnitudes: exact, whatever TopK's order, so TopK need not sort them.
	const value = g.reduceMin(g.topK(magnitude, count, 0, true, false).values);
	const above = g.greater(magnitude, value);
	const equal = g.equal(magnitude, value);
	return {
		value,
		above,
		equal,
		greater: g.count(above),
		tieRank: g.cumSum(g.cast(equal, "int64"), 0, true),
	};
}
