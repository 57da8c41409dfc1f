/**
 * ⟨a, b⟩ over one lane: `length` elements from `start`, `stride` apart (the whole arrays by default).
 * Accumulated in float64.
 */
export function dot(a: Float32Array, b: Float32Array, start = 0, stride = 1, length = a.length): number {
	let sum = 0;
	for (let k = 0, i = start; k < length; k++, i += stride) {
		sum += (a[i] as number) * (b[i] as number);
	}
	return sum;
}
