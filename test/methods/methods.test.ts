import { describe, expect, it } from "vitest";
import type { MergeMethod, MergeResult, ModelTensor } from "../../src/methods/merge-method.js";
import { findMergeMethod } from "../../src/methods/registry.js";
import { context, tensor, uniformTensor } from "./fixtures.js";

function method(name: string): MergeMethod {
	const found = findMergeMethod(name);
	if (!found) {
		throw new Error(`no method ${name}`);
	}
	return found;
}

function values(result: MergeResult | undefined): number[] {
	if (!result) {
		throw new Error("no result");
	}
	return [...result.data];
}

const TA_GLOBALS = { normalize: false, rescale: false, lambda: 1, int8_mask: false };
const v = (...xs: number[]) => new Float32Array(xs);

describe("passthrough", () => {
	it("copies the one input, scaled when scale is set", () => {
		const x = tensor("m0", v(1, -2, 3), [3]);
		expect(values(method("passthrough").merge({ models: [x], base: undefined }, context()))).toEqual([1, -2, 3]);
		const scaled = { ...x, params: { scale: 0.5 } };
		expect(values(method("passthrough").merge({ models: [scaled], base: undefined }, context()))).toEqual([
			0.5, -1, 1.5,
		]);
		expect(x.data[0]).toBe(1);
	});

	it("refuses anything but exactly one input", () => {
		const x = tensor("m0", v(1), [1]);
		expect(() =>
			method("passthrough").merge({ models: [x, { ...x, model: "m1" }], base: undefined }, context()),
		).toThrow(/^passthrough merges exactly one tensor per output tensor, got 2/);
	});
});

describe("linear", () => {
	it("averages with normalized weights, or sums without", () => {
		const models = [tensor("a", v(1, 2), [2], { weight: 3 }), tensor("b", v(3, 6), [2], { weight: 1 })];
		expect(values(method("linear").merge({ models, base: undefined }, context({ normalize: true })))).toEqual([1.5, 3]);
		expect(values(method("linear").merge({ models, base: undefined }, context({ normalize: false })))).toEqual([6, 12]);
	});

	it("rounds the weights to bf16 in a bf16 merge, as mergekit does", () => {
		const models = [tensor("a", v(1), [1], { weight: 0.1 }), tensor("b", v(0), [1], { weight: 0.9 })];
		const ctx = { ...context({ normalize: false }), computeDtype: "BF16" as const };
		expect(values(method("linear").merge({ models, base: undefined }, ctx))).toEqual([0.10009765625]);
	});

	it("names the base model that has no weight", () => {
		const models = [tensor("a", v(1), [1], { weight: 1 }), tensor("org/base", v(1), [1])];
		expect(() => method("linear").merge({ models, base: undefined }, context({ normalize: true }))).toThrow(
			/model org\/base has no weight/,
		);
	});

	it("refuses weights that sum to zero when normalizing", () => {
		const models = [tensor("a", v(1), [1], { weight: 1 }), tensor("b", v(1), [1], { weight: -1 })];
		expect(() => method("linear").merge({ models, base: undefined }, context({ normalize: true }))).toThrow(/sum to 0/);
	});

	it("names the shapes when they differ", () => {
		const models = [tensor("a", v(1, 2), [2], { weight: 1 }), tensor("b", v(1), [1], { weight: 1 })];
		expect(() => method("linear").merge({ models, base: undefined }, context({ normalize: true }))).toThrow(
			/a \[2\], b \[1\]/,
		);
	});
});

describe("slerp", () => {
	const base = tensor("base", v(1, 0), [2]);
	const other = tensor("m0", v(0, 2), [2]);

	it("runs from the base at t = 0 to the other model at t = 1, along the arc between", () => {
		const at = (t: number) => values(method("slerp").merge({ models: [other], base }, context({ t })));
		expect(at(0)).toEqual([1, 0]);
		const end = at(1);
		expect(end[0]).toBeCloseTo(0, 6);
		expect(end[1]).toBeCloseTo(2, 6);
		const middle = at(0.5);
		expect(middle[0]).toBeCloseTo(Math.SQRT1_2, 6);
		expect(middle[1]).toBeCloseTo(Math.SQRT2, 6);
	});

	it("returns a lone input unchanged and refuses a third model", () => {
		expect(values(method("slerp").merge({ models: [], base }, context({ t: 0.5 })))).toEqual([1, 0]);
		expect(() =>
			method("slerp").merge({ models: [other, { ...other, model: "m1" }], base }, context({ t: 0.5 })),
		).toThrow(/exactly two models/);
	});
});

