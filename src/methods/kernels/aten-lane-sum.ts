/** Lanes of ATen's float32 vectors (Vectorized<float> under AVX2). */
const WIDTH = 8;

/**
 * Σ of one lane in float32, rounded step by step in the order ATen's `vec::reduce_all` adds (what torch's CPU softmax
 * uses for its normaliser): eight lane-wise accumulators over whole chunks, a partial tail folded into the first
 * lanes, then a butterfly (lane i with i^4, i^2, i^1). Below eight values it is a plain left-to-right sum.
 * Where a result hinges on float32 rounding (arcee_fusion's tiny KL divergences) this order is what matches mergekit.
 */
export function atenLaneSum(values: Float32Array, start = 0, stride = 1, length = values.length): number {
	const f = Math.fround;
	if (length < WIDTH) {
		let sum = length > 0 ? (values[start] as number) : 0;
		for (let k = 1; k < length; k++) {
			sum = f(sum + (values[start + k * stride] as number));
		}
		return sum;
	}
	const acc = new Float64Array(WIDTH);
	for (let i = 0; i < WIDTH; i++) {
		acc[i] = values[start + i * stride] as number;
	}
	let k = WIDTH;
	const whole = length - (length % WIDTH);
	for (; k < whole; k += WIDTH) {
		for (let i = 0; i < WIDTH; i++) {
			acc[i] = f((acc[i] as number) + (values[start + (k + i) * stride] as number));
		}
	}
	for (let i = 0; k + i < length; i++) {
		acc[i] = f((acc[i] as number) + (values[start + (k + i) * stride] as number));
	}
	const next = new Float64Array(WIDTH);
	for (const pair of [4, 2, 1]) {
		for (let i = 0; i < WIDTH; i++) {
			next[i] = f((acc[i] as number) + (acc[i ^ pair] as number));
		}
		acc.set(next);
	}
	return acc[0] as number;
}
