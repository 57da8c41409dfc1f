import { describe, expect, it } from "vitest";
import { measureRange } from "../../src/insight/measure-range.js";
import { measureSumLayout } from "../../src/insight/measure-sum-layout.js";
import { RANGE_KERNELS } from "../../src/methods/kernels/range-kernels.js";
import { setSimdEnabled } from "../../src/methods/kernels/simd/simd-kernels.js";

/** Seeded bfloat16 bit patterns near 1 with random signs, some of them zero. */
function halves(n: number, seed: number): Uint16Array {
	let state = seed;
	return Uint16Array.from({ length: n }, () => {
		state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
		return (state & 7) === 0 ? 0 : (0x3f00 + ((state >>> 20) & 0xff)) ^ ((state & 8) << 12);
	});
}

function decoded(bits: Uint16Array): Float32Array {
	const out = new Float32Array(bits.length);
	RANGE_KERNELS["decode-bf16"]({ arrays: [bits, out], numbers: [] }, 0, bits.length, new Float64Array(0));
	return out;
}

describe("the merge report's measurement of bfloat16 models read as stored", () => {
	for (const count of [1, 2, 3, 4]) {
		it(`${count} model(s): the same sums as from their float32 values`, () => {
			const n = 5000;
			const b = decoded(halves(n, 1));
			const y = decoded(halves(n, 2));
			const models = Array.from({ length: count }, (_, i) => halves(n, 10 + i));
			const layout = measureSumLayout(count);
			const fromHalves = new Float64Array(layout.length);
			measureRange({ arrays: [b, y, ...models], numbers: [] }, 0, n, fromHalves);
			const fromFloats = new Float64Array(layout.length);
			measureRange({ arrays: [b, y, ...models.map(decoded)], numbers: [] }, 0, n, fromFloats);
			expect([...fromHalves]).toEqual([...fromFloats]);
			// Not all zeros: the models differ from the base, and conflicts are counted.
			expect(fromFloats[layout.normSq]).toBeGreaterThan(0);
		});
	}
});

describe("the merge report's measurement, SIMD against JavaScript", () => {
	for (const count of [1, 2, 3]) {
		for (const stored of [true, false]) {
			it(`${count} model(s) ${stored ? "as bfloat16 bits" : "as float32 values"}: the same counts, the same sums to 12 digits`, () => {
				const n = 3 * 4096 + 37;
				const baseBits = halves(n, 1);
				// The result equals the base at every third element, so that conflicts left at the base are counted.
				const y = decoded(halves(n, 2)).map((v, j) => (j % 3 === 0 ? (decoded(baseBits)[j] as number) : v));
				const models = Array.from({ length: count }, (_, i) => halves(n, 10 + i));
				const args = {
					arrays: [stored ? baseBits : decoded(baseBits), y, ...models.map((x) => (stored ? x : decoded(x)))],
					numbers: [],
				};
				const layout = measureSumLayout(count);
				const simd = new Float64Array(layout.length);
				measureRange(args, 5, n - 2, simd);
				setSimdEnabled(false);
				const js = new Float64Array(layout.length);
				measureRange(args, 5, n - 2, js);
				setSimdEnabled(true);
				const counts = [
					2,
					3,
					...[layout.wins, layout.contested].flatMap((at) => Array.from({ length: count }, (_, i) => at + i)),
				];
				for (let q = 0; q < layout.length; q++) {
					if (counts.includes(q)) {
						expect(simd[q], `count ${q}`).toBe(js[q]);
					} else {
						expect(Math.abs((simd[q] as number) - (js[q] as number)), `sum ${q}`).toBeLessThanOrEqual(
							1e-12 * Math.abs(js[q] as number),
						);
					}
				}
				expect(js[2]).toBeGreaterThan(count === 1 ? -1 : 100);
				expect(js[3]).toBeGreaterThan(count === 1 ? -1 : 10);
			});
		}
	}
});
