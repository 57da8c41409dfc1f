/**
 * Each model's share of ‖Δ‖²: with a the least-squares coefficients of Δ ≈ Σ aᵢτᵢ (normal equations G a = c, G the
 * Gram matrix of the task vectors, c their dot products with Δ), the shares aᵢcᵢ/‖Δ‖² add up to the fraction of ‖Δ‖²
 * that the task vectors explain. A linear merge is explained exactly and aᵢ are its effective weights; pruning and
 * sign election leave a remainder. Returns aᵢcᵢ (not yet divided), for summing over tensors.
 */
export function leastSquaresShares(gram: Float64Array, dots: Float64Array, count: number): Float64Array {
	const out = new Float64Array(count);
	if (count === 0) {
		return out;
	}
	// A tiny ridge keeps identical or zero task vectors (a model equal to the base) from making G singular.
	let trace = 0;
	for (let i = 0; i < count; i++) {
		trace += gram[i * count + i] as number;
	}
	if (trace === 0) {
		return out;
	}
	const ridge = (trace / count) * 1e-12;
	const width = count + 1;
	const m = new Float64Array(count * width);
	for (let i = 0; i < count; i++) {
		for (let k = 0; k < count; k++) {
			m[i * width + k] = (gram[i * count + k] as number) + (i === k ? ridge : 0);
		}
		m[i * width + count] = dots[i] as number;
	}
	// Gaussian elimination with partial pivoting on the augmented matrix.
	for (let col = 0; col < count; col++) {
		let pivot = col;
		for (let row = col + 1; row < count; row++) {
			if (Math.abs(m[row * width + col] as number) > Math.abs(m[pivot * width + col] as number)) {
				pivot = row;
			}
		}
		if (pivot !== col) {
			for (let k = 0; k < width; k++) {
				const swap = m[col * width + k] as number;
				m[col * width + k] = m[pivot * width + k] as number;
				m[pivot * width + k] = swap;
			}
		}
		const diagonal = m[col * width + col] as number;
		if (diagonal === 0) {
			continue;
		}
		for (let row = col + 1; row < count; row++) {
			const factor = (m[row * width + col] as number) / diagonal;
			if (factor === 0) {
				continue;
			}
			for (let k = col; k < width; k++) {
				m[row * width + k] = (m[row * width + k] as number) - factor * (m[col * width + k] as number);
			}
		}
	}
	const a = new Float64Array(count);
	for (let row = count - 1; row >= 0; row--) {
		let sum = m[row * width + count] as number;
		for (let k = row + 1; k < count; k++) {
			sum -= (m[row * width + k] as number) * (a[k] as number);
		}
		const diagonal = m[row * width + row] as number;
		a[row] = diagonal === 0 ? 0 : sum / diagonal;
	}
	for (let i = 0; i < count; i++) {
		out[i] = (a[i] as number) * (dots[i] as number);
	}
	return out;
}
