import { describe, expect, it } from "vitest";
import { measureTensor, SAMPLE_FROM } from "../../src/insight/measure-tensor.js";
import { summarizeSums } from "../../src/insight/summarize-sums.js";
import type { MergedTensor } from "../../src/insight/tensor-observer.js";
import type { KernelStats, ModelTensor } from "../../src/methods/merge-method.js";
import { findMergeMethod } from "../../src/methods/registry.js";
import type { PlannedTensor } from "../../src/plan/merge-plan.js";
import { context, tensor, uniformTensor } from "../methods/fixtures.js";

const N = 48;
const SHAPE = [6, 8];

function method(name: string) {
	const found = findMergeMethod(name);
	if (!found) {
		throw new Error(name);
	}
	return found;
}

/** Runs a registry method the way the executor does, collecting what the kernel records. */
function run(name: string, models: ModelTensor[], base: ModelTensor | undefined, params = {}): MergedTensor {
	const kernelStats: KernelStats[] = [];
	const ctx = { ...context(params), record: (stats: KernelStats) => kernelStats.push(stats) };
	const result = method(name).merge({ models, base }, ctx);
	if (!result) {
		throw new Error("no result");
	}
	return { tensor: {} as PlannedTensor, inputs: { models, base }, result, kernelStats };
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
	let sum = 0;
	for (let i = 0; i < a.length; i++) {
		sum += (a[i] as number) * (b[i] as number);
	}
	return sum;
};
const minus = (a: ArrayLike<number>, b: ArrayLike<number>): number[] =>
	Array.from({ length: a.length }, (_, i) => (a[i] as number) - (b[i] as number));
const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a));

describe("measurements of one tensor, checked against the definitions", () => {
	const b = uniformTensor(N, 1);
	const x = [2, 3, 4, 5].map((seed) => {
		// Fine-tunes: the base plus a small change.
		return Float32Array.from(uniformTensor(N, seed), (value, i) => (b[i] as number) + 0.1 * value);
	});
	const names = ["a", "b", "c"];
	const index = new Map(names.map((name, i) => [name, i]));
	const taus = x.map((data) => minus(data, b));

	// One, two and three models take unrolled loops, four the general one: all must agree with the definitions.
	it.each([1, 2, 3, 4])("task_arithmetic with %i model(s): norms, cosines, conflicts, change and shares", (count) => {
		const weights = [0.5, 0.3, 0.2, 0.4].slice(0, count);
		const ids = ["a", "b", "c", "d"].slice(0, count);
		const models = ids.map((name, i) => tensor(name, x[i] as Float32Array, SHAPE, { weight: weights[i] as number }));
		const merged = run("task_arithmetic", models, tensor("base", b, SHAPE));
		const stats = summarizeSums(measureTensor(merged, "base", new Map(ids.map((name, i) => [name, i]))), ids);
		const delta = minus(merged.result.data, b);
		const used = taus.slice(0, count);
		expect(stats.relativeChange).toBeCloseTo(norm(delta) / norm(b), 5);
		used.forEach((tau, i) => {
			expect(stats.models[i]?.taskVectorNorm).toBeCloseTo(norm(tau), 5);
			expect(stats.models[i]?.deltaCosine).toBeCloseTo(dot(tau, delta) / (norm(tau) * norm(delta)), 5);
			// Δ = Σ wᵢτᵢ exactly, so the least-squares shares are wᵢ⟨τᵢ, Δ⟩/‖Δ‖².
			expect(stats.models[i]?.share).toBeCloseTo(((weights[i] as number) * dot(tau, delta)) / dot(delta, delta), 4);
			// No pruning in task_arithmetic: every nonzero change is kept.
			expect(stats.models[i]?.keptFraction).toBe(1);
		});
		expect(stats.explained).toBeCloseTo(1, 4);
		const cosines: number[] = [];
		used.forEach((p, i) => {
			used.forEach((q, k) => {
				const cos = dot(p, q) / (norm(p) * norm(q));
				expect(stats.similarity[i]?.[k]).toBeCloseTo(cos, 5);
				if (k > i) {
					cosines.push(cos);
				}
			});
		});
		let conflicts = 0;
		const wins = used.map(() => 0);
		for (let j = 0; j < N; j++) {
			const signs = used.map((tau) => Math.sign(tau[j] as number));
			if (signs.includes(1) && signs.includes(-1)) {
				conflicts++;
				signs.forEach((sign, i) => {
					wins[i] = (wins[i] as number) + (sign * Math.sign(delta[j] as number) > 0 ? 1 : 0);
				});
			}
		}
		if (count === 1) {
			expect(stats.signConflict).toBeNull();
			expect(stats.meanTaskVectorCosine).toBeNull();
			return;
		}
		expect(conflicts).toBeGreaterThan(0);
		expect(stats.signConflict).toBeCloseTo(conflicts / N, 6);
		wins.forEach((won, i) => {
			expect(stats.models[i]?.conflictWins).toBeCloseTo(won / conflicts, 6);
		});
		expect(stats.meanTaskVectorCosine).toBeCloseTo(cosines.reduce((sum, cos) => sum + cos, 0) / cosines.length, 5);
	});

	it("ties: the kernel's kept fraction and elected-sign agreement", () => {
		const density = 0.5;
		const weights = [1, 0.6, 0.8];
		const models = names.map((name, i) =>
			tensor(name, x[i] as Float32Array, SHAPE, { weight: weights[i] as number, density }),
		);
		const merged = run("ties", models, tensor("base", b, SHAPE));
		const stats = summarizeSums(measureTensor(merged, "base", index), names);
		// Independently: keep the floor(density·n) largest |τ|, vote with the weighted kept changes.
		const k = Math.floor(density * N);
		const kept = taus.slice(0, 3).map((tau) => {
			const order = [...tau.keys()].sort((p, q) => Math.abs(tau[q] as number) - Math.abs(tau[p] as number) || p - q);
			const keep = new Set(order.slice(0, k));
			return tau.map((value, j) => (keep.has(j) ? value : 0));
		});
		const elected = Array.from({ length: N }, (_, j) =>
			kept.reduce((sum, tau, i) => sum + (weights[i] as number) * (tau[j] as number), 0) >= 0 ? 1 : -1,
		);
		kept.forEach((tau, i) => {
			const nonzero = tau.filter((value) => value !== 0).length;
			const agree = tau.filter((value, j) => value * (elected[j] as number) > 0).length;
			expect(stats.models[i]?.keptFraction).toBeCloseTo(nonzero / N, 6);
			expect(stats.models[i]?.signAgreement).toBeCloseTo(agree / nonzero, 6);
		});
		// Where the models' signs conflict, pruning can leave the base untouched.
		const delta = minus(merged.result.data, b);
		const used = taus.slice(0, 3);
		const conflicting = [...delta.keys()].filter((j) => {
			const signs = used.map((tau) => Math.sign(tau[j] as number));
			return signs.includes(1) && signs.includes(-1);
		});
		const atBase = conflicting.filter((j) => delta[j] === 0).length;
		expect(atBase).toBeGreaterThan(0);
		expect(stats.conflictAtBase).toBeCloseTo(atBase / conflicting.length, 6);
		// Pruning and the per-element divisor make Δ no exact mix of the task vectors.
		expect(stats.explained).toBeLessThan(1);
		expect(stats.explained).toBeGreaterThan(0);
	});

	it("linear with the base as an input: the base has no task vector and the shares follow the weights", () => {
		const models = [
			tensor("base", b, SHAPE, { weight: 1 }),
			tensor("a", x[0] as Float32Array, SHAPE, { weight: 0.5 }),
			tensor("b", x[1] as Float32Array, SHAPE, { weight: 0.5 }),
		];
		const merged = run("linear", models, undefined);
		const two = new Map([
			["a", 0],
			["b", 1],
		]);
		const stats = summarizeSums(measureTensor(merged, "base", two), ["a", "b"]);
		const delta = minus(merged.result.data, b);
		// Y − B = ¼τa + ¼τb: the base holds back half of the change.
		[0, 1].forEach((i) => {
			expect(stats.models[i]?.share).toBeCloseTo((0.25 * dot(taus[i] as number[], delta)) / dot(delta, delta), 4);
			expect(stats.models[i]?.keptFraction).toBeNull();
		});
		expect(stats.explained).toBeCloseTo(1, 4);
		expect(stats.relativeChange).toBeCloseTo(norm(delta) / norm(b), 5);
		// Two models that disagree: a nonzero Δ sides with one of them, so nothing stays at the base.
		expect(stats.conflictAtBase).toBe(0);
		expect((stats.models[0]?.conflictWins ?? 0) + (stats.models[1]?.conflictWins ?? 0)).toBeCloseTo(1, 9);
	});

	it("records nothing but the count without a base", () => {
		const models = [
			tensor("a", x[0] as Float32Array, SHAPE, { weight: 1 }),
			tensor("b", x[1] as Float32Array, SHAPE, { weight: 1 }),
		];
		const merged = run("linear", models, undefined);
		const stats = summarizeSums(measureTensor(merged, undefined, new Map()), []);
		expect(stats.tensors).toBe(1);
		expect(stats.relativeChange).toBeNull();
		expect(stats.signConflict).toBeNull();
	});
});

