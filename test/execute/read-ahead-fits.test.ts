import { describe, expect, it } from "vitest";
import { readAheadFits } from "../../src/execute/execute-plan.js";

/**
 * How far a merge reads ahead of the tensor it computes, in the sizes of a 1.1 B Llama merged from three bf16 models:
 * an embedding matrix's inputs are 393 MB, a layer's MLP matrix's 69 MB, its norm's 12 KB.
 */
const MB = 1024 * 1024;
const embedding = 393 * MB;
const mlp = 69 * MB;
const norm = 12 * 1024;

describe("reading ahead", () => {
	it("reads nothing beside the largest tensor, so that the next tensors take its memory when it is done", () => {
		for (const next of [norm, mlp, embedding]) {
			expect(readAheadFits({ current: embedding, ahead: 0, next, nextIsFirst: true, largest: embedding })).toBe(false);
		}
	});

	it("reads several layer tensors ahead, up to 96 MiB", () => {
		const fits = (ahead: number, next: number) =>
			readAheadFits({ current: mlp, ahead, next, nextIsFirst: ahead === 0, largest: embedding });
		expect(fits(0, mlp)).toBe(true);
		expect(fits(mlp, norm)).toBe(true);
		expect(fits(mlp, mlp)).toBe(false);
	});

	it("reads the next tensor alone where it and the current one come to no more than the largest", () => {
		// A 7 B model's MLP matrices (352 MB of inputs each) beside a 3 GB embedding matrix.
		const big = 352 * MB;
		expect(readAheadFits({ current: big, ahead: 0, next: big, nextIsFirst: true, largest: 3072 * MB })).toBe(true);
		expect(readAheadFits({ current: big, ahead: big, next: big, nextIsFirst: false, largest: 3072 * MB })).toBe(false);
		// Not an embedding matrix beside a layer's tensor: the two would hold more than the largest alone.
		expect(readAheadFits({ current: mlp, ahead: 0, next: embedding, nextIsFirst: true, largest: embedding })).toBe(
			false,
		);
	});
});
