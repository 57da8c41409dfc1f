import { copyTensor } from "./copy-tensor.js";
import { atenLaneSum } from "./kernels/aten-lane-sum.js";
import { laneLayout } from "./kernels/lane-layout.js";
import { sampleWithoutReplacement } from "./kernels/sample-without-replacement.js";
import type { MergeMethod } from "./merge-method.js";
import { nonBaseModels } from "./non-base-models.js";
import { requireBaseAndOther } from "./require-base.js";

/** mergekit estimates the quantiles from a sample of this many elements on larger tensors. */
const SAMPLE_SIZE = 1_000_000;
/** Added to both softmaxes before the KL divergence. */
const SOFTMAX_EPS = 1e-8;
/** The random stream that picks the quantile sample. */
export const ARCEE_FUSION_SAMPLE_STREAM = "__sample__";

/**
 * Arcee Fusion: importance I = |X − B| · KL(softmax(X row) ‖ softmax(B row)); elements with
 * I ≥ median + 1.5·IQR take the other model's value, the rest keep the base's.
 */
export const arceeFusion: MergeMethod = {
	name: "arcee_fusion",
	displayName: "Arcee Fusion",
	paperUrl: "https://arcee.ai",
	explanation:
		"Keeps the base model and copies over only the other model's most important changes: those that are both large " +
		"and in rows whose output distribution shifted a lot. Everything else stays as in the base.",
	parameters: [],
	baseRole: "reference",
	requiresBase: true,
	modelCount: { min: 2, max: 2, countsBase: true },
	shapePolicy: "common-submatrix",
	isRandomized: () => false,
	merge(inputs, context) {
		const where = `arcee_fusion on ${context.tensorName}`;
		const others = nonBaseModels(inputs);
		// Checked before the shapes, as a count error is the more useful one.
		if (inputs.base && others.length > 1) {
			throw new Error(
				`${where}: arcee_fusion merges exactly two models, the base and one other, but got ${others.length} besides the base`,
			);
		}
		// A lone input is copied: the other model when the base's tensor is missing, or the base.
		const [single] = others;
		if (!inputs.base && single && others.length === 1) {
			return copyTensor(single);
		}
		const pair = requireBaseAndOther(inputs, where);
		if ("done" in pair) {
			return pair.done;
		}
		const { base, other } = pair;
		const a = base.data;
		const x = other.data;
		const n = a.length;
		const importance = new Float32Array(n);
		const lanes = laneLayout(base.shape, -1);
		const { length, stride } = lanes;
		const p = new Float32Array(length);
		const q = new Float32Array(length);
		for (let lane = 0; lane < lanes.count; lane++) {
			const start = lanes.start(lane);
			const kl = laneKl(x, a, start, stride, length, p, q);
			for (let k = 0, j = start; k < length; k++, j += stride) {
				importance[j] = Math.abs(Math.fround((x[j] as number) - (a[j] as number))) * kl;
			}
		}
		const sorted =
			n > SAMPLE_SIZE
				? sampleWithoutReplacement(importance.slice(), SAMPLE_SIZE, context.uniform(ARCEE_FUSION_SAMPLE_STREAM))
				: importance.slice();
		sorted.sort();
		const quantile = (q: number): number => sorted[Math.floor(q * (sorted.length - 1))] as number;
		// Rounded step by step to float32, as mergekit computes the threshold on float32 tensors.
		const f = Math.fround;
		const threshold = f(quantile(0.5) + f(1.5 * f(quantile(0.75) - quantile(0.25))));
		const out = new Float32Array(n);
		for (let j = 0; j < n; j++) {
			const aj = a[j] as number;
			out[j] = (importance[j] as number) >= threshold ? aj + f((x[j] as number) - aj) : aj;
		}
		return { data: out, shape: [...base.shape] };
	},
};

/**
 * KL(p ‖ q) for one lane, with p = softmax(x) + 1e-8 and q = softmax(a) + 1e-8, rounded to float32 as torch computes
 * it: rows of similar models give divergences near 1e-5 that float32 rounding shifts by percents, which decides which
 * elements pass the threshold. So the softmax follows torch's CPU kernel (exp of x − max, ATen's summation order,
 * a multiply by the float32 reciprocal of the sum) and every elementwise step is rounded to float32.
 */
function laneKl(
	x: Float32Array,
	a: Float32Array,
	start: number,
	stride: number,
	length: number,
	p: Float32Array,
	q: Float32Array,
): number {
	softmaxInto(x, start, stride, length, p);
	softmaxInto(a, start, stride, length, q);
	const f = Math.fround;
	const eps = f(SOFTMAX_EPS);
	let kl = 0;
	for (let k = 0; k < length; k++) {
		const pk = f((p[k] as number) + eps);
		const qk = f((q[k] as number) + eps);
		kl += f(pk * f(Math.log(f(pk / qk))));
	}
	return f(kl);
}

/** torch.softmax over one lane in float32, written to out[0, length). */
function softmaxInto(values: Float32Array, start: number, stride: number, length: number, out: Float32Array): void {
	const f = Math.fround;
	let max = Number.NEGATIVE_INFINITY;
	for (let k = 0, j = start; k < length; k++, j += stride) {
		max = Math.max(max, values[j] as number);
	}
	for (let k = 0, j = start; k < length; k++, j += stride) {
		out[k] = Math.exp(f((values[j] as number) - max));
	}
	const inverse = f(1 / atenLaneSum(out, 0, 1, length));
	for (let k = 0; k < length; k++) {
		out[k] = (out[k] as number) * inverse;
	}
}
