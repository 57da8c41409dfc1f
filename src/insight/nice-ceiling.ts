/** The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value`: a round top for a chart's axis. */
export function niceCeiling(value: number): number {
	if (!(value > 0) || !Number.isFinite(value)) {
		return 1;
	}
	const power = 10 ** Math.floor(Math.log10(value));
	for (const step of [1, 2, 2.5, 5, 10]) {
		if (step * power >= value * (1 - 1e-12)) {
			return step * power;
		}
	}
	return 10 * power;
}
