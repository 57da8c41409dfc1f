import type { WasmFunction } from "../../../engine/wasm/assemble-wasm.js";
import type { RangeArray } from "../range-kernels.js";
import {
	divideLanesBy,
	f32Address,
	highToLow,
	JOIN_LOW,
	laneLoop,
	loadLanes,
	ROUND_LOCALS,
	ROUND_SETUP,
	resultVariant,
	storeResult,
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
import { taskVectorBlock } from "./task-arithmetic-simd.js";

/**
 * SCE's per-element kernels and the sign election with unit votes, for one to three task vectors, bit-identical to
 * their JavaScript kernels in range-kernels.ts (sceVariance, sceSelect, sceFinish, signElection): float64 arithmetic
 * two lanes at a time where they compute in float64, rounded to float32 wherever they store or round.
 */

/** The highest number of task vectors these kernels take; more run in JavaScript. */
export const SCE_SIMD_MAX = 3;

const indices = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

/** Pushes the float64 values of lanes 0–1 (`high` false) or 2–3 of the float32 lanes in local `v`. */
const promoted = (v: string, high: boolean): string =>
	`${high ? highToLow(v) : `local.get $${v}`} f64x2.promote_low_f32x4`;

/** Pushes the float32 lanes of the float64 halves in locals `lo` and `hi`, joined. */
const demoted = (lo: string, hi: string): string =>
	`local.get $${lo} f32x4.demote_f64x2_zero local.get $${hi} f32x4.demote_f64x2_zero ${JOIN_LOW}`;

/**
 * The population variance across the vectors in float64 (mean from +0, then the squared deviations from +0, each
 * over count), stored as float32; counts the nonzero variances per lane at `counts`:
 * `sce_variance_<count>(variance, x₀…, n, counts)`.
 */
function sceVarianceWasm(count: number): WasmFunction {
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
	return {
		name: `sce_variance_${count}`,
		params: [
			["variance", "i32"],
			...indices(count).map((i) => [`p${i}`, "i32"] as const),
			["n", "i32"],
			["counts", "i32"],
		],
		locals: [
			["j", "i32"],
			["mean", "v128"],
			["d", "v128"],
			["lo", "v128"],
			["hi", "v128"],
			["v", "v128"],
			["count", "v128"],
			["nonzero", "v128"],
			...indices(count).map((i) => [`x${i}`, "v128"] as const),
		],
		body: `
		f64.const ${count} f64x2.splat local.set $count
		${laneLoop(`
			${indices(count)
				.map((i) => `${loadLanes(`p${i}`, "j", false)} local.set $x${i}`)
				.join("\n")}
			${half(false)}
			${half(true)}
			${f32Address("variance", "j")} ${demoted("lo", "hi")} local.tee $v v128.store
			local.get $nonzero local.get $v f32.const 0 f32x4.splat f32x4.ne i32x4.sub local.set $nonzero`)}
		local.get $counts local.get $nonzero v128.store
		`,
	};
}

/** Every vector zeroed where the variance is 0 (NaN is not): `sce_select_<count>(variance, x₀…, n)`. */
function sceSelectWasm(count: number): WasmFunction {
	return {
		name: `sce_select_${count}`,
		params: [["variance", "i32"], ...indices(count).map((i) => [`p${i}`, "i32"] as const), ["n", "i32"]],
		locals: [
			["j", "i32"],
			["keep", "v128"],
		],
		body: laneLoop(`
			${loadLanes("variance", "j", false)} f32.const 0 f32x4.splat f32x4.ne local.set $keep
			${indices(count)
				.map((i) => `${f32Address(`p${i}`, "j")} ${loadLanes(`p${i}`, "j", false)} local.get $keep v128.and v128.store`)
				.join("\n")}`),
	};
}

/**
 * out = b + numerator / max(divisor, 1e-6) in float64, stored as float32 values (`out` may be the numerator) or as
 * bfloat16 bits: `sce_finish[_to_bf16](numerator, b, divisor, out, n)`.
 */
function sceFinishWasm(bf16Out: boolean): WasmFunction {
	const half = (high: boolean): string => `
		${promoted("b", high)}
		${promoted("num", high)} ${promoted("div", high)} local.get $floor f64x2.max f64x2.div
		f64x2.add local.set $${high ? "hi" : "lo"}`;
	return {
		name: resultVariant("sce_finish", bf16Out),
		params: [
			["numerator", "i32"],
			["base", "i32"],
			["divisor", "i32"],
			["out", "i32"],
			["n", "i32"],
		],
		locals: [
			["j", "i32"],
			["num", "v128"],
			["b", "v128"],
			["div", "v128"],
			["lo", "v128"],
			["hi", "v128"],
			["floor", "v128"],
			["v", "v128"],
			...ROUND_LOCALS,
		],
		body: `
		${ROUND_SETUP}
		f64.const 1e-6 f64x2.splat local.set $floor
		${laneLoop(`
			${loadLanes("numerator", "j", false)} local.set $num
			${loadLanes("base", "j", false)} local.set $b
			${loadLanes("divisor", "j", false)} local.set $div
			${half(false)}
			${half(true)}
			${demoted("lo", "hi")} local.set $v
			${storeResult("out", "j", "v", bf16Out)}`)}
		`,
	};
}

/**
 * The sign election with votes of scale 1 (see signElection): the vote in float32 from +0, − elected where it is
 * negative or NaN; xᵢ agrees where it is nonzero, not NaN and of the elected sign. numerator = Σ (aᵢ·sᵢ)·xᵢ and
 * divisor = Σ aᵢ·tᵢ, each term added in float64 and rounded to float32 as it is added. Agreeing elements are counted
 * per lane at `counts` [vector 0 lanes 0–3, …]:
 * `sign_election_<count>(numerator, divisor, x₀…, n, counts, s₀…, t₀…)`.
 */
function signElectionWasm(count: number): WasmFunction {
	const addTerm = (target: string, term: string): string => `
		local.get $${target} ${term} f64x2.add f32x4.demote_f64x2_zero f64x2.promote_low_f32x4 local.set $${target}`;
	const model = (i: number): string => `
		local.get $x${i} local.get $magnitude v128.and local.tee $m
		i32.const 0 i32x4.splat i32x4.ne
		local.get $m local.get $inf i32x4.gt_s v128.not v128.and
		local.get $x${i} i32.const 31 i32x4.shr_s local.get $negative v128.xor v128.not v128.and
		local.tee $agree
		local.get $counted${i} local.get $agree i32x4.sub local.set $counted${i}
		local.get $agree i32.const 1 i32x4.splat v128.and local.set $agree
		local.get $agree f64x2.convert_low_i32x4_u local.set $aLo
		local.get $agree local.get $agree i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15
		f64x2.convert_low_i32x4_u local.set $aHi
		${addTerm("numLo", `local.get $aLo local.get $s${i} f64x2.mul ${promoted(`x${i}`, false)} f64x2.mul`)}
		${addTerm("numHi", `local.get $aHi local.get $s${i} f64x2.mul ${promoted(`x${i}`, true)} f64x2.mul`)}
		${addTerm("divLo", `local.get $aLo local.get $t${i} f64x2.mul`)}
		${addTerm("divHi", `local.get $aHi local.get $t${i} f64x2.mul`)}`;
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
			["vote", "v128"],
			["negative", "v128"],
			["m", "v128"],
			["agree", "v128"],
			["aLo", "v128"],
			["aHi", "v128"],
			["numLo", "v128"],
			["numHi", "v128"],
			["divLo", "v128"],
			["divHi", "v128"],
			["magnitude", "v128"],
			["inf", "v128"],
			...indices(count).flatMap((i) => [
				[`x${i}`, "v128"] as const,
				[`s${i}`, "v128"] as const,
				[`t${i}`, "v128"] as const,
				[`counted${i}`, "v128"] as const,
			]),
		],
		body: `
		i32.const 0x7fffffff i32x4.splat local.set $magnitude
		i32.const 0x7f800000 i32x4.splat local.set $inf
		${indices(count)
			.map(
				(i) => `local.get $scale${i} f64x2.splat local.set $s${i} local.get $weight${i} f64x2.splat local.set $t${i}`,
			)
			.join("\n")}
		${laneLoop(`
			f32.const 0 f32x4.splat local.set $vote
			${indices(count)
				.map((i) => `${loadLanes(`p${i}`, "j", false)} local.tee $x${i} local.get $vote f32x4.add local.set $vote`)
				.join("\n")}
			local.get $vote local.get $magnitude v128.and local.get $inf i32x4.gt_s
			local.get $vote i32.const 31 i32x4.shr_s v128.or local.set $negative
			f64.const 0 f64x2.splat local.tee $numLo local.tee $numHi local.tee $divLo local.set $divHi
			${indices(count).map(model).join("\n")}
			${f32Address("numerator", "j")} ${demoted("numLo", "numHi")} v128.store
			${f32Address("divisor", "j")} ${demoted("divLo", "divHi")} v128.store`)}
		${indices(count)
			.map((i) => `local.get $counts local.get $counted${i} v128.store offset=${16 * i}`)
			.join("\n")}
		`,
	};
}