describe("nuslerp", () => {
	it("needs two models besides the base", () => {
		const base = tensor("base", v(1, 1), [2]);
		const m0 = tensor("m0", v(1, 2), [2], { weight: 1 });
		const ctx = context({ nuslerp_flatten: true, nuslerp_row_wise: false });
		expect(() => method("nuslerp").merge({ models: [m0], base }, ctx)).toThrow(/exactly two other models/);
		expect(values(method("nuslerp").merge({ models: [m0], base: undefined }, ctx))).toEqual([1, 2]);
	});

	it("takes t = w₂/(w₁ + w₂), and 0.5 when the weights cancel", () => {
		const m0 = tensor("m0", v(1, 0), [2], { weight: 1 });
		const m1 = tensor("m1", v(0, 1), [2], { weight: 3 });
		const ctx = context({ nuslerp_flatten: true, nuslerp_row_wise: false });
		const result = values(method("nuslerp").merge({ models: [m0, m1], base: undefined }, ctx));
		expect(result[0]).toBeCloseTo(Math.cos((3 * Math.PI) / 8), 6);
		expect(result[1]).toBeCloseTo(Math.sin((3 * Math.PI) / 8), 6);
		const cancelling = values(
			method("nuslerp").merge({ models: [m0, { ...m1, params: { weight: -1 } }], base: undefined }, ctx),
		);
		expect(cancelling[0]).toBeCloseTo(cancelling[1] as number, 6);
	});
});

describe("multislerp", () => {
	it("returns a single model unchanged, even with a base", () => {
		const base = tensor("base", v(5, 5), [2]);
		const m0 = tensor("m0", v(1, 2), [2], { weight: 1 });
		expect(
			values(method("multislerp").merge({ models: [m0], base }, context({ normalize_weights: true, eps: 1e-8 }))),
		).toEqual([1, 2]);
	});

	it("keeps the direction and size of identical inputs", () => {
		const m = (name: string) => tensor(name, v(3, 4), [2], { weight: 1 });
		const result = values(
			method("multislerp").merge(
				{ models: [m("a"), m("b"), m("c")], base: undefined },
				context({ normalize_weights: true, eps: 1e-8 }),
			),
		);
		expect(result[0]).toBeCloseTo(3, 5);
		expect(result[1]).toBeCloseTo(4, 5);
	});
});

describe("karcher", () => {
	it("averages directions with equal weights and keeps the mean norm", () => {
		const models = [tensor("a", v(2, 0), [2]), tensor("b", v(0, 4), [2])];
		const result = values(method("karcher").merge({ models, base: undefined }, context({ max_iter: 10, tol: 1e-5 })));
		expect(result[0]).toBeCloseTo(3 * Math.SQRT1_2, 5);
		expect(result[1]).toBeCloseTo(3 * Math.SQRT1_2, 5);
	});
});

describe("model_stock", () => {
	it("leaves an optional tensor out when too few models have it", () => {
		const ctx = context({ filter_wise: false });
		const result = method("model_stock").merge(
			{ models: [tensor("m0", v(1, 2), [2])], base: tensor("base", v(0, 0), [2]) },
			ctx,
		);
		expect(result).toBeUndefined();
		expect(ctx.warnings[0]).toMatch(/needs the base plus two others/);
	});

	it("lands on the models' mean when they all agree", () => {
		const base = tensor("base", v(0, 0), [2]);
		const models = [tensor("m0", v(1, 2), [2]), tensor("m1", v(2, 4), [2])];
		const result = values(method("model_stock").merge({ models, base }, context({ filter_wise: false })));
		expect(result[0]).toBeCloseTo(1.5, 6);
		expect(result[1]).toBeCloseTo(3, 6);
	});
});

describe("nearswap", () => {
	it("takes the other value where the models are within t, and moves by t elsewhere", () => {
		const base = tensor("base", v(0, 0), [2]);
		const other = tensor("m0", v(0.05, 1), [2]);
		const result = values(method("nearswap").merge({ models: [other], base }, context({ t: 0.1 })));
		expect(result[0]).toBeCloseTo(0.05, 7);
		expect(result[1]).toBeCloseTo(0.1, 7);
	});
});

