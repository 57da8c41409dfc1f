import type { WasmFunction, WasmType } from "../../../engine/wasm/assemble-wasm.js";
import type { RangeArray } from "../range-kernels.js";
import {
	divideLanesBy,
	f32Address,
	highToLow,
	JOIN_LOW,
	laneLoop,
	loadLanes,
	RESULT_LOOP_LOCALS,
	ROUND_LOCALS,
	ROUND_SETUP,
	resultLoop,
	resultVariant,
} from "./lane-text.js";
import {
	laneTotal,
	type ResultArray,
	readAt,
	SIMD_BLOCK,
	type SimdModule,
	simdModule,
	slot,
	valuesAt,
	writeAt,
	writeBack,
} from "./simd-kernels.js";

/**
 * SCE's passes and the sign election with unit votes, for one to three task vectors, bit-identical to their
 * JavaScript kernels in range-kernels.ts (sceVariance, sceSelect, sceCombine, signElection) run one after another:
 * float64 arithmetic two lanes at a time where they compute in float64, float32 four lanes at a time where they
 * compute in float32. SCE's stored-vector passes, which run only without SIMD or with more than three models, have
 * no SIMD kernel.
 */

/** The highest number of task vectors these kernels take; more run in JavaScript. */
export const SCE_SIMD_MAX = 3;

/** The least divisor of SCE's finish: mergekit's clamp(min=1e-6) on a float32 tensor. */
export const SCE_DIVISOR_FLOOR = Math.fround(1e-6);

const indices = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

/** Pushes the float64 values of lanes 0–1 (`high` false) or 2–3 of the float32 lanes in local `v`. */
const promoted = (v: string, high: boolean): string =>
	`${high ? highToLow(v) : `local.get $${v}`} f64x2.promote_low_f32x4`;

/** Pushes the float32 lanes of the float64 halves in locals `lo` and `hi`, joined. */
const demoted = (lo: string, hi: string): string =>
	`local.get $${lo} f32x4.demote_f64x2_zero local.get $${hi} f32x4.demote_f64x2_zero ${JOIN_LOW}`;

/**
 * The population variance across the vectors in float64 (mean from +0, then the squared deviations from +0, each
 * over count) of the task vectors made from the models and the base (see madeLanes), stored as float32; counts the
 * nonzero variances per lane at `counts`: `sce_variance_made_<count>_<bf16|f32>(variance, b, x₀…, n, counts)`. Two
 * vectors take a float32 shortcut (see twoVectorVariance) wherever it gives the same bits.
 */
function sceVarianceMadeWasm(count: number, bf16: boolean): WasmFunction {
	const half = (high: boolean): string => `
		f64.const 0 f64x2.splat
		${indices(count)
			.map((i) => `${promoted(`x${i}`, high)} f64x2.add`)
			.join(" ")}
		${divideLanesBy(count, "count")} local.set $mean
		f64.const 0 f64x2.splat
		${indices(count)
			.map((i) => `${promoted(`x${i}`, high)} local.get $mean f64x2.sub local.tee $d local.get $d f64x2.mul f64x2.add`)
			.join(" ")}
		${divideLanesBy(count, "count")} local.set $${high ? "hi" : "lo"}`;
	const wide = `${half(false)} ${half(true)} ${demoted("lo", "hi")}`;
	return {
		name: madeName("sce_variance_made", count, bf16),
		params: [["variance", "i32"], ...madeParams(count), ["n", "i32"], ["counts", "i32"]],
		locals: [
			["j", "i32"],
			["mean", "v128"],
			["d", "v128"],
			["lo", "v128"],
			["hi", "v128"],
			["v", "v128"],
			["count", "v128"],
			["nonzero", "v128"],
			["difference", "v128"],
			["back", "v128"],
			...madeLocals(count),
		],
		body: `
		f64.const ${count} f64x2.splat local.set $count
		${laneLoop(`
			${madeLanes(count, bf16, false)}
			${count === 2 ? twoVectorVariance(wide) : `${wide} local.set $v`}
			${f32Address("variance", "j")} local.get $v v128.store
			local.get $nonzero local.get $v f32.const 0 f32x4.splat f32x4.ne i32x4.sub local.set $nonzero`)}
		local.get $counts local.get $nonzero v128.store
		`,
	};
}