export function sceFunctions(): WasmFunction[] {
	const counts = indices(SCE_SIMD_MAX).map((i) => i + 1);
	return [
		...counts.flatMap((count) => [sceVarianceWasm(count), sceSelectWasm(count), signElectionWasm(count)]),
		sceFinishWasm(false),
		sceFinishWasm(true),
	];
}

/** sce-variance over [start, end) for one to three task vectors; returns how many variances are nonzero. */
export function sceVarianceSimd(
	variance: Float32Array,
	deltas: readonly Float32Array[],
	start: number,
	end: number,
): number {
	const read = (module: SimdModule, from: number, n: number): number[] =>
		deltas.map((delta, i) => readAt(module, delta, from, n, i));
	return sceVarianceBlocks(variance, deltas.length, read, start, end);
}

/**
 * sce-variance over [start, end), block by block, of `count` task vectors whose block `deltasAt` puts in slots 0–2
 * (or reads in place); returns how many variances are nonzero.
 */
function sceVarianceBlocks(
	variance: Float32Array,
	count: number,
	deltasAt: (module: SimdModule, from: number, n: number) => number[],
	start: number,
	end: number,
): number {
	const module = simdModule();
	const kernel = module.exports[`sce_variance_${count}`] as (...args: number[]) => void;
	const [outSlot, countsSlot] = [4, 5];
	let nonzero = 0;
	// The zeros that pad a copied block's last step have a variance of +0, which is not counted.
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const deltas = deltasAt(module, from, n);
		const target = writeAt(variance, from, n, outSlot);
		kernel(target, ...deltas, n, slot(countsSlot));
		writeBack(module, target, outSlot, variance, from, n);
		nonzero += laneTotal(module.i32.subarray(slot(countsSlot) / 4), 0);
	}
	return nonzero;
}

