import { describe, expect, it } from "vitest";
import { counterUniform } from "../../src/execute/counter-random.js";
import { atenLaneSum } from "../../src/methods/kernels/aten-lane-sum.js";
import { cropSubmatrix } from "../../src/methods/kernels/crop-submatrix.js";
import { dtypeRounder } from "../../src/methods/kernels/dtype-rounder.js";
import { blockCut, keepMagnitudeRanks, rankCut, valuesSource } from "../../src/methods/kernels/keep-magnitude-ranks.js";
import { laneLayout } from "../../src/methods/kernels/lane-layout.js";
import {
	BAND_FROM,
	magnitudeAtRankInBand,
	magnitudeAtRankOf,
	magnitudeHistogramOf,
} from "../../src/methods/kernels/magnitude-at-rank.js";
import { sampleWithoutReplacement } from "../../src/methods/kernels/sample-without-replacement.js";
import { HEAP_SCRATCH } from "../../src/methods/kernels/scratch.js";
import { setSimdEnabled } from "../../src/methods/kernels/simd/simd-kernels.js";
import { magnitudeSortScratch, sortByMagnitude } from "../../src/methods/kernels/sort-by-magnitude.js";
import { signConsensus } from "../helpers/sign-consensus.js";
import { splitInto, uniformTensor } from "./fixtures.js";

/** Descending (|x|, then lowest index) order: the ranking every magnitude kernel uses. */
function descendingOrder(values: Float32Array): number[] {
	const magnitude = (i: number): number => Math.abs(values[i] as number);
	return [...values.keys()].sort((a, b) => magnitude(b) - magnitude(a) || a - b);
}

/** Values with many exact ties, both signs, and some zeros. */
function tiedValues(n: number, seed: number): Float32Array {
	const u = counterUniform(seed, "ties", "data");
	const out = new Float32Array(n);
	for (let i = 0; i < n; i++) {
		const level = Math.floor(u(i) * 7);
		out[i] = (u(i + n) < 0.5 ? -1 : 1) * level * 0.25;
	}
	return out;
}

const magnitudeAtRank = (values: Float32Array, rank: number, context = {}) =>
	magnitudeAtRankOf(values.length, rank, magnitudeHistogramOf(values, context));

describe("magnitudeAtRankOf, over a tensor's magnitudes", () => {
	it("agrees with a full sort on random and tied data", () => {
		for (const values of [uniformTensor(5000, 3), tiedValues(5000, 4)]) {
			const order = descendingOrder(values);
			for (const rank of [0, 1, 17, 2499, 4998, 4999]) {
				const found = magnitudeAtRank(values, rank);
				const expected = Math.abs(values[order[rank] as number] as number);
				expect(new Float32Array(new Uint32Array([found.bits]).buffer)[0]).toBe(expected);
				expect(found.greater).toBe(values.filter((v) => Math.abs(v) > expected).length);
			}
		}
	});

	it("finds the same rank with its histograms counted in parts", () => {
		const values = tiedValues(300_000, 5);
		for (const rank of [0, 4999, 150_000, 299_999]) {
			expect(magnitudeAtRank(values, rank, { parallel: splitInto(3) })).toEqual(magnitudeAtRank(values, rank));
		}
	});

	it("rejects ranks outside the tensor", () => {
		expect(() => magnitudeAtRank(new Float32Array(3), 3)).toThrow(RangeError);
	});
});

