/**
 * A counter-based random stream: the number drawn for element i depends only on (seed, tensor, model, i),
 * never on how the work is chunked, which thread runs it or in which order elements are visited.
 * That is what makes randomised merges (DARE, DELLA) bit-identical for a repeated seed.
 */

import { mixRound } from "../methods/kernels/mix-round.js";

function mix32(value: number): number {
	return mixRound(value) >>> 0;
}

/** FNV-1a over UTF-16 code units, finished with a mixer: turns the stream's key into two 32-bit words. */
function hashKey(text: string, salt: number): number {
	let hash = (0x811c9dc5 ^ salt) >>> 0;
	for (let i = 0; i < text.length; i++) {
		hash ^= text.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193);
	}
	return mix32(hash);
}

const TWO_POW_32 = 4294967296;

/**
 * The 32-bit draw for element `index` of the stream keyed (k0, k1): three rounds of mixing. Range kernels that
 * draw on worker threads repeat these lines inline, from the stream's `keys`.
 */
export function counterDraw(k0: number, k1: number, index: number): number {
	const low = index >>> 0;
	const high = Math.floor(index / TWO_POW_32);
	const a = mix32(low ^ k0);
	const b = mix32((a + k1 + Math.imul(high, 0x27d4eb2f)) >>> 0);
	return mix32(b ^ low);
}

/**
 * The 16-bit draw for element `index` (below 2³²) of the stream keyed (k0, k1), for Bernoulli masks: elements 2p and
 * 2p + 1 take the low and the high half of one 32-bit word for pair p, two rounds of mixing. A keep probability needs
 * no finer steps than 2⁻¹⁶, and one word for two elements halves the work of DARE's mask, the costliest part of it.
 * The range kernels repeat these lines inline, from the stream's `keys`.
 */
export function counterHalfDraw(k0: number, k1: number, index: number): number {
	const word = mixRound((mixRound((index >>> 1) ^ k0) + k1) | 0);
	return index & 1 ? word >>> 16 : word & 0xffff;
}

/** A uniform [0, 1) stream: `stream(i)` is draw i over 2^32; `keys` let kernels on other threads draw the same. */
export interface UniformStream {
	(index: number): number;
	readonly keys: readonly [number, number];
}

export function counterUniform(seed: number, tensorName: string, model: string): UniformStream {
	const key = `${seed}\u0000${tensorName}\u0000${model}`;
	const k0 = hashKey(key, 0x9e3779b9);
	const k1 = hashKey(key, 0x85ebca6b);
	const stream = (index: number): number => counterDraw(k0, k1, index) / TWO_POW_32;
	return Object.assign(stream, { keys: [k0, k1] as const });
}

/** A seed for merges whose recipe and command line give none; it is recorded in the card. */
export function chooseSeed(): number {
	return Math.floor(Math.random() * 2 ** 31);
}