describe("measurements of a large tensor", () => {
	it("are taken on a sample of its blocks and stay within a fraction of a percent of the whole tensor's", () => {
		// Above SAMPLE_FROM, not a whole number of blocks, so the partial last block is counted right.
		const n = SAMPLE_FROM * 2 + 1234;
		const shape = [n];
		const b = uniformTensor(n, 1);
		// Correlated changes (cosine about 0.6), so that every figure is well away from zero.
		const [u, v] = [uniformTensor(n, 2), uniformTensor(n, 3)];
		const x = [
			Float32Array.from(u, (value, i) => (b[i] as number) + 0.1 * value),
			Float32Array.from(v, (value, i) => (b[i] as number) + 0.1 * (0.6 * (u[i] as number) + 0.8 * value)),
		];
		const models = ["a", "b"].map((name, i) => tensor(name, x[i] as Float32Array, shape, { weight: 0.5 }));
		const merged = run("task_arithmetic", models, tensor("base", b, shape));
		const stats = summarizeSums(
			measureTensor(
				merged,
				"base",
				new Map([
					["a", 0],
					["b", 1],
				]),
			),
			["a", "b"],
		);
		const delta = minus(merged.result.data, b);
		const taus = x.map((data) => minus(data, b));
		const within = (got: number | null | undefined, want: number): void => {
			expect(Math.abs((got as number) / want - 1), `${got} against ${want}`).toBeLessThan(0.005);
		};
		within(stats.relativeChange, norm(delta) / norm(b));
		taus.forEach((tau, i) => {
			within(stats.models[i]?.taskVectorNorm, norm(tau));
		});
		within(
			stats.similarity[0]?.[1],
			dot(taus[0] as number[], taus[1] as number[]) / (norm(taus[0] as number[]) * norm(taus[1] as number[])),
		);
		let conflicts = 0;
		for (let j = 0; j < n; j++) {
			conflicts += +(((taus[0] as number[])[j] as number) * ((taus[1] as number[])[j] as number) < 0);
		}
		within(stats.signConflict, conflicts / n);
	});
});
