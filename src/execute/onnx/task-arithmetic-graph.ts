import { DARE_BLOCK } from "../../methods/kernels/range-kernels.js";
import { RESCALE_MIN_NORM } from "../../methods/kernels/rescale-l1.js";
import { dellaRanks } from "../../methods/kernels/sparsify-della.js";
import { magnitudeKeepCount } from "../../methods/kernels/sparsify-magnitude.js";
import { outlierRanks } from "../../methods/kernels/sparsify-magnitude-outliers.js";
import { dareKeepsAll, dareThreshold } from "../../methods/kernels/sparsify-random.js";
import type { MergeContext, MergeInputs, MergeMethod, MergeResult, ParameterDef } from "../../methods/merge-method.js";
import { readNumber } from "../../methods/read-param.js";
import {
	type TaskArithmeticTraits,
	taskArithmeticOperands,
	taskArithmeticTraits,
	weightDivisor,
} from "../../methods/task-arithmetic.js";
import type { FloatDtype } from "../../safetensors/dtype.js";
import { counterDraw, counterHalfDraw } from "../counter-random.js";
import type { GraphBuilder, Value } from "./graph-builder.js";
import { keepMagnitudeRanks } from "./keep-magnitude-ranks-graph.js";
import type { GraphFeed, GraphRunner, MethodGraph } from "./method-graph.js";
import { resultTensor } from "./result-tensor.js";
import { agreeingVotes } from "./sign-election-graph.js";
import { wideScalar } from "./wide-scalar.js";

/**
 * How one model's task vector is pruned for one tensor. The kinds, and for `ranks` which boundaries exist, shape the
 * graph; the numbers are fed to it.
 * - `none`: kept whole (task_arithmetic, or density 1);
 * - `zero`: zeroed (breadcrumbs' mergekit quirk when no outlier is cut);
 * - `ranks`: descending magnitude ranks [lo, hi) kept (TIES: [0, k); breadcrumbs: [nTop, n − nBot));
 * - `mask`: DARE's random mask, drawn here from the counter-based stream;
 * - `della`: DELLA's per-lane rank-dependent keep probabilities, against draws from the same stream.
 */
type Pruning =
	| { kind: "none" }
	| { kind: "zero" }
	| { kind: "ranks"; lo: number; hi: number; n: number }
	| { kind: "mask"; mask: Uint8Array }
	| { kind: "della"; draws: Uint32Array; lanes: [number, number, number]; start: number; step: number };

/** The part of the graph's structure one model decides. */
function pruningShape(pruning: Pruning, rescale: boolean): string {
	switch (pruning.kind) {
		case "none":
		case "zero":
			return pruning.kind;
		case "ranks":
			return `ranks${pruning.lo > 0 ? "U" : ""}${pruning.hi < pruning.n ? "L" : ""}${rescale ? "R" : ""}`;
		default:
			return `${pruning.kind}${rescale ? "R" : ""}`;
	}
}

/**
 * The task-arithmetic family (task_arithmetic, ties, dare_ties, dare_linear, breadcrumbs, breadcrumbs_ties, della,
 * della_linear) from one description, as task-arithmetic.ts's mergeFamily computes it: each model's task vector
 * δᵢ = round(Xᵢ − B), pruned by the member's sparsification, scaled to uᵢ = round(wᵢ·δᵢ); then either TIES' sign
 * election (the member's `consensus`) or a plain sum; then out = B + λ·m. Every intermediate is rounded where the CPU
 * kernels round it, and float64 steps stay float64 (the builder's wide type), so on the CPU execution provider the
 * result is the CPU backend's, bit for bit.
 */
export const taskArithmeticGraph: MethodGraph = {
	async merge(method, inputs, context, runner) {
		return mergeFamily(method, inputs, context, runner);
	},
};

