/**
 * One round of the counter-based generator's mixing (src/execute/counter-random.ts), on int32 values: as an int32 it
 * stays unboxed, so the range kernels that draw per element (DARE, DELLA) can call it in their loops.
 */
export function mixRound(value: number): number {
	let x = value | 0;
	x ^= x >>> 16;
	x = Math.imul(x, 0x7feb352d);
	x ^= x >>> 15;
	x = Math.imul(x, 0x846ca68b);
	return x ^ (x >>> 16);
}
