import { describe, expect, it } from "vitest";
import { counterHalfDraw, counterUniform } from "../../src/execute/counter-random.js";
import { sparsifyDella } from "../../src/methods/kernels/sparsify-della.js";
import { sparsifyMagnitude } from "../../src/methods/kernels/sparsify-magnitude.js";
import { sparsifyMagnitudeOutliers } from "../../src/methods/kernels/sparsify-magnitude-outliers.js";
import { sparsifyRandom } from "../../src/methods/kernels/sparsify-random.js";
import { findMergeMethod } from "../../src/methods/registry.js";
import { context, countNonzero, splitInto, tensor, uniformTensor } from "./fixtures.js";

function method(name: string) {
	const found = findMergeMethod(name);
	if (!found) {
		throw new Error(`no method ${name}`);
	}
	return found;
}

/** Nonzero task-vector values: magnitudes uniform in [0.5, 1.5), random signs. */
function taskVector(n: number, seed: number): Float32Array {
	const magnitudes = uniformTensor(n, seed, 0.5, 1.5);
	const signs = uniformTensor(n, seed + 1000);
	return magnitudes.map((m, i) => ((signs[i] as number) < 0 ? -m : m));
}

describe("DARE (random) pruning", () => {
	const n = 100_000;
	const density = 0.3;

	it("keeps a binomial share of the elements", () => {
		const delta = taskVector(n, 1);
		sparsifyRandom(delta, density, false, counterUniform(5, "t", "m0"));
		// Kept count ~ Binomial(n, p): within 5σ of n·p.
		const sigma = Math.sqrt(n * density * (1 - density));
		expect(Math.abs(countNonzero(delta) - n * density)).toBeLessThanOrEqual(5 * sigma);
	});

	it("keeps exactly the elements whose draw from the seeded stream is below the density", () => {
		const delta = taskVector(n, 3);
		const original = delta.slice();
		const uniform = counterUniform(9, "t", "m1");
		sparsifyRandom(delta, density, false, uniform);
		let wrong = 0;
		for (let i = 0; i < n; i++) {
			const draw = counterHalfDraw(...uniform.keys, i) / 2 ** 16;
			const expected = draw < density ? original[i] : 0;
			wrong += +!Object.is(delta[i], expected);
		}
		expect(wrong).toBe(0);
	});

	it("draws neighbouring elements, and two models' masks of one tensor, independently", () => {
		const pairs = n / 2;
		const a = taskVector(n, 4);
		const b = a.slice();
		sparsifyRandom(a, density, false, counterUniform(9, "t", "m0"));
		sparsifyRandom(b, density, false, counterUniform(9, "t", "m1"));
		let neighbours = 0;
		for (let i = 0; i < n; i += 2) {
			neighbours += +(a[i] !== 0 && a[i + 1] !== 0);
		}
		let models = 0;
		for (let i = 0; i < n; i++) {
			models += +(a[i] !== 0 && b[i] !== 0);
		}
		// Both kept ~ Binomial(count, p²) where the draws are independent: within 5σ of count·p².
		const both = density * density;
		expect(Math.abs(neighbours - pairs * both)).toBeLessThanOrEqual(5 * Math.sqrt(pairs * both * (1 - both)));
		expect(Math.abs(models - n * both)).toBeLessThanOrEqual(5 * Math.sqrt(n * both * (1 - both)));
	});

	it("rescales the kept task vector so it is unbiased, through dare_linear", () => {
		const base = new Float32Array(n);
		const delta = taskVector(n, 2);
		const merged = method("dare_linear").merge(
			{ models: [tensor("m0", delta, [n], { weight: 1, density })], base: tensor("base", base, [n]) },
			context({ normalize: false, rescale: true, lambda: 1, int8_mask: false }, 11),
		);
		if (!merged) {
			throw new Error("no result");
		}
		// R = mean over elements of result/δ = (K/n)·(‖δ‖₁/‖mask⊙δ‖₁), with K kept. Both factors estimate p, so by the
		// delta method E[R] = 1 + O(1/n) and Var R ≈ (1−p)/p · (Σa²/(Σa)² − 1/n) for magnitudes a (their covariance
		// cancels the 1/n part). Allow 5σ plus the O(1/n) bias.
		let ratio = 0;
		let l1 = 0;
		let l2 = 0;
		for (let i = 0; i < n; i++) {
			const a = Math.abs(delta[i] as number);
			ratio += (merged.data[i] as number) / (delta[i] as number);
			l1 += a;
			l2 += a * a;
		}
		ratio /= n;
		const sigma = Math.sqrt(((1 - density) / density) * (l2 / (l1 * l1) - 1 / n));
		expect(Math.abs(ratio - 1)).toBeLessThanOrEqual(5 * sigma + 10 / n);
		// The L1 norm is restored exactly (up to float32 rounding).
		let restored = 0;
		for (const value of merged.data) {
			restored += Math.abs(value);
		}
		expect(Math.abs(restored / l1 - 1)).toBeLessThan(1e-5);
	});

	it("gives bit-identical output for one seed and different output for another", () => {
		const size = 20_000;
		const base = uniformTensor(size, 20);
		const inputs = {
			models: [
				tensor("m0", uniformTensor(size, 21), [100, 200], { weight: 0.6, density: 0.4 }),
				tensor("m1", uniformTensor(size, 22), [100, 200], { weight: 0.4, density: 0.4 }),
			],
			base: tensor("base", base, [100, 200]),
		};
		const run = (seed: number) => {
			const result = method("dare_ties").merge(
				inputs,
				context({ normalize: false, rescale: true, lambda: 1, int8_mask: false }, seed),
			);
			if (!result) {
				throw new Error("no result");
			}
			return new Uint32Array(result.data.buffer);
		};
		const first = run(7);
		expect(run(7)).toEqual(first);
		const other = run(8);
		let differing = 0;
		for (let i = 0; i < size; i++) {
			if (other[i] !== first[i]) {
				differing++;
			}
		}
		expect(differing).toBeGreaterThan(size / 4);
	});

	it("is reported as randomised only when some density is below 1", () => {
		const dare = method("dare_ties");
		expect(dare.isRandomized({ global: {}, perModel: [{ density: 1 }, { density: 0.5 }] })).toBe(true);
		expect(dare.isRandomized({ global: {}, perModel: [{ density: 1 }, {}] })).toBe(false);
		expect(method("ties").isRandomized({ global: {}, perModel: [{ density: 0.5 }] })).toBe(false);
		expect(method("della").isRandomized({ global: {}, perModel: [{ density: 0.5 }] })).toBe(true);
	});
});