async function mergeFamily(
	method: MergeMethod,
	inputs: MergeInputs,
	context: MergeContext,
	runner: GraphRunner,
): Promise<MergeResult> {
	const traits = taskArithmeticTraits(method.name);
	if (!traits) {
		throw new Error(`${method.name} is not a task-arithmetic method`);
	}
	const operands = taskArithmeticOperands(method.name, method.parameters, inputs, context);
	if ("done" in operands) {
		return operands.done;
	}
	const { where, base, models, def, normalize, rescale, lambda, round, dtype } = operands;
	const n = base.data.length;
	const weights: number[] = [];
	const prunings = models.map((tensor) => {
		const at = `${where}, model ${tensor.model}`;
		const weight = readNumber(tensor.params, def("weight"), at);
		weights.push(round ? round(weight) : weight);
		return planPruning(traits.sparsification, def, tensor.params, base.shape, n, context, tensor.model, at);
	});
	const divisor = weightDivisor(weights, round);

	const feeds: Record<string, GraphFeed> = {
		base: { type: "float32", data: base.data, dims: [n] },
		divisor: wideScalar(runner, divisor),
		lambda: wideScalar(runner, lambda),
	};
	models.forEach((tensor, i) => {
		feeds[`x${i}`] = { type: "float32", data: tensor.data, dims: [n] };
		feeds[`w${i}`] = wideScalar(runner, weights[i] as number);
		const pruning = prunings[i] as Pruning;
		switch (pruning.kind) {
			case "ranks":
				if (pruning.lo > 0) {
					feeds[`lo${i}`] = { type: "int64", data: BigInt64Array.of(BigInt(pruning.lo)), dims: [1] };
				}
				if (pruning.hi < n) {
					feeds[`hi${i}`] = { type: "int64", data: BigInt64Array.of(BigInt(pruning.hi)), dims: [1] };
				}
				break;
			case "mask":
				feeds[`mask${i}`] = { type: "bool", data: pruning.mask, dims: [n] };
				break;
			case "della":
				feeds[`draws${i}`] = { type: "uint32", data: pruning.draws, dims: [n] };
				feeds[`lanes${i}`] = { type: "int64", data: BigInt64Array.from(pruning.lanes.map(BigInt)), dims: [3] };
				feeds[`start${i}`] = wideScalar(runner, pruning.start);
				feeds[`step${i}`] = wideScalar(runner, pruning.step);
				break;
			default:
				break;
		}
	});
	const shapes = prunings.map((pruning) => pruningShape(pruning, rescale));
	const key = [
		"task-arithmetic",
		traits.consensus ? "consensus" : "sum",
		normalize ? "normalize" : "raw",
		dtype ?? "F32",
		...shapes,
	].join(":");
	const outputs = await runner.run(
		key,
		(g) => buildFamilyGraph(g, { consensus: traits.consensus, normalize, dtype, shapes: prunings, rescale }),
		feeds,
	);
	const kept = models.map((_, i) => Number((outputs[`kept${i}`] as BigInt64Array)[0]));
	const agreed = traits.consensus ? models.map((_, i) => Number((outputs[`agreed${i}`] as BigInt64Array)[0])) : [];
	context.record?.({
		elements: n,
		models: models.map((tensor, i) => ({
			model: tensor.model,
			kept: kept[i] as number,
			...(traits.consensus ? { agreed: agreed[i] as number } : {}),
		})),
	});
	return resultTensor(outputs.out as Float32Array, base.shape, context);
}

/**
 * Reads one model's pruning parameters and checks them with the CPU kernels' own checks (so with their errors and
 * warnings), drawing its random numbers where the member prunes at random.
 */
function planPruning(
	sparsification: TaskArithmeticTraits["sparsification"],
	def: (name: string) => ParameterDef,
	params: MergeInputs["models"][number]["params"],
	shape: readonly number[],
	n: number,
	context: MergeContext,
	model: string,
	at: string,
): Pruning {
	if (sparsification === undefined) {
		return { kind: "none" };
	}
	const density = readNumber(params, def("density"), at);
	if (density >= 1) {
		return { kind: "none" };
	}
	switch (sparsification) {
		case "magnitude":
			return { kind: "ranks", lo: 0, hi: Math.min(n, magnitudeKeepCount(n, density, at)), n };
		case "magnitude_outliers": {
			const ranks = outlierRanks(n, density, readNumber(params, def("gamma"), at));
			if ("warning" in ranks) {
				// mergekit's `[n_bot:-0]` slice keeps nothing.
				context.warn(`${at}: ${ranks.warning}`);
				return { kind: "zero" };
			}
			return { kind: "ranks", ...ranks, n };
		}
		case "random": {
			// As the dare-mask kernel draws it. The draws are made here, in JavaScript, so that they are the CPU
			// kernels' own.
			const [k0, k1] = context.uniform(model).keys;
			const threshold = dareThreshold(density);
			if (dareKeepsAll(threshold)) {
				return { kind: "none" };
			}
			const mask = new Uint8Array(n);
			for (let i = 0; i < n; i++) {
				mask[i] = counterHalfDraw(k0, k1, i) < threshold ? 1 : 0;
			}
			return { kind: "mask", mask };
		}
		case "della_magprune": {
			if (density <= 0) {
				return { kind: "zero" };
			}
			const { lanes, low, offset, step } = dellaRanks(shape, density, readNumber(params, def("epsilon"), at), at);
			const [k0, k1] = context.uniform(model).keys;
			const draws = new Uint32Array(n);
			for (let i = 0; i < n; i++) {
				draws[i] = counterDraw(k0, k1, i);
			}
			const outer = n / (lanes.length * lanes.stride);
			return { kind: "della", draws, lanes: [outer, lanes.length, lanes.stride], start: low + offset, step };
		}
	}
}

