import type { GraphBuilder, Value } from "./graph-builder.js";

/**
 * The sign election as the sign-election and task-combine kernels make it: the float32 votes summed from +0, the
 * elected sign − unless the sum is ≥ 0 (NaN elects −, as the kernels' bit test does), and for each vote whether it
 * agrees: has the elected sign, and is not 0 (or NaN).
 */
export function agreeingVotes(g: GraphBuilder, votes: readonly Value[], zero: Value): Value[] {
	let total = g.add(zero, votes[0] as Value);
	for (const vote of votes.slice(1)) {
		total = g.add(total, vote);
	}
	const negative = g.not(g.greaterOrEqual(total, zero));
	return votes.map((vote) => g.or(g.and(g.greater(vote, zero), g.not(negative)), g.and(g.less(vote, zero), negative)));
}