/** sce-select over [start, end) for one to three task vectors. */
export function sceSelectSimd(
	variance: Float32Array,
	deltas: readonly Float32Array[],
	start: number,
	end: number,
): void {
	const module = simdModule();
	const kernel = module.exports[`sce_select_${deltas.length}`] as (...args: number[]) => void;
	const varianceSlot = deltas.length;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const pointers = deltas.map((delta, i) => readAt(module, delta, from, n, i));
		kernel(readAt(module, variance, from, n, varianceSlot), ...pointers, n);
		deltas.forEach((delta, i) => {
			writeBack(module, pointers[i] as number, i, delta, from, n);
		});
	}
}

/** sce-finish over [start, end). */
export function sceFinishSimd(
	numerator: Float32Array,
	b: Float32Array,
	divisor: Float32Array,
	start: number,
	end: number,
): void {
	const module = simdModule();
	const kernel = module.exports.sce_finish as (...args: number[]) => void;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const target = readAt(module, numerator, from, n, 0);
		kernel(target, readAt(module, b, from, n, 1), readAt(module, divisor, from, n, 2), target, n);
		writeBack(module, target, 0, numerator, from, n);
	}
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

/*
 * SCE with its task vectors made a block at a time from the models and the base as stored, instead of stored whole:
 * δᵢ = xᵢ − b in float32 (unrounded, as task-vector makes SCE's), each in slot i; x's and b's copies, where they are
 * not read in place, in slots 8 and 9. Each is bit-identical to the kernels above run over the stored task vectors.
 */