interface FamilyShape {
	consensus: boolean;
	normalize: boolean;
	dtype: FloatDtype | undefined;
	shapes: readonly Pruning[];
	rescale: boolean;
}

function buildFamilyGraph(g: GraphBuilder, shape: FamilyShape): void {
	const { dtype } = shape;
	const base = g.input("base", "float", ["n"]);
	const zero = g.constant("float", 0);
	const weights = shape.shapes.map((_, i) => g.input(`w${i}`, g.wide, []));
	const weighted = shape.shapes.map((pruning, i) => {
		const x = g.input(`x${i}`, "float", ["n"]);
		const w = weights[i] as Value;
		// δ = round(x − b): a float32 difference, as the task-vector kernel stores it.
		let delta = g.round(g.sub(x, base), dtype);
		delta = prune(g, delta, pruning, shape.rescale, i);
		g.output(`kept${i}`, g.count(g.not(g.equal(delta, zero))), []);
		// u = round(w·δ), the product in float64 (w is a float64 number) stored as float32.
		return g.round(g.cast(g.mul(g.cast(delta, g.wide), w), "float"), dtype);
	});
	const lambda = g.input("lambda", g.wide, []);
	const divisorInput = g.input("divisor", g.wide, []);
	const wideZero = g.wideConstant(0);
	const wideOne = g.wideConstant(1);
	let out: Value;
	if (shape.consensus) {
		const agreeing = agreeingVotes(g, weighted, zero);
		let numerator = zero;
		let divisor = zero;
		weighted.forEach((u, i) => {
			const agrees = agreeing[i] as Value;
			g.output(`agreed${i}`, g.count(agrees), []);
			numerator = g.add(numerator, g.where(agrees, u, zero));
			// The divisor adds float64 weights to a float32 running sum, stored as float32 at every step.
			const w = weights[i] as Value;
			divisor = g.cast(g.add(g.cast(divisor, g.wide), g.where(agrees, w, wideZero)), "float");
		});
		if (dtype === undefined) {
			// Float32 merges: the mix stays float64 until the final store.
			let m = g.cast(numerator, g.wide);
			if (shape.normalize) {
				const z = g.cast(divisor, g.wide);
				m = g.div(m, g.where(g.equal(z, wideZero), wideOne, z));
			}
			out = g.cast(g.add(g.cast(base, g.wide), g.mul(m, lambda)), "float");
		} else {
			let m = g.round(numerator, dtype);
			if (shape.normalize) {
				const z = g.round(divisor, dtype);
				const safe = g.where(g.equal(z, zero), g.constant("float", 1), z);
				m = g.round(g.cast(g.div(g.cast(m, g.wide), g.cast(safe, g.wide)), "float"), dtype);
			}
			m = g.round(g.cast(g.mul(g.cast(m, g.wide), lambda), "float"), dtype);
			out = g.add(base, m);
		}
	} else {
		// The plain sum from +0 in recipe order, as taskFinish adds it: in float64 in float32 merges, else in float32.
		if (dtype === undefined) {
			let m = wideZero;
			for (const u of weighted) {
				m = g.add(m, g.cast(u, g.wide));
			}
			if (shape.normalize) {
				m = g.div(m, divisorInput);
			}
			out = g.cast(g.add(g.cast(base, g.wide), g.mul(m, lambda)), "float");
		} else {
			let mixed = zero;
			for (const u of weighted) {
				mixed = g.add(mixed, u);
			}
			let m = g.round(mixed, dtype);
			if (shape.normalize) {
				m = g.round(g.cast(g.div(g.cast(m, g.wide), divisorInput), "float"), dtype);
			}
			m = g.round(g.cast(g.mul(g.cast(m, g.wide), lambda), "float"), dtype);
			out = g.add(base, m);
		}
	}
	g.output("out", out, ["n"]);
}