/**
 * Sets local `v` to the variance of two vectors x₀, x₁ in float32, ((x₀ − x₁)·(x₀ − x₁))·0.25, where it equals the
 * float64 variance rounded to float32 in every lane of the step, else to the float64 one that `wide` pushes. It does
 * where d = x₀ − x₁ is exact in float32 (TwoSum's error is 0, which also rules out infinities and NaN): x₀ + x₁ then
 * fits float64's 53 bits, so the float64 mean and deviations ±d/2 are exact, and so is their square, which has at most
 * 48 bits; float32's d·d is that square correctly rounded, and the product by 0.25 exact as long as it stays normal
 * and finite (2⁻⁶² ≤ |d| < 2⁶³, or d = 0).
 */
function twoVectorVariance(wide: string): string {
	return `
		local.get $x0 local.get $x1 f32x4.sub local.tee $difference
		local.get $x1 f32x4.add local.set $back
		local.get $x0 local.get $back f32x4.sub
		local.get $x1 f32x4.neg local.get $difference local.get $back f32x4.sub f32x4.sub
		f32x4.add f32.const 0 f32x4.splat f32x4.ne
		local.get $difference f32x4.abs f32.const ${2 ** 63} f32x4.splat f32x4.ge v128.or
		local.get $difference f32x4.abs f32.const ${2 ** -62} f32x4.splat f32x4.lt
		local.get $difference f32.const 0 f32x4.splat f32x4.ne v128.and v128.or
		v128.any_true
		if
			${wide} local.set $v
		else
			local.get $difference local.get $difference f32x4.mul f32.const 0.25 f32x4.splat f32x4.mul local.set $v
		end`;
}

/**
 * The sign election with votes of scale 1 (see signElection) over the four lanes of the vectors in locals x₀…: the
 * vote in float32 from +0, − elected where it is negative or NaN; xᵢ agrees where it is nonzero, not NaN and of the
 * elected sign. Leaves numerator = Σ (aᵢ·sᵢ)·xᵢ in locals numLo and numHi and divisor = Σ aᵢ·tᵢ in divLo and divHi
 * (float64 lanes), each term added in float64 and rounded to float32 as it is added, and adds each vector's agreeing
 * lanes to local counted<i>. Needs ELECTION_LOCALS and ELECTION_SETUP.
 */
function electionStep(count: number): string {
	const addTerm = (target: string, term: string): string => `
		local.get $${target} ${term} f64x2.add f32x4.demote_f64x2_zero f64x2.promote_low_f32x4 local.set $${target}`;
	const model = (i: number): string => `
		${agreement(i)} local.tee $agree
		local.get $counted${i} local.get $agree i32x4.sub local.set $counted${i}
		i32.const 1 i32x4.splat v128.and local.set $agree
		local.get $agree f64x2.convert_low_i32x4_u local.set $aLo
		local.get $agree local.get $agree i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15
		f64x2.convert_low_i32x4_u local.set $aHi
		${addTerm("numLo", `local.get $aLo local.get $s${i} f64x2.mul ${promoted(`x${i}`, false)} f64x2.mul`)}
		${addTerm("numHi", `local.get $aHi local.get $s${i} f64x2.mul ${promoted(`x${i}`, true)} f64x2.mul`)}
		${addTerm("divLo", `local.get $aLo local.get $t${i} f64x2.mul`)}
		${addTerm("divHi", `local.get $aHi local.get $t${i} f64x2.mul`)}`;
	return `
		${electedSign(count)}
		f64.const 0 f64x2.splat local.tee $numLo local.tee $numHi local.tee $divLo local.set $divHi
		${indices(count).map(model).join("\n")}`;
}