describe("DELLA (magnitude-ranked random) pruning", () => {
	const rows = 2000;
	const cols = 50;
	const density = 0.5;
	const epsilon = 0.2;

	/** Every row holds the magnitudes 1..cols in a random order, with random signs. */
	function rankedRows(seed: number): Float32Array {
		const u = counterUniform(seed, "della", "data");
		const out = new Float32Array(rows * cols);
		for (let r = 0; r < rows; r++) {
			const order = Array.from({ length: cols }, (_, c) => c + 1);
			for (let c = cols - 1; c > 0; c--) {
				const k = Math.floor(u(r * cols + c) * (c + 1));
				[order[c], order[k]] = [order[k] as number, order[c] as number];
			}
			for (let c = 0; c < cols; c++) {
				out[r * cols + c] = (order[c] as number) * (u(rows * cols + r * cols + c) < 0.5 ? -1 : 1);
			}
		}
		return out;
	}

	it("keeps an element of rank r with probability (density − ε) + 2ε·r/(n − 1)", () => {
		const delta = rankedRows(1);
		const magnitudes = delta.map(Math.abs);
		sparsifyDella(delta, [rows, cols], density, epsilon, false, counterUniform(3, "t", "m0"), "test");
		const kept = new Array<number>(cols).fill(0);
		for (let i = 0; i < delta.length; i++) {
			if (delta[i] !== 0) {
				const rank = (magnitudes[i] as number) - 1;
				kept[rank] = (kept[rank] as number) + 1;
			}
		}
		for (let rank = 0; rank < cols; rank++) {
			const p = density - epsilon + (2 * epsilon * rank) / (cols - 1);
			expect(Math.abs((kept[rank] as number) - rows * p)).toBeLessThanOrEqual(5 * Math.sqrt(rows * p * (1 - p)));
		}
		// The keep rate rises with magnitude: compare five bands of ten ranks each.
		const bands = [0, 1, 2, 3, 4].map((band) => kept.slice(band * 10, band * 10 + 10).reduce((a, b) => a + b, 0));
		for (let band = 1; band < bands.length; band++) {
			expect(bands[band] as number).toBeGreaterThan(bands[band - 1] as number);
		}
	});

	it("keeps exactly the elements whose draw is below their rank's probability, lanes pruned in parts or whole", () => {
		const delta = rankedRows(4);
		const original = delta.slice();
		const uniform = counterUniform(8, "t", "m2");
		sparsifyDella(delta, [rows, cols], density, epsilon, false, uniform, "test");
		let wrong = 0;
		for (let i = 0; i < delta.length; i++) {
			const rank = Math.abs(original[i] as number) - 1;
			const p = density - epsilon + (2 * epsilon * rank) / (cols - 1);
			wrong += +!Object.is(delta[i], uniform(i) < p ? original[i] : 0);
		}
		expect(wrong).toBe(0);
		const inParts = original.slice();
		sparsifyDella(inParts, [rows, cols], density, epsilon, true, uniform, "test", { parallel: splitInto(3) });
		const whole = original.slice();
		sparsifyDella(whole, [rows, cols], density, epsilon, true, uniform, "test");
		expect(inParts).toEqual(whole);
	});

	it("rejects an epsilon that pushes a keep probability out of (0, 1)", () => {
		expect(() =>
			sparsifyDella(
				new Float32Array(10).fill(1),
				[10],
				0.9,
				0.15,
				true,
				counterUniform(1, "x", "m0"),
				"della on x, model m0",
			),
		).toThrow(/della on x, model m0: epsilon 0.15 with density 0.9/);
	});

	it("leaves the task vector alone at density 1 and zeroes it at density 0", () => {
		const delta = new Float32Array([1, -2, 3]);
		sparsifyDella(delta, [3], 1, 0.15, true, counterUniform(1, "t", "m0"), "test");
		expect([...delta]).toEqual([1, -2, 3]);
		sparsifyDella(delta, [3], 0, 0.15, true, counterUniform(1, "t", "m0"), "test");
		expect([...delta]).toEqual([0, 0, 0]);
	});
});

