/** Where a rank falls among the magnitudes of a tensor. */
export interface MagnitudeRank {
	/** The bit pattern of |x| (sign bit cleared) of the element at that rank. */
	bits: number;
	/** How many elements have a strictly larger magnitude. */
	greater: number;
}

/**
 * Finds the magnitude at descending rank `rank` (0 = the largest |x|) in linear time, without sorting:
 * the bit patterns of non-negative floats sort like unsigned integers, so a two-pass radix select
 * (high 16 bits, then low 16 bits within the chosen bucket) pins it down. NaN counts as the largest.
 */
export function magnitudeAtRank(values: Float32Array, rank: number): MagnitudeRank {
	const n = values.length;
	if (!(Number.isInteger(rank) && rank >= 0 && rank < n)) {
		throw new RangeError(`rank ${rank} is outside [0, ${n})`);
	}
	const bits = new Uint32Array(values.buffer, values.byteOffset, n);
	const histogram = new Uint32Array(65536);
	for (let i = 0; i < n; i++) {
		const bucket = ((bits[i] as number) & 0x7fffffff) >>> 16;
		histogram[bucket] = (histogram[bucket] as number) + 1;
	}
	let greater = 0;
	let high = 65535;
	for (; high > 0; high--) {
		const count = histogram[high] as number;
		if (greater + count > rank) {
			break;
		}
		greater += count;
	}
	histogram.fill(0);
	for (let i = 0; i < n; i++) {
		const b = (bits[i] as number) & 0x7fffffff;
		if (b >>> 16 === high) {
			histogram[b & 0xffff] = (histogram[b & 0xffff] as number) + 1;
		}
	}
	let low = 65535;
	for (; low > 0; low--) {
		const count = histogram[low] as number;
		if (greater + count > rank) {
			break;
		}
		greater += count;
	}
	return { bits: ((high << 16) | low) >>> 0, greater };
}