/**
 * The elected sign of the four lanes of the vectors in locals x₀…, into local `negative` (all bits set where −): the
 * float32 votes summed from +0, − where the sum is negative or NaN. Needs SIGN_LOCALS and ELECTION_SETUP, as
 * agreement does.
 */
function electedSign(count: number): string {
	return `
		f32.const 0 f32x4.splat local.set $vote
		${indices(count)
			.map((i) => `local.get $x${i} local.get $vote f32x4.add local.set $vote`)
			.join("\n")}
		local.get $vote local.get $magnitude v128.and local.get $inf i32x4.gt_s
		local.get $vote i32.const 31 i32x4.shr_s v128.or local.set $negative`;
}

/** Pushes the lanes where x<i> agrees with the elected sign (all bits set): nonzero, not NaN, of the elected sign. */
function agreement(i: number): string {
	return `
		local.get $x${i} local.get $magnitude v128.and local.tee $m
		i32.const 0 i32x4.splat i32x4.ne
		local.get $m local.get $inf i32x4.gt_s v128.not v128.and
		local.get $x${i} i32.const 31 i32x4.shr_s local.get $negative v128.xor v128.not v128.and`;
}

/** The locals electedSign and agreement use besides the vectors x₀…; ELECTION_SETUP fills magnitude and inf. */
const SIGN_LOCALS: readonly (readonly [string, WasmType])[] = [
	["vote", "v128"],
	["negative", "v128"],
	["m", "v128"],
	["magnitude", "v128"],
	["inf", "v128"],
];

/** The locals electionStep uses besides the vectors x₀… and their scales and weights. */
const ELECTION_LOCALS: readonly (readonly [string, WasmType])[] = [
	...SIGN_LOCALS,
	["agree", "v128"],
	["aLo", "v128"],
	["aHi", "v128"],
	["numLo", "v128"],
	["numHi", "v128"],
	["divLo", "v128"],
	["divHi", "v128"],
];

const ELECTION_SETUP = `
	i32.const 0x7fffffff i32x4.splat local.set $magnitude
	i32.const 0x7f800000 i32x4.splat local.set $inf`;

/**
 * The sign election with unit votes (see electionStep) over stored vectors; agreeing elements are counted per lane at
 * `counts` [vector 0 lanes 0–3, …]: `sign_election_<count>(numerator, divisor, x₀…, n, counts, s₀…, t₀…)`.
 */
function signElectionWasm(count: number): WasmFunction {
	return {
		name: `sign_election_${count}`,
		params: [
			["numerator", "i32"],
			["divisor", "i32"],
			...indices(count).map((i) => [`p${i}`, "i32"] as const),
			["n", "i32"],
			["counts", "i32"],
			...indices(count).map((i) => [`scale${i}`, "f64"] as const),
			...indices(count).map((i) => [`weight${i}`, "f64"] as const),
		],
		locals: [
			["j", "i32"],
			...ELECTION_LOCALS,
			...indices(count).flatMap((i) => [
				[`x${i}`, "v128"] as const,
				[`s${i}`, "v128"] as const,
				[`t${i}`, "v128"] as const,
				[`counted${i}`, "v128"] as const,
			]),
		],
		body: `
		${ELECTION_SETUP}
		${indices(count)
			.map(
				(i) => `local.get $scale${i} f64x2.splat local.set $s${i} local.get $weight${i} f64x2.splat local.set $t${i}`,
			)
			.join("\n")}
		${laneLoop(`
			${indices(count)
				.map((i) => `${loadLanes(`p${i}`, "j", false)} local.set $x${i}`)
				.join("\n")}
			${electionStep(count)}
			${f32Address("numerator", "j")} ${demoted("numLo", "numHi")} v128.store
			${f32Address("divisor", "j")} ${demoted("divLo", "divHi")} v128.store`)}
		${indices(count)
			.map((i) => `local.get $counts local.get $counted${i} v128.store offset=${16 * i}`)
			.join("\n")}
		`,
	};
}

