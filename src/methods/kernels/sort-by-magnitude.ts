/** Reusable buffers for sorting lanes of up to `length` elements. */
export interface MagnitudeSortScratch {
	keys: Uint32Array;
	keysSwap: Uint32Array;
	orderSwap: Uint32Array;
	counts: Uint32Array;
}

export function magnitudeSortScratch(length: number): MagnitudeSortScratch {
	return {
		keys: new Uint32Array(length),
		keysSwap: new Uint32Array(length),
		orderSwap: new Uint32Array(length),
		counts: new Uint32Array(256),
	};
}

/**
 * Writes into `order` the positions 0..length−1 of one lane (elements `start + k·stride` of the float32 bit pattern
 * array `bits`) sorted by ascending |x|, equal magnitudes by position. A stable LSD radix sort over the magnitude bits,
 * byte by byte, skipping bytes every element shares: linear time, no comparisons.
 */
export function sortByMagnitude(
	bits: Uint32Array,
	start: number,
	stride: number,
	length: number,
	order: Uint32Array,
	scratch: MagnitudeSortScratch,
): void {
	let keys = scratch.keys;
	let keysOut = scratch.keysSwap;
	let positions = order;
	let positionsOut = scratch.orderSwap;
	const counts = scratch.counts;
	// Bits every key shares: where any and all agree. A byte all keys share needs no pass (the low two bytes of
	// values that came from bfloat16 are zero everywhere).
	let any = 0;
	let all = 0x7fffffff;
	for (let k = 0; k < length; k++) {
		const key = (bits[start + k * stride] as number) & 0x7fffffff;
		keys[k] = key;
		any |= key;
		all &= key;
		positions[k] = k;
	}
	for (let shift = 0; shift < 32; shift += 8) {
		if ((((any ^ all) >>> shift) & 0xff) === 0) {
			continue;
		}
		counts.fill(0);
		for (let k = 0; k < length; k++) {
			const digit = ((keys[k] as number) >>> shift) & 0xff;
			counts[digit] = (counts[digit] as number) + 1;
		}
		let total = 0;
		for (let digit = 0; digit < 256; digit++) {
			const count = counts[digit] as number;
			counts[digit] = total;
			total += count;
		}
		for (let k = 0; k < length; k++) {
			const key = keys[k] as number;
			const digit = (key >>> shift) & 0xff;
			const at = counts[digit] as number;
			counts[digit] = at + 1;
			keysOut[at] = key;
			positionsOut[at] = positions[k] as number;
		}
		[keys, keysOut] = [keysOut, keys];
		[positions, positionsOut] = [positionsOut, positions];
	}
	if (positions !== order) {
		order.set(positions.subarray(0, length));
	}
}
