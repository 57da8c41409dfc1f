import { describe, expect, it } from "vitest";
import { evenStarts, shrinkingStarts } from "../../src/engine/run-chunks.js";

/** The chunks' sizes, checking that they cover [0, length) in order without gaps. */
function sizes(starts: readonly number[], length: number): number[] {
	expect(starts[0]).toBe(0);
	expect(starts.at(-1)).toBe(length);
	return starts.slice(1).map((end, chunk) => end - (starts[chunk] as number));
}

describe("chunk starts", () => {
	it("even chunks of a step, the last one short", () => {
		expect(evenStarts(10, 4)).toEqual([0, 4, 8, 10]);
		expect(evenStarts(8, 4)).toEqual([0, 4, 8]);
	});

	it("shrinking chunks: each a share of what is left, aligned, from the largest size down to the tail size", () => {
		const length = 1_000_003;
		const starts = shrinkingStarts(length, 1 / 4, { largest: 125_056, tail: 32_768 }, 64);
		const chunkSizes = sizes(starts, length);
		// The largest size until a share of what is left is smaller.
		expect(chunkSizes.slice(0, 4)).toEqual([125_056, 125_056, 125_056, 125_056]);
		expect(chunkSizes[4]).toBe(Math.ceil((length - 4 * 125_056) / 4 / 64) * 64);
		for (const start of starts.slice(0, -1)) {
			expect(start % 64).toBe(0);
		}
		// Never growing, never under the tail size but for the range's last chunk.
		chunkSizes.slice(1).forEach((size, i) => {
			expect(size).toBeLessThanOrEqual(chunkSizes[i] as number);
		});
		expect(Math.min(...chunkSizes.slice(0, -1))).toBe(32_768);
		// Two threads' worth of chunks in far fewer than even tail-sized ones would take.
		expect(chunkSizes.length).toBeLessThan(length / 32_768 / 2);
	});

	it("a range shorter than the tail size is one chunk", () => {
		expect(shrinkingStarts(1000, 1 / 4, { largest: 8192, tail: 4096 }, 64)).toEqual([0, 1000]);
	});
});
