/**
 * TIES-style sign election, element by element. Each vector votes with `voteScale[i]·vectors[i][j]`; the elected
 * sign is + when the votes sum (in float32, as torch sums) to ≥ 0, else −. A vector agrees where its vote has the
 * elected sign (a zero vote never agrees). Writes Σ numeratorScale[i]·vectors[i][j] and Σ divisorScale[i] over the
 * agreeing vectors. Loops run model by model so each pass streams through one array. `agreed`, when given, receives
 * each vector's count of agreeing elements (for the merge report).
 */
export function signConsensus(
	vectors: readonly Float32Array[],
	voteScale: readonly number[],
	numeratorScale: readonly number[],
	divisorScale: readonly number[],
	numerator: Float32Array,
	divisor: Float32Array,
	agreed?: Float64Array,
): void {
	const n = numerator.length;
	numerator.fill(0);
	for (let i = 0; i < vectors.length; i++) {
		const x = vectors[i] as Float32Array;
		const scale = voteScale[i] as number;
		for (let j = 0; j < n; j++) {
			numerator[j] = (numerator[j] as number) + scale * (x[j] as number);
		}
	}
	const elected = new Int8Array(n);
	for (let j = 0; j < n; j++) {
		elected[j] = (numerator[j] as number) >= 0 ? 1 : -1;
	}
	numerator.fill(0);
	divisor.fill(0);
	for (let i = 0; i < vectors.length; i++) {
		const x = vectors[i] as Float32Array;
		const scale = voteScale[i] as number;
		const a = numeratorScale[i] as number;
		const d = divisorScale[i] as number;
		let count = 0;
		for (let j = 0; j < n; j++) {
			const value = x[j] as number;
			// 1 where the vote has the elected sign, else 0; arithmetic rather than a branch, which random signs mispredict.
			const agrees = +(scale * value * (elected[j] as number) > 0);
			numerator[j] = (numerator[j] as number) + agrees * a * value;
			divisor[j] = (divisor[j] as number) + agrees * d;
			count += agrees;
		}
		if (agreed) {
			agreed[i] = count;
		}
	}
}