/*
 * SCE's passes over task vectors made as they are read: δᵢ = xᵢ − b in float32 (unrounded, as task-vector makes
 * SCE's), from the models and the base as stored (all bfloat16 bits, or all float32 values), and zeroed outside the
 * selected ranks of the variance (see VarianceCut), which need not be zeroed in a pass of its own. Each is
 * bit-identical to the JavaScript kernels run over stored task vectors, after keep-magnitude-ranks and sce-select.
 */

const madeName = (name: string, count: number, bf16: boolean): string => `${name}_${count}_${bf16 ? "bf16" : "f32"}`;

/** The parameters x₀… and b of a made kernel, and its locals for the task vectors. */
const madeParams = (count: number): [string, WasmType][] => [
	["b", "i32"],
	...indices(count).map((i): [string, WasmType] => [`p${i}`, "i32"]),
];
const madeLocals = (count: number): [string, WasmType][] => [
	["bv", "v128"],
	...indices(count).map((i): [string, WasmType] => [`x${i}`, "v128"]),
];

/**
 * The parameters of a selection by rank cut (see SELECTION_LOCALS): the variances' address, the magnitude bits of the
 * lowest rank kept and the index before which its ties are kept (−1 and any address: every element kept), and the
 * index of the first element.
 */
const SELECTION_PARAMS: readonly [string, WasmType][] = [
	["variance", "i32"],
	["lowerBits", "i32"],
	["lowerCut", "i32"],
	["first", "i32"],
];

/** The locals of a selection by rank cut, which SELECTION_SETUP fills; it also reads local `magnitude` (0x7fffffff). */
const SELECTION_LOCALS: readonly [string, WasmType][] = [
	["keep", "v128"],
	["index", "v128"],
	["lowerBitsLanes", "v128"],
	["lowerCutLanes", "v128"],
];

const SELECTION_SETUP = `
	local.get $lowerBits i32x4.splat local.set $lowerBitsLanes
	local.get $lowerCut i32x4.splat local.set $lowerCutLanes
	local.get $first i32x4.splat v128.const i32x4 0 1 2 3 i32x4.add local.set $index`;

/**
 * Makes the task vectors of the four lanes at j into locals x₀…; with `select`, zeroed where the variance ranks below
 * the cut: its magnitude under the lowest kept one, or equal to it at an index from lowerCut on.
 */
function madeLanes(count: number, bf16: boolean, select: boolean, at = "j"): string {
	const keep = `
		${loadLanes("variance", at, false)} local.get $magnitude v128.and local.tee $keep
		local.get $lowerBitsLanes i32x4.gt_s
		local.get $keep local.get $lowerBitsLanes i32x4.eq
		local.get $index local.get $lowerCutLanes i32x4.lt_s v128.and
		v128.or local.set $keep
		local.get $index i32.const 4 i32x4.splat i32x4.add local.set $index`;
	return `
		${loadLanes("b", at, bf16)} local.set $bv
		${select ? keep : ""}
		${indices(count)
			.map(
				(i) =>
					`${loadLanes(`p${i}`, at, bf16)} local.get $bv f32x4.sub ${select ? "local.get $keep v128.and" : ""} local.set $x${i}`,
			)
			.join("\n")}`;
}

/**
 * Each made task vector's ‖δᵢ‖², per lane in float64, added to the lane sums at `sums` [vector 0 lanes 0–3, …], which
 * carry over from call to call: `sce_energies_made_<count>_<bf16|f32>(sums, b, x₀…, variance, lowerBits, lowerCut, first, n)`.
 */
