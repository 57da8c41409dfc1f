/** The index of the smallest of `items` whose size is at least `bytes` (the first of equals), or −1 where none is. */
export function smallestFitting<T>(items: readonly T[], sizeOf: (item: T) => number, bytes: number): number {
	let best = -1;
	let bestSize = Number.POSITIVE_INFINITY;
	for (let i = 0; i < items.length; i++) {
		const size = sizeOf(items[i] as T);
		if (size >= bytes && size < bestSize) {
			best = i;
			bestSize = size;
		}
	}
	return best;
}
