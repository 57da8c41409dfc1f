import { magnitudeAtRank } from "./magnitude-at-rank.js";

/** Larger than any magnitude bit pattern (NaN included), so it never bounds anything. */
const ABOVE_ALL = 0x80000000;

/**
 * Zeroes, in place, every element outside descending magnitude ranks [from, to): rank 0 is the largest |x|,
 * and equal magnitudes are ranked by lowest index first, so exactly `to − from` elements keep their value.
 * Linear time: two radix selections find the boundary magnitudes, one pass applies them.
 */
export function keepMagnitudeRanks(values: Float32Array, from: number, to: number): void {
	const n = values.length;
	const lo = Math.max(0, from);
	const hi = Math.min(n, to);
	if (lo >= hi) {
		values.fill(0);
		return;
	}
	if (lo === 0 && hi === n) {
		return;
	}
	// Upper boundary: of the elements whose magnitude equals `upperBits`, the first `upperSkip` rank above `from`.
	let upperBits = ABOVE_ALL;
	let upperSkip = 0;
	if (lo > 0) {
		const upper = magnitudeAtRank(values, lo);
		upperBits = upper.bits;
		upperSkip = lo - upper.greater;
	}
	// Lower boundary: of the elements whose magnitude equals `lowerBits`, the first `lowerKeep` rank below `to`.
	let lowerBits = -1;
	let lowerKeep = 0;
	if (hi < n) {
		const lower = magnitudeAtRank(values, hi - 1);
		lowerBits = lower.bits;
		lowerKeep = hi - lower.greater;
	}
	const bits = new Uint32Array(values.buffer, values.byteOffset, n);
	let seenUpper = 0;
	let seenLower = 0;
	for (let i = 0; i < n; i++) {
		const raw = bits[i] as number;
		const b = raw & 0x7fffffff;
		if (b === upperBits || b === lowerBits) {
			// The boundary magnitudes: rare, so this branch is predictable; ties there go by index.
			let keep = true;
			if (b === upperBits) {
				keep = seenUpper >= upperSkip;
				seenUpper++;
			}
			if (b === lowerBits) {
				if (seenLower >= lowerKeep) {
					keep = false;
				}
				seenLower++;
			}
			if (!keep) {
				values[i] = 0;
			}
			continue;
		}
		// Strictly between the boundaries: kept. Computed on the bits without a branch, since whether a random element
		// survives is unpredictable. `upperBits − b` and `b − lowerBits` are positive exactly when b lies inside.
		const inside = ((b - upperBits) >>> 31) & ((lowerBits - b) >>> 31);
		bits[i] = raw & -inside;
	}
}
