import { copyTensor } from "./copy-tensor.js";
import type { MergeContext, MergeInputs, MergeMethod, MergeResult, ParameterDef } from "./merge-method.js";
import { readNumber } from "./read-param.js";
import { requireBase } from "./require-base.js";

const EPSILON: ParameterDef = {
	name: "epsilon",
	scope: "global",
	type: "number",
	default: 1e-5,
	range: { min: 0 },
	description: "A change from the base larger than this (in absolute value) counts as the model being active there.",
};

const R: ParameterDef = {
	name: "r",
	scope: "global",
	type: "number",
	default: 0.1,
	range: { min: 0 },
	description: "How strongly a model's unique changes are amplified by its overlap ratio.",
};

const ALPHA: ParameterDef = {
	name: "alpha",
	scope: "global",
	type: "number",
	default: 0.2,
	range: { min: 0 },
	description: "Cap on the overlap ratio used for the amplification.",
};

const RAM_PLUS_EPSILON: ParameterDef = {
	...EPSILON,
	range: { min: 0, minExclusive: true },
	description: `${EPSILON.description} It also floors the unique count in the overlap ratio.`,
};

const PAPER = "https://arxiv.org/abs/2601.13572";

/**
 * Reinforced Agent Merging: where exactly one model changed an element (|τᵢ| > ε) its change is taken whole,
 * where several did their changes are averaged, and untouched elements keep the base.
 */
export const ram: MergeMethod = {
	name: "ram",
	displayName: "Reinforced Agent Merging",
	paperUrl: PAPER,
	explanation:
		"Adds the models' changes from the base without diluting them: a change made by only one model is kept in full, " +
		"and changes several models made to the same weight are averaged.",
	parameters: [EPSILON],
	baseRole: "reference",
	requiresBase: true,
	modelCount: { min: 1, countsBase: false },
	shapePolicy: "strict",
	isRandomized: () => false,
	elementwise: true,
	merge: (inputs, context) => mergeRam(inputs, context, false),
};

/**
 * RAM+ (tensor-local): as RAM, but each model's unique changes are scaled by λᵢ = 1 + r·clamp(ρᵢ, 0, α), where ρᵢ is
 * the ratio of the model's shared to unique active elements in this tensor.
 */
export const ramplusTl: MergeMethod = {
	name: "ramplus_tl",
	displayName: "Reinforced Agent Merging Plus (Tensor-Local)",
	paperUrl: PAPER,
	explanation:
		"Like Reinforced Agent Merging, but a model whose changes overlap a lot with the others has its unique changes " +
		"boosted slightly, to make up for the signal its shared changes lose in averaging.",
	parameters: [R, ALPHA, RAM_PLUS_EPSILON],
	baseRole: "reference",
	requiresBase: true,
	modelCount: { min: 1, countsBase: false },
	shapePolicy: "strict",
	isRandomized: () => false,
	merge: (inputs, context) => mergeRam(inputs, context, true),
};

function mergeRam(inputs: MergeInputs, context: MergeContext, plus: boolean): MergeResult {
	const name = plus ? "ramplus_tl" : "ram";
	const where = `${name} on ${context.tensorName}`;
	const { base, models } = requireBase(inputs, where);
	if (models.length === 0) {
		return copyTensor(base);
	}
	const epsilon = readNumber(context.params, plus ? RAM_PLUS_EPSILON : EPSILON, where);
	const b = base.data;
	const n = b.length;
	const xs = models.map((tensor) => tensor.data);
	const count = xs.length;
	// The task vector element τ = X − B, rounded to float32 as mergekit's tensors are.
	const f = Math.fround;
	const active = new Uint32Array(n);
	for (let j = 0; j < n; j++) {
		let c = 0;
		for (let i = 0; i < count; i++) {
			if (Math.abs(f(((xs[i] as Float32Array)[j] as number) - (b[j] as number))) > epsilon) {
				c++;
			}
		}
		active[j] = c;
	}
	const uniqueScale = new Float64Array(count).fill(1);
	if (plus) {
		const r = readNumber(context.params, R, where);
		const alpha = readNumber(context.params, ALPHA, where);
		for (let i = 0; i < count; i++) {
			const x = xs[i] as Float32Array;
			let shared = 0;
			let unique = 0;
			for (let j = 0; j < n; j++) {
				if (Math.abs(f((x[j] as number) - (b[j] as number))) > epsilon) {
					if (active[j] === 1) {
						unique++;
					} else {
						shared++;
					}
				}
			}
			const rho = shared / Math.max(unique, epsilon);
			uniqueScale[i] = 1 + r * Math.min(alpha, Math.max(0, rho));
		}
	}
	const out = new Float32Array(n);
	for (let j = 0; j < n; j++) {
		const c = active[j] as number;
		let merged = 0;
		if (c > 0) {
			for (let i = 0; i < count; i++) {
				const tau = f(((xs[i] as Float32Array)[j] as number) - (b[j] as number));
				if (Math.abs(tau) > epsilon) {
					merged += c === 1 ? tau * (uniqueScale[i] as number) : tau / c;
				}
			}
		}
		out[j] = (b[j] as number) + merged;
	}
	return { data: out, shape: [...base.shape] };
}
