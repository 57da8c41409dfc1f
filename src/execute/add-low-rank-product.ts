/**
 * target += scaling · B·A, in place, with float64 sums rounded once per element. B is [m, r] and A is [r, n], both
 * row-major; `transpose` adds (B·A)ᵀ to an [n, m] target instead (PEFT's fan-in-fan-out layers and embeddings).
 * Costs m·n·r multiply-adds and one row (or one rank-length column) of scratch, never the whole product.
 */
export function addLowRankProduct(
	target: Float32Array,
	b: Float32Array,
	a: Float32Array,
	m: number,
	r: number,
	n: number,
	scaling: number,
	transpose: boolean,
): void {
	if (!transpose) {
		const row = new Float64Array(n);
		for (let i = 0; i < m; i++) {
			row.fill(0);
			for (let k = 0; k < r; k++) {
				const bik = b[i * r + k] as number;
				if (bik === 0) {
					continue;
				}
				const offset = k * n;
				for (let j = 0; j < n; j++) {
					row[j] = (row[j] as number) + bik * (a[offset + j] as number);
				}
			}
			const out = i * n;
			for (let j = 0; j < n; j++) {
				target[out + j] = (target[out + j] as number) + scaling * (row[j] as number);
			}
		}
		return;
	}
	// Target row j is column j of B·A: gather A's column j once, then one dot product per row of B.
	const column = new Float64Array(r);
	for (let j = 0; j < n; j++) {
		for (let k = 0; k < r; k++) {
			column[k] = a[k * n + j] as number;
		}
		const out = j * m;
		for (let i = 0; i < m; i++) {
			let sum = 0;
			const offset = i * r;
			for (let k = 0; k < r; k++) {
				sum += (b[offset + k] as number) * (column[k] as number);
			}
			target[out + i] = (target[out + i] as number) + scaling * sum;
		}
	}
}
