/**
 * Moves a uniform random sample of `count` elements, drawn without replacement, to the front of `values`
 * (in place; a partial Fisher–Yates shuffle driven by a counter-based uniform stream) and returns that prefix.
 */
export function sampleWithoutReplacement(
	values: Float32Array,
	count: number,
	uniform: (index: number) => number,
): Float32Array {
	const n = values.length;
	const take = Math.min(count, n);
	for (let i = 0; i < take; i++) {
		const j = i + Math.min(n - i - 1, Math.floor(uniform(i) * (n - i)));
		const picked = values[j] as number;
		values[j] = values[i] as number;
		values[i] = picked;
	}
	return values.subarray(0, take);
}