describe("TIES (magnitude) pruning", () => {
	it("keeps exactly floor(density · numel) elements, the largest ones", () => {
		const cases: [number, number][] = [
			[10_007, 0.37],
			[4096, 0.5],
			[333, 0.01],
		];
		for (const [n, density] of cases) {
			// Magnitudes from a few levels, so many ties straddle the cut.
			const levels = uniformTensor(n, n).map((u) => Math.ceil(Math.abs(u) * 6) * (u < 0 ? -1 : 1) || 1);
			const delta = levels.slice();
			sparsifyMagnitude(delta, density, false, "test");
			const k = Math.floor(density * n);
			expect(countNonzero(delta)).toBe(k);
			let smallestKept = Number.POSITIVE_INFINITY;
			let largestDropped = 0;
			let lastKeptAtCut = -1;
			let firstDroppedAtCut: number = n;
			for (let i = 0; i < n; i++) {
				const magnitude = Math.abs(levels[i] as number);
				if (delta[i] !== 0) {
					smallestKept = Math.min(smallestKept, magnitude);
				} else {
					largestDropped = Math.max(largestDropped, magnitude);
				}
			}
			expect(smallestKept).toBeGreaterThanOrEqual(largestDropped);
			// Among equal magnitudes at the cut, the lowest indices are kept.
			for (let i = 0; i < n; i++) {
				if (Math.abs(levels[i] as number) === smallestKept) {
					if (delta[i] !== 0) {
						lastKeptAtCut = i;
					} else {
						firstDroppedAtCut = Math.min(firstDroppedAtCut, i);
					}
				}
			}
			if (smallestKept === largestDropped) {
				expect(lastKeptAtCut).toBeLessThan(firstDroppedAtCut);
			}
		}
	});

	it("fails with a clear message when the density keeps nothing", () => {
		const ties = method("ties");
		const n = 1024;
		expect(() =>
			ties.merge(
				{
					models: [tensor("m0", uniformTensor(n, 1), [n], { weight: 1, density: 0.0005 })],
					base: tensor("base", new Float32Array(n), [n]),
				},
				context(
					{ normalize: true, rescale: false, lambda: 1, int8_mask: false },
					1,
					"model.layers.0.mlp.up_proj.weight",
				),
			),
		).toThrow(
			"ties on model.layers.0.mlp.up_proj.weight, model m0: density 0.0005 keeps no element of 1024 (floor(density × numel) = 0)",
		);
	});

	it("keeps the same number through the ties method (one model: every kept element agrees with itself)", () => {
		const n = 5000;
		const delta = taskVector(n, 30);
		const result = method("ties").merge(
			{
				models: [tensor("m0", delta, [50, 100], { weight: 1, density: 0.2 })],
				base: tensor("base", new Float32Array(n), [50, 100]),
			},
			context({ normalize: true, rescale: false, lambda: 1, int8_mask: false }),
		);
		expect(result && countNonzero(result.data)).toBe(1000);
	});
});