function sceEnergiesMadeWasm(count: number, bf16: boolean): WasmFunction {
	const sums = indices(count).flatMap((i) => [`e${i}Lo`, `e${i}Hi`]);
	return {
		name: madeName("sce_energies_made", count, bf16),
		params: [["sums", "i32"], ...madeParams(count), ...SELECTION_PARAMS, ["n", "i32"]],
		locals: [
			["j", "i32"],
			...SELECTION_LOCALS,
			["magnitude", "v128"],
			["d", "v128"],
			...madeLocals(count),
			...sums.map((name): [string, WasmType] => [name, "v128"]),
		],
		body: `
		i32.const 0x7fffffff i32x4.splat local.set $magnitude
		${SELECTION_SETUP}
		${sums.map((name, i) => `local.get $sums v128.load offset=${16 * i} local.set $${name}`).join("\n")}
		${laneLoop(`
			${madeLanes(count, bf16, true)}
			${indices(count)
				.map(
					(i) => `
			${promoted(`x${i}`, false)} local.tee $d local.get $d f64x2.mul local.get $e${i}Lo f64x2.add local.set $e${i}Lo
			${promoted(`x${i}`, true)} local.tee $d local.get $d f64x2.mul local.get $e${i}Hi f64x2.add local.set $e${i}Hi`,
				)
				.join("\n")}`)}
		${sums.map((name, i) => `local.get $sums local.get $${name} v128.store offset=${16 * i}`).join("\n")}
		`,
	};
}

/**
 * Pushes, lane by lane, the value of locals `<table>0`… that the lane's pattern picks: bit i of the pattern is set where
 * the lane of mask local `<masks>i` is (all its bits set), chosen model by model. Where a value depends only on which
 * models agree, a table of 2^count values in locals replaces summing it per lane.
 */
function patternValue(count: number, table: string, masks: string, model = 0, pattern = 0): string {
	if (model === count) {
		return `local.get $${table}${pattern}`;
	}
	return `${patternValue(count, table, masks, model + 1, pattern | (1 << model))}
		${patternValue(count, table, masks, model + 1, pattern)}
		local.get $${masks}${model} v128.bitselect`;
}

/**
 * SCE's combination of the made task vectors, in float32 as sce-combine computes it: the elected sign, each agreeing
 * vector's term xᵢ·wᵢ (a disagreeing one's xᵢ·0) added from +0, and out = b + numerator / divisor, stored as float32
 * values or bfloat16 bits. The divisor takes one of 2^count values, by which vectors agree: they are read from
 * `divisors` (see divisorTable) instead of summed. `sce_combine_made_<count>_<bf16|f32>[_to_bf16](out, b, x₀…,
 * variance, lowerBits, lowerCut, first, n, divisors, w₀…)`.
 */
function sceCombineMadeWasm(count: number, bf16: boolean, bf16Out: boolean): WasmFunction {
	const patterns = 1 << count;
	const term = (i: number): string => `
		${agreement(i)} local.tee $agreed${i}
		local.get $w${i} v128.and local.get $x${i} f32x4.mul local.get $numerator f32x4.add local.set $numerator`;
	return {
		name: resultVariant(madeName("sce_combine_made", count, bf16), bf16Out),
		params: [
			["out", "i32"],
			...madeParams(count),
			...SELECTION_PARAMS,
			["n", "i32"],
			["divisors", "i32"],
			...indices(count).map((i): [string, WasmType] => [`weight${i}`, "f32"]),
		],
		locals: [
			["j", "i32"],
			...SIGN_LOCALS,
			["numerator", "v128"],
			...SELECTION_LOCALS,
			...madeLocals(count),
			...indices(count).flatMap((i): [string, WasmType][] => [
				[`w${i}`, "v128"],
				[`agreed${i}`, "v128"],
			]),
			...indices(patterns).map((p): [string, WasmType] => [`t${p}`, "v128"]),
			...ROUND_LOCALS,
			...RESULT_LOOP_LOCALS,
		],
		body: `
		${ROUND_SETUP}
		${ELECTION_SETUP}
		${SELECTION_SETUP}
		${indices(count)
			.map((i) => `local.get $weight${i} f32x4.splat local.set $w${i}`)
			.join("\n")}
		${indices(patterns)
			.map((p) => `local.get $divisors f32.load offset=${4 * p} f32x4.splat local.set $t${p}`)
			.join("\n")}
		${resultLoop(
			"out",
			bf16Out,
			(index) => `
			${madeLanes(count, bf16, true, index)}
			${electedSign(count)}
			f32.const 0 f32x4.splat local.set $numerator
			${indices(count).map(term).join("\n")}
			local.get $bv local.get $numerator ${patternValue(count, "t", "agreed")} f32x4.div f32x4.add`,
		)}
		`,
	};
}

