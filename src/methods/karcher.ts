import { assertSameShapes } from "./check-shapes.js";
import { copyTensor } from "./copy-tensor.js";
import { l2Norm } from "./kernels/l2-norm.js";
import type { MergeMethod, ParameterDef } from "./merge-method.js";
import { readNumber } from "./read-param.js";

const MAX_ITER: ParameterDef = {
	name: "max_iter",
	scope: "global",
	type: "integer",
	default: 10,
	range: { min: 1 },
	description: "The most refinement steps of the mean direction.",
};

const TOL: ParameterDef = {
	name: "tol",
	scope: "global",
	type: "number",
	default: 1e-5,
	range: { min: 0, minExclusive: true },
	description: "Convergence tolerance; also the norm and angle below which inputs are left out.",
};

/**
 * The Riemannian (Karcher) mean of all inputs with equal weights: the mean direction on the unit sphere is refined
 * by gradient steps in the tangent space, then scaled by the mean of the inputs' norms.
 */
export const karcher: MergeMethod = {
	name: "karcher",
	displayName: "Karcher Mean",
	paperUrl: "https://en.wikipedia.org/wiki/Karcher_mean",
	explanation:
		"Finds the geometric average of several models' weights on a sphere (the Karcher mean), giving every model the same say. " +
		"It is a multi-model generalisation of SLERP; a base model, if set, is simply one more input.",
	parameters: [MAX_ITER, TOL],
	baseRole: "input",
	requiresBase: false,
	modelCount: { min: 1, countsBase: true },
	shapePolicy: "strict",
	isRandomized: () => false,
	merge({ models }, context) {
		const where = `karcher on ${context.tensorName}`;
		const first = models[0];
		if (!first) {
			throw new Error(`${where}: no model has this tensor, so there is nothing to average`);
		}
		if (models.length === 1) {
			return copyTensor(first);
		}
		assertSameShapes(where, models);
		const maxIter = readNumber(context.params, MAX_ITER, where);
		const tol = readNumber(context.params, TOL, where);
		const n = first.data.length;
		const alpha = 1 / models.length;
		const norms = models.map((tensor) => l2Norm(tensor.data));
		// Inputs too close to zero have no direction; the others share the weight.
		const valid = models.flatMap((tensor, i) =>
			(norms[i] as number) > tol ? [{ data: tensor.data, inverseNorm: 1 / (norms[i] as number) }] : [],
		);
		const out = new Float32Array(n);
		const firstValid = valid[0];
		if (!firstValid) {
			return { data: out, shape: [...first.shape] };
		}
		const a = 1 / valid.length;
		const u = new Float64Array(n);
		for (const { data, inverseNorm } of valid) {
			for (let j = 0; j < n; j++) {
				u[j] = (u[j] as number) + a * (data[j] as number) * inverseNorm;
			}
		}
		const initialNorm = l2Norm(u);
		for (let j = 0; j < n; j++) {
			u[j] =
				initialNorm < tol ? (firstValid.data[j] as number) * firstValid.inverseNorm : (u[j] as number) / initialNorm;
		}
		const step = new Float64Array(n);
		for (let iteration = 0; iteration < maxIter; iteration++) {
			step.fill(0);
			for (const { data, inverseNorm } of valid) {
				let cos = 0;
				for (let j = 0; j < n; j++) {
					cos += (u[j] as number) * (data[j] as number) * inverseNorm;
				}
				cos = Math.min(1, Math.max(-1, cos));
				const theta = Math.acos(cos);
				if (theta < tol) {
					continue;
				}
				const gain = (a * theta) / Math.sin(theta);
				for (let j = 0; j < n; j++) {
					step[j] = (step[j] as number) + gain * ((data[j] as number) * inverseNorm - cos * (u[j] as number));
				}
			}
			const stepNorm = l2Norm(step);
			if (stepNorm < tol) {
				break;
			}
			const along = Math.cos(stepNorm);
			const across = Math.sin(stepNorm) / stepNorm;
			for (let j = 0; j < n; j++) {
				u[j] = along * (u[j] as number) + across * (step[j] as number);
			}
			const uNorm = l2Norm(u);
			if (uNorm > tol) {
				for (let j = 0; j < n; j++) {
					u[j] = (u[j] as number) / uNorm;
				}
			}
		}
		// The scale averages every input's norm, zero-norm inputs included.
		const scale = norms.reduce((sum, norm) => sum + alpha * norm, 0);
		for (let j = 0; j < n; j++) {
			out[j] = scale * (u[j] as number);
		}
		return { data: out, shape: [...first.shape] };
	},
};