const X_SLOT = 8;
const B_SLOT = 9;

/** The task vectors of elements [from, from + n) in slots 0, 1, …; returns their addresses. */
function madeDeltas(module: SimdModule, xs: readonly RangeArray[], b: RangeArray, from: number, n: number): number[] {
	return xs.map((x, i) => taskVectorBlock(module, x, b, from, n, { x: X_SLOT, b: B_SLOT }, slot(i), false));
}

/** sce-variance of the made task vectors over [start, end); returns how many variances are nonzero. */
export function sceVarianceMade(
	variance: Float32Array,
	xs: readonly RangeArray[],
	b: RangeArray,
	start: number,
	end: number,
): number {
	const made = (module: SimdModule, from: number, n: number): number[] => madeDeltas(module, xs, b, from, n);
	return sceVarianceBlocks(variance, xs.length, made, start, end);
}

/**
 * Each made task vector's ‖δᵢ‖² over [from, to), within one PAIR_BLOCK, after sce-select with `variance` where given:
 * summed as pair-sums sums ‖a‖² (four float64 lane sums, added in lane order at the end).
 */
export function sceEnergiesMade(
	xs: readonly RangeArray[],
	b: RangeArray,
	variance: Float32Array | undefined,
	from: number,
	to: number,
): number[] {
	const module = simdModule();
	const select = module.exports[`sce_select_${xs.length}`] as (...args: number[]) => void;
	const sumSquares = module.exports.pair_sums_f32 as (...args: number[]) => void;
	// pair_sums' twelve sums per task vector, in slot 5.
	const sums = xs.map((_, i) => slot(5) + 96 * i);
	for (const address of sums) {
		module.f64.fill(0, address / 8, address / 8 + 12);
	}
	for (let at = from; at < to; at += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, to - at);
		const deltas = madeDeltas(module, xs, b, at, n);
		if (variance) {
			select(readAt(module, variance, at, n, 4), ...deltas, n);
		}
		deltas.forEach((delta, i) => {
			sumSquares(delta, delta, 0, n, sums[i] as number);
		});
	}
	return sums.map((address) => laneTotal(module.f64.subarray(address / 8, address / 8 + 12), 0));
}

/**
 * SCE's combination of the made task vectors over [start, end): sce-select with `variance` where given, the sign
 * election with unit votes and the weights as numerator and divisor scales, and sce-finish, into `out` (bfloat16 bits
 * encoded as each block is done, or float32 values).
 */
export function sceCombineMade(
	out: ResultArray,
	b: RangeArray,
	xs: readonly RangeArray[],
	variance: Float32Array | undefined,
	weights: readonly number[],
	start: number,
	end: number,
): void {
	const module = simdModule();
	const count = xs.length;
	const select = module.exports[`sce_select_${count}`] as (...args: number[]) => void;
	const elect = module.exports[`sign_election_${count}`] as (...args: number[]) => void;
	const finish = module.exports[resultVariant("sce_finish", out instanceof Uint16Array)] as (...args: number[]) => void;
	// The output's slot is the variance's copy's, which the selection has read by then.
	const [outSlot, baseSlot, countsSlot, numeratorSlot, divisorSlot] = [3, 4, 5, 6, 7];
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const deltas = madeDeltas(module, xs, b, from, n);
		if (variance) {
			select(readAt(module, variance, from, n, 3), ...deltas, n);
		}
		// Votes of scale 1; each agreeing δᵢ adds sᵢ·δᵢ to the numerator and sᵢ to the divisor.
		elect(slot(numeratorSlot), slot(divisorSlot), ...deltas, n, slot(countsSlot), ...weights, ...weights);
		const target = writeAt(out, from, n, outSlot);
		finish(slot(numeratorSlot), valuesAt(module, b, from, n, baseSlot, B_SLOT), slot(divisorSlot), target, n);
		writeBack(module, target, outSlot, out, from, n);
	}
}