export function sceFunctions(): WasmFunction[] {
	const counts = indices(SCE_SIMD_MAX).map((i) => i + 1);
	return [
		...counts.map(signElectionWasm),
		...counts.flatMap((count) =>
			[true, false].flatMap((bf16) => [
				sceVarianceMadeWasm(count, bf16),
				sceEnergiesMadeWasm(count, bf16),
				sceCombineMadeWasm(count, bf16, false),
				sceCombineMadeWasm(count, bf16, true),
			]),
		),
	];
}

/**
 * The sign election with unit votes over [start, end) for one to three vectors; returns each vector's count of
 * agreeing elements.
 */
export function signElectionSimd(
	numerator: Float32Array,
	divisor: Float32Array,
	vectors: readonly Float32Array[],
	scales: readonly number[],
	weights: readonly number[],
	start: number,
	end: number,
): number[] {
	const module = simdModule();
	const count = vectors.length;
	const kernel = module.exports[`sign_election_${count}`] as (...args: number[]) => void;
	const numeratorSlot = count;
	const divisorSlot = count + 1;
	const countsSlot = count + 2;
	const agreed = vectors.map(() => 0);
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const pointers = vectors.map((vector, i) => readAt(module, vector, from, n, i));
		const numeratorAt = writeAt(numerator, from, n, numeratorSlot);
		const divisorAt = writeAt(divisor, from, n, divisorSlot);
		kernel(numeratorAt, divisorAt, ...pointers, n, slot(countsSlot), ...scales, ...weights);
		writeBack(module, numeratorAt, numeratorSlot, numerator, from, n);
		writeBack(module, divisorAt, divisorSlot, divisor, from, n);
		const counts = module.i32.subarray(slot(countsSlot) / 4);
		for (let i = 0; i < count; i++) {
			agreed[i] = (agreed[i] as number) + laneTotal(counts, i);
		}
	}
	return agreed;
}

/** The made kernels' inputs for [from, from + n): all bfloat16 bits read as they are, else all float32 values. */
function madeInputs(
	module: SimdModule,
	b: RangeArray,
	xs: readonly RangeArray[],
	from: number,
	n: number,
): { bf16: boolean; pointers: number[] } {
	const bf16 = b instanceof Uint16Array && xs.every((x) => x instanceof Uint16Array);
	// Slot 9 holds a bfloat16 copy while it is decoded.
	const at = (array: RangeArray, index: number): number =>
		bf16 ? readAt(module, array, from, n, index) : valuesAt(module, array, from, n, index, 9);
	return { bf16, pointers: [at(b, 0), ...xs.map((x, i) => at(x, 1 + i))] };
}

/** Slots of the made kernels besides madeInputs' 0–3 and 9: the variance's copy, the result, the lane sums. */
const [VARIANCE_SLOT, OUT_SLOT, SUMS_SLOT] = [4, 5, 6];

/**
 * SCE's selection: the variances, and the cut that keeps ranks [0, k) of them in descending order (see rankCut): the
 * magnitude bits of rank k − 1 and the index before which the ones equal to it are kept.
 */
export interface VarianceCut {
	variance: Float32Array;
	lowerBits: number;
	lowerCut: number;
}

