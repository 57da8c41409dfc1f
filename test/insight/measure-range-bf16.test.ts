import { describe, expect, it } from "vitest";
import { measureRange } from "../../src/insight/measure-range.js";
import { measureSumLayout } from "../../src/insight/measure-sum-layout.js";
import { RANGE_KERNELS } from "../../src/methods/kernels/range-kernels.js";

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
