/** 2^(53−8) + 1: Veltkamp's splitting constant that leaves bfloat16's 8 significant bits in the high part. */
export const BF16_SPLIT = 35184372088833;
/** The smallest normal float32 (and bfloat16) magnitude. */
export const MIN_NORMAL = 1.1754943508222875e-38;

const slowValue = new Float32Array(1);
const slowBits = new Uint32Array(slowValue.buffer);

/**
 * A float32 value rounded to bfloat16 (nearest, ties to even) and back, through its bit pattern: the route for
 * subnormals, infinities and NaN. Hot loops round normal values and zeros inline instead, with Veltkamp's splitting
 * in float64 (`h = BF16_SPLIT·v; fround(h − (h − v))`), which keeps everything in registers; a call per value
 * would box its result. Both agree on all 2^32 float32 inputs (test/methods/round-bf16.test.ts checks a sample).
 */
export function roundBf16Bits(value: number): number {
	slowValue[0] = value;
	const b = slowBits[0] as number;
	slowBits[0] = (b & 0x7fffffff) > 0x7f800000 ? 0x7fc00000 : (b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000;
	return slowValue[0] as number;
}

/** The same rounding for any float32 value, splitting where it applies (for code off the hot path and for tests). */
export function roundBf16(value: number): number {
	const m = Math.abs(value);
	if ((m >= MIN_NORMAL || m === 0) && m < Number.POSITIVE_INFINITY) {
		const h = BF16_SPLIT * value;
		return Math.fround(h - (h - value));
	}
	return roundBf16Bits(value);
}