/** SELECTION_PARAMS for elements [from, from + n): `cut`'s, or where none, every element kept. */
function selection(module: SimdModule, cut: VarianceCut | undefined, from: number, n: number): number[] {
	return cut
		? [readAt(module, cut.variance, from, n, VARIANCE_SLOT), cut.lowerBits, cut.lowerCut, from]
		: [slot(VARIANCE_SLOT), -1, 0, from];
}

/**
 * What sce_combine_made's divisor is for each pattern of agreeing task vectors (bit i: δᵢ agrees): Σ aᵢ·wᵢ added in
 * float32 from +0, then at least SCE_DIVISOR_FLOOR, as sce-combine takes it.
 */
function divisorTable(weights: readonly number[]): number[] {
	return Array.from({ length: 1 << weights.length }, (_, pattern) => {
		let divisor = 0;
		weights.forEach((weight, i) => {
			divisor = Math.fround(divisor + ((pattern >> i) & 1 ? weight : 0));
		});
		return Math.max(divisor, SCE_DIVISOR_FLOOR);
	});
}

/** sce-variance of the task vectors δᵢ = xᵢ − b over [start, end), made as read; returns how many are nonzero. */
export function sceVarianceMade(
	variance: Float32Array,
	xs: readonly RangeArray[],
	b: RangeArray,
	start: number,
	end: number,
): number {
	const module = simdModule();
	let nonzero = 0;
	// The zeros that pad a copied block's last step have a variance of +0, which is not counted.
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const { bf16, pointers } = madeInputs(module, b, xs, from, n);
		const kernel = module.exports[madeName("sce_variance_made", xs.length, bf16)] as (...args: number[]) => void;
		const target = writeAt(variance, from, n, OUT_SLOT);
		kernel(target, ...pointers, n, slot(SUMS_SLOT));
		writeBack(module, target, OUT_SLOT, variance, from, n);
		nonzero += laneTotal(module.i32.subarray(slot(SUMS_SLOT) / 4), 0);
	}
	return nonzero;
}

/**
 * Each made task vector's ‖δᵢ‖² over [from, to), within one PAIR_BLOCK, after the selection by `cut` where given:
 * four float64 lane sums, added in lane order at the end (as pair-sums sums ‖a‖²).
 */
export function sceEnergiesMade(
	xs: readonly RangeArray[],
	b: RangeArray,
	cut: VarianceCut | undefined,
	from: number,
	to: number,
): number[] {
	const module = simdModule();
	const sums = slot(SUMS_SLOT);
	module.f64.fill(0, sums / 8, sums / 8 + 4 * xs.length);
	for (let at = from; at < to; at += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, to - at);
		const { bf16, pointers } = madeInputs(module, b, xs, at, n);
		const kernel = module.exports[madeName("sce_energies_made", xs.length, bf16)] as (...args: number[]) => void;
		kernel(sums, ...pointers, ...selection(module, cut, at, n), n);
	}
	return xs.map((_, i) => laneTotal(module.f64.subarray(sums / 8), i));
}

/**
 * SCE's combination of the made task vectors over [start, end): the selection by `cut` where given, then sce-combine
 * with the (float32) weights, into `out` (bfloat16 bits or float32 values).
 */
export function sceCombineMade(
	out: ResultArray,
	b: RangeArray,
	xs: readonly RangeArray[],
	cut: VarianceCut | undefined,
	weights: readonly number[],
	start: number,
	end: number,
): void {
	const module = simdModule();
	const divisors = slot(SUMS_SLOT);
	module.f32.set(divisorTable(weights), divisors / 4);
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const { bf16, pointers } = madeInputs(module, b, xs, from, n);
		const name = resultVariant(madeName("sce_combine_made", xs.length, bf16), out instanceof Uint16Array);
		const kernel = module.exports[name] as (...args: number[]) => void;
		const target = writeAt(out, from, n, OUT_SLOT);
		kernel(target, ...pointers, ...selection(module, cut, from, n), n, divisors, ...weights);
		writeBack(module, target, OUT_SLOT, out, from, n);
	}
}