describe("magnitudeAtRankInBand", () => {
	const n = BAND_FROM + 12_345;
	const ranks = [0, 1, 999, Math.floor(n / 2), n - 2, n - 1];
	/** The band's answers for `ranks`, with the SIMD and the JavaScript kernels, whole and in parts. */
	const banded = (values: Float32Array, rank: number) =>
		[true, false].flatMap((simd) => {
			setSimdEnabled(simd);
			try {
				return [{}, { parallel: splitInto(3) }].map((context) => magnitudeAtRankInBand(values, rank, context));
			} finally {
				setSimdEnabled(true);
			}
		});

	it("finds the radix select's answer in one pass on spread-out data", () => {
		const values = uniformTensor(n, 21);
		// Squares of small differences, as SCE's variances are.
		const squares = values.map((v) => v * v * 1e-6);
		for (const data of [values, squares]) {
			for (const rank of ranks) {
				const expected = magnitudeAtRank(data, rank);
				for (const found of banded(data, rank)) {
					expect(found).toEqual(expected);
				}
			}
		}
	});

	it("counts magnitudes equal to the band's edges instead of gathering them (seven magnitudes, ties everywhere)", () => {
		const values = tiedValues(n, 22);
		for (const rank of [...ranks, Math.floor(n / 7), Math.floor((3 * n) / 7)]) {
			const expected = magnitudeAtRank(values, rank);
			for (const found of banded(values, rank)) {
				expect(found).toEqual(expected);
			}
		}
	});

	it("ranks NaN above every number, as the radix select does", () => {
		const values = uniformTensor(n, 23);
		const u = counterUniform(23, "nan", "places");
		for (let i = 0; i < n; i++) {
			if (u(i) < 0.001) {
				values[i] = Number.NaN;
			}
		}
		values[5] = Number.NEGATIVE_INFINITY;
		for (const rank of [0, 1000, 1100, Math.floor(n / 2)]) {
			const expected = magnitudeAtRank(values, rank);
			for (const found of banded(values, rank)) {
				expect(found).toEqual(expected);
			}
		}
	});

	it("gives up where its sample misleads it, and the cut is the radix select's", () => {
		// Every sampled element (one every n / 4096) is large: the band sits far above the middle rank.
		const values = uniformTensor(4096 * 300, 24, 0, 1);
		for (let i = 0; i < values.length; i += 300) {
			values[i] = 100;
		}
		const rank = values.length / 2;
		expect(banded(values, rank)).toEqual([undefined, undefined, undefined, undefined]);
		const cut = rankCut(valuesSource(values, {}), 0, rank + 1, HEAP_SCRATCH);
		expect(cut.lowerBits).toBe(magnitudeAtRank(values, rank).bits);
	});

	it("leaves tensors smaller than a band is worth to the radix select", () => {
		expect(magnitudeAtRankInBand(uniformTensor(BAND_FROM - 1, 25), 10)).toBeUndefined();
	});
});

describe("keepMagnitudeRanks", () => {
	it("keeps exactly the ranked range, ties going to the lowest index", () => {
		const source = tiedValues(3001, 9);
		const order = descendingOrder(source);
		for (const [from, to] of [
			[0, 1000],
			[0, 1],
			[250, 2000],
			[1234, 3001],
			[0, 3001],
			[500, 500],
		] as const) {
			const values = source.slice();
			keepMagnitudeRanks(values, from, to);
			const kept = new Set(order.slice(from, to));
			for (let i = 0; i < values.length; i++) {
				expect(values[i]).toBe(kept.has(i) ? source[i] : 0);
			}
		}
	});

	it("keeps the same elements when its passes run in parts (ties counted per block across the split)", () => {
		// Seven magnitudes over 400k elements: every boundary has tens of thousands of ties spread over many blocks.
		const source = tiedValues(400_000, 11);
		for (const [from, to] of [
			[0, 123_457],
			[40_000, 350_001],
		] as const) {
			const whole = source.slice();
			keepMagnitudeRanks(whole, from, to);
			const inParts = source.slice();
			keepMagnitudeRanks(inParts, from, to, { parallel: splitInto(3) });
			expect(inParts).toEqual(whole);
			const kept = new Set(descendingOrder(source).slice(from, to));
			expect(inParts.every((v, i) => Object.is(v, kept.has(i) ? source[i] : v === 0 ? v : Number.NaN))).toBe(true);
		}
	});

	it("gives the same index cuts as block bounds, from a source that counts its ties whole", () => {
		const values = tiedValues(200_000, 5);
		for (const [from, to] of [
			[0, 70_001],
			[12_345, 150_000],
		] as const) {
			const source = valuesSource(values, { parallel: splitInto(3) });
			const counted = rankCut(source, from, to, HEAP_SCRATCH);
			expect(blockCut(source, from, to, HEAP_SCRATCH)).toEqual({
				upperBits: counted.upperBits,
				lowerBits: counted.lowerBits,
				upperCut: counted.upperCut,
				lowerCut: counted.lowerCut,
			});
		}
	});

	it("counts the histogram of the top bits once for both boundaries", () => {
		const values = tiedValues(3001, 9);
		const kernels: string[] = [];
		const counting = splitInto(2);
		keepMagnitudeRanks(values, 250, 2000, {
			parallel: (kernel, args, length, sumCount) => {
				kernels.push(kernel === "magnitude-histogram" ? `${kernel} ${args.numbers[0]}` : kernel);
				return counting(kernel, args, length, sumCount);
			},
		});
		expect(kernels.filter((kernel) => kernel === "magnitude-histogram -1")).toHaveLength(1);
		const kept = new Set(descendingOrder(tiedValues(3001, 9)).slice(250, 2000));
		expect(values.filter((_, i) => kept.has(i))).toHaveLength(1750);
		expect(values.every((v, i) => kept.has(i) || v === 0)).toBe(true);
	});
});

