/** Σ|x|, accumulated in float64 so long tensors do not lose low-order mass. */
export function l1Norm(values: Float32Array): number {
	let sum = 0;
	for (let i = 0; i < values.length; i++) {
		sum += Math.abs(values[i] as number);
	}
	return sum;
}