describe("arcee_fusion", () => {
	it("keeps the base where the other model is identical", () => {
		const base = tensor("base", uniformTensor(64, 1), [8, 8]);
		const result = method("arcee_fusion").merge({ models: [{ ...base, model: "m0" }], base }, context());
		expect(values(result)).toEqual([...base.data]);
	});

	it("samples the quantiles of a large tensor reproducibly from the seed", () => {
		const shape = [1001, 1000];
		const n = 1001 * 1000;
		const base = tensor("base", uniformTensor(n, 2), shape);
		const other = tensor("m0", uniformTensor(n, 3), shape);
		const run = (seed: number) =>
			new Uint32Array(values(method("arcee_fusion").merge({ models: [other], base }, context({}, seed))));
		expect(run(4)).toEqual(run(4));
	});
});

describe("sce", () => {
	it("ignores weights and averages the agreeing task vectors by their energy", () => {
		const base = tensor("base", v(0, 0, 0), [3]);
		const m0 = tensor("m0", v(1, 1, -1), [3], { weight: 100 });
		const m1 = tensor("m1", v(1, -3, 1), [3]);
		const result = values(
			method("sce").merge({ models: [m0, m1], base }, context({ select_topk: 1, int8_mask: false })),
		);
		// Energies 1 and 11/3, so s = (3/14, 11/14); element 1: Σ = −2, only m1 agrees; element 2: Σ = 0 (+), only m1.
		expect(result[0]).toBeCloseTo(1, 6);
		expect(result[1]).toBeCloseTo(-3, 6);
		expect(result[2]).toBeCloseTo(1, 6);
	});
});

describe("ram and ramplus_tl", () => {
	const base = tensor("base", v(0, 0, 0, 0), [4]);
	const models = [tensor("m0", v(1, 2, 0, 0), [4]), tensor("m1", v(0, 4, 3, 0), [4])];

	it("keeps unique changes whole and averages shared ones", () => {
		expect(values(method("ram").merge({ models, base }, context({ epsilon: 1e-5 })))).toEqual([1, 3, 3, 0]);
	});

	it("boosts unique changes by 1 + r·clamp(shared/unique, 0, alpha)", () => {
		const result = values(method("ramplus_tl").merge({ models, base }, context({ r: 0.1, alpha: 0.2, epsilon: 1e-5 })));
		// Each model: one shared, one unique element, so ρ = 1 → λ = 1 + 0.1·0.2.
		expect(result[0]).toBeCloseTo(1.02, 6);
		expect(result[1]).toBeCloseTo(3, 6);
		expect(result[2]).toBeCloseTo(3.06, 6);
	});
});

describe("the task-arithmetic family", () => {
	const base = tensor("base", v(1, 1, 1), [3]);
	const m0 = tensor("m0", v(2, 0, 1), [3], { weight: 1, density: 1 });
	const m1 = tensor("m1", v(3, 3, 1), [3], { weight: 0.5, density: 1 });

	it("adds weighted task vectors, scaled by lambda", () => {
		const result = method("task_arithmetic").merge({ models: [m0, m1], base }, context({ ...TA_GLOBALS, lambda: 2 }));
		expect(values(result)).toEqual([1 + 2 * 2, 1 + 2 * 0, 1]);
	});

	it("skips the base's own task vector even when it is passed among the models", () => {
		const listed: ModelTensor = { ...base, params: { weight: 1, density: 1 } };
		const ctx = context({ ...TA_GLOBALS, normalize: true });
		const withBase = method("ties").merge({ models: [listed, m0, m1], base }, ctx);
		const without = method("ties").merge({ models: [m0, m1], base }, ctx);
		expect(values(withBase)).toEqual(values(without));
	});

	it("elects signs and divides by the agreeing weights in ties", () => {
		const result = method("ties").merge({ models: [m0, m1], base }, context({ ...TA_GLOBALS, normalize: true }));
		// Element 1: votes −1 and +1 → Σ = 0 → +; only m1 agrees: (0.5·2)/0.5 = 2.
		expect(values(result)).toEqual([Math.fround(1 + (1 + 1) / 1.5), 3, 1]);
	});

	it("requires the base tensor", () => {
		expect(() => method("dare_linear").merge({ models: [m0], base: undefined }, context(TA_GLOBALS))).toThrow(
			/dare_linear on .*: the base model's tensor is required/,
		);
	});

	it("returns the base when no other model has the tensor", () => {
		expect(values(method("della").merge({ models: [], base }, context(TA_GLOBALS)))).toEqual([1, 1, 1]);
	});

	it("checks DELLA's density ± epsilon in the kernel too", () => {
		const bad = { ...m0, params: { weight: 1, density: 0.1, epsilon: 0.15 } };
		expect(() => method("della").merge({ models: [bad], base }, context(TA_GLOBALS))).toThrow(
			/della on model\.layers\.0\.mlp\.up_proj\.weight, model m0: epsilon 0.15 with density 0.1/,
		);
	});
});