describe("Breadcrumbs (magnitude outliers) pruning", () => {
	it("keeps exactly floor(density · numel) elements, after dropping the gamma share of largest", () => {
		const n = 10_000;
		const source = taskVector(n, 40);
		const delta = source.slice();
		expect(sparsifyMagnitudeOutliers(delta, 0.6, 0.05, false)).toBeUndefined();
		expect(countNonzero(delta)).toBe(6000);
		const magnitudes = [...source].map(Math.abs).sort((a, b) => b - a);
		const kept = [...delta].filter((v) => v !== 0).map(Math.abs);
		// Ranks [500, 6500) of the descending order survive.
		expect(Math.max(...kept)).toBe(magnitudes[500]);
		expect(Math.min(...kept)).toBe(magnitudes[6499]);
	});

	it("cuts fewer outliers when density leaves no room for gamma", () => {
		const n = 1000;
		const delta = taskVector(n, 41);
		sparsifyMagnitudeOutliers(delta, 0.98, 0.05, false);
		expect(countNonzero(delta)).toBe(980);
	});

	it("reproduces mergekit's quirk: no outlier cut (gamma · numel < 1) zeroes the task vector, with a warning", () => {
		const n = 50;
		const base = uniformTensor(n, 42);
		const other = uniformTensor(n, 43);
		const ctx = context({ normalize: false, rescale: false, lambda: 1, int8_mask: false });
		const result = method("breadcrumbs").merge(
			{ models: [tensor("m0", other, [n], { weight: 1, density: 0.5, gamma: 0.01 })], base: tensor("base", base, [n]) },
			ctx,
		);
		expect(result && [...result.data]).toEqual([...base]);
		expect(ctx.warnings).toHaveLength(1);
		expect(ctx.warnings[0]).toMatch(/breadcrumbs on .*, model m0: gamma 0.01 × 50 elements cuts no outlier/);
	});
});