describe("laneLayout", () => {
	it("walks rows, columns and middle axes", () => {
		const rows = laneLayout([3, 4], -1);
		expect([rows.length, rows.stride, rows.count, rows.start(2)]).toEqual([4, 1, 3, 8]);
		const columns = laneLayout([3, 4], 0);
		expect([columns.length, columns.stride, columns.count, columns.start(3)]).toEqual([3, 4, 4, 3]);
		const middle = laneLayout([2, 3, 5], 1);
		expect([middle.length, middle.stride, middle.count, middle.start(6)]).toEqual([3, 5, 10, 16]);
		const scalar = laneLayout([], -1);
		expect([scalar.length, scalar.count]).toEqual([1, 1]);
	});
});

describe("signConsensus", () => {
	it("elects the sign of the weighted sum and sums the agreeing votes", () => {
		const a = new Float32Array([1, -1, 0, 2]);
		const b = new Float32Array([-3, -1, 0, -1]);
		const numerator = new Float32Array(4);
		const divisor = new Float32Array(4);
		signConsensus([a, b], [1, 0.5], [1, 0.5], [1, 0.5], numerator, divisor);
		// Σ votes: −0.5 (−), −1.5 (−), 0 (+, but zeros never agree), 1.5 (+).
		expect([...numerator]).toEqual([-1.5, -1.5, 0, 2]);
		expect([...divisor]).toEqual([0.5, 1.5, 0, 1]);
	});
});

describe("atenLaneSum", () => {
	it("sums short and long lanes, strided or not", () => {
		const values = new Float32Array(Array.from({ length: 43 }, (_, i) => i + 1));
		expect(atenLaneSum(values)).toBe((43 * 44) / 2);
		expect(atenLaneSum(values, 0, 1, 5)).toBe(15);
		expect(atenLaneSum(values, 1, 2, 10)).toBe(2 + 4 + 6 + 8 + 10 + 12 + 14 + 16 + 18 + 20);
	});
});

describe("cropSubmatrix", () => {
	it("takes the top-left block", () => {
		const data = new Float32Array([1, 2, 3, 4, 5, 6]);
		const cropped = cropSubmatrix(data, [3, 2], 2, 1);
		expect([...cropped.data]).toEqual([1, 3]);
		expect(cropped.shape).toEqual([2, 1]);
		expect(cropSubmatrix(data, [3, 2], 3, 2).data).toBe(data);
		expect(() => cropSubmatrix(data, [3, 2], 4, 2)).toThrow(RangeError);
	});
});

describe("sampleWithoutReplacement", () => {
	it("draws distinct elements, every one equally likely", () => {
		const n = 50;
		const hits = new Array<number>(n).fill(0);
		const trials = 2000;
		for (let t = 0; t < trials; t++) {
			const values = new Float32Array(Array.from({ length: n }, (_, i) => i));
			const sample = sampleWithoutReplacement(values, 10, counterUniform(t, "sample", "__sample__"));
			expect(new Set(sample).size).toBe(10);
			for (const v of sample) {
				hits[v] = (hits[v] as number) + 1;
			}
		}
		// Each element is picked with probability 10/50; 5σ of a binomial(2000, 0.2) is about 89.
		for (const count of hits) {
			expect(Math.abs(count - trials * 0.2)).toBeLessThan(5 * Math.sqrt(trials * 0.2 * 0.8));
		}
	});
});

describe("dtypeRounder", () => {
	it("rounds to bf16 and fp16, and leaves float32 alone", () => {
		expect(dtypeRounder("BF16")?.(0.8)).toBe(0.80078125);
		expect(dtypeRounder("F16")?.(0.1)).toBe(0.0999755859375);
		expect(dtypeRounder("F32")).toBeUndefined();
		expect(dtypeRounder(undefined)).toBeUndefined();
	});
});

describe("sortByMagnitude", () => {
	it("orders a strided lane by |x|, equal magnitudes by position", () => {
		const length = 777;
		const stride = 3;
		const source = tiedValues(length * stride, 12);
		source[4] = Number.NaN;
		source[7] = -0;
		const bits = new Uint32Array(source.buffer);
		const order = new Uint32Array(length);
		sortByMagnitude(bits, 1, stride, length, order, magnitudeSortScratch(length));
		const magnitude = (k: number): number => {
			const value = Math.abs(source[1 + k * stride] as number);
			return Number.isNaN(value) ? Number.POSITIVE_INFINITY : value;
		};
		const expected = Array.from({ length }, (_, k) => k).sort((a, b) => magnitude(a) - magnitude(b) || a - b);
		expect([...order]).toEqual(expected);
	});
});