/** Applies one model's pruning to its task vector δ (float32, shape [n]), and the L1 rescale where asked. */
function prune(g: GraphBuilder, delta: Value, pruning: Pruning, rescale: boolean, i: number): Value {
	let keep: Value | undefined;
	switch (pruning.kind) {
		case "none":
			return delta;
		case "zero":
			return g.zerosLike(delta);
		case "della":
			return dellaPrune(g, delta, rescale, i);
		case "ranks": {
			const lo = pruning.lo > 0 ? g.input(`lo${i}`, "int64", [1]) : undefined;
			const hi = pruning.hi < pruning.n ? g.input(`hi${i}`, "int64", [1]) : undefined;
			keep = keepMagnitudeRanks(g, g.abs(delta), lo, hi);
			if (!keep) {
				return delta;
			}
			break;
		}
		case "mask":
			keep = g.input(`mask${i}`, "bool", ["n"]);
			break;
	}
	const pruned = g.where(keep, delta, g.constant("float", 0));
	if (!rescale) {
		return pruned;
	}
	// The float64 L1 norms add in the CPU kernels' order: DARE's block by block (sparsifyRandom), magnitude pruning's
	// element after element (rescaleL1).
	const block = pruning.kind === "mask" ? DARE_BLOCK : undefined;
	return rescaleL1(g, pruned, g.sum(g.cast(g.abs(delta), g.wide), block), g.sum(g.cast(g.abs(pruned), g.wide), block));
}

/**
 * Scales a pruned task vector back to the L1 norm it had (before/after, rounded to float32 as rescaleRatio rounds it),
 * unless either norm is tiny.
 */
function rescaleL1(g: GraphBuilder, pruned: Value, before: Value, after: Value): Value {
	const tiny = g.wideConstant(RESCALE_MIN_NORM);
	const factor = g.where(g.or(g.less(before, tiny), g.less(after, tiny)), g.wideConstant(1), g.div(before, after));
	return g.mul(pruned, g.cast(factor, "float"));
}

/**
 * DELLA's MAGPRUNE, as sparsifyDella: the tensor seen as [outer, length, stride], lanes along the middle axis;
 * within each lane elements are ranked by ascending |δ|, equal magnitudes by position (TopK's tie order), and rank r
 * survives iff its draw u < start + r·step, in float64. The rescale's norms add each lane in rank order, then the lanes
 * in order, as the della-lanes kernel adds them.
 */
function dellaPrune(g: GraphBuilder, delta: Value, rescale: boolean, i: number): Value {
	const lanes = g.input(`lanes${i}`, "int64", [3]);
	const draws = g.input(`draws${i}`, "uint32", ["n"]);
	const start = g.input(`start${i}`, g.wide, []);
	const step = g.input(`step${i}`, g.wide, []);
	const sorted = g.topK(g.abs(g.reshape(delta, lanes)), g.element(lanes, 1, true), 1, false);
	// Everything in rank order first: each rank's draw and its keep probability.
	const u = g.mul(
		g.cast(g.gatherElements(g.reshape(draws, lanes), sorted.indices, 1), g.wide),
		g.wideConstant(2 ** -32),
	);
	const rank = g.reshape(g.range(g.element(lanes, 1)), g.constant("int64", [1, -1, 1], [3]));
	const keepRanked = g.less(u, g.add(start, g.mul(g.cast(rank, g.wide), step)));
	// Back to positions: every position receives exactly one rank's answer, so the ranked mask serves as the data.
	const keep = g.scatterElements(keepRanked, sorted.indices, keepRanked, 1);
	const pruned = g.where(g.reshape(keep, g.constant("int64", [-1], [1])), delta, g.constant("float", 0));
	if (!rescale) {
		return pruned;
	}
	const magnitudes = g.cast(sorted.values, g.wide);
	const kept = g.where(keepRanked, magnitudes, g.wideConstant(0));
	return rescaleL1(g, pruned, g.laneSum(magnitudes), g.laneSum(kept));
}
