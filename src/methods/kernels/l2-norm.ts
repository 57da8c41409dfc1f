/**
 * The Euclidean (Frobenius) norm over one lane: `length` elements from `start`, `stride` apart
 * (the whole array by default). Accumulated in float64.
 */
export function l2Norm(values: Float32Array | Float64Array, start = 0, stride = 1, length = values.length): number {
	let sum = 0;
	for (let k = 0, i = start; k < length; k++, i += stride) {
		const v = values[i] as number;
		sum += v * v;
	}
	return Math.sqrt(sum);
}
