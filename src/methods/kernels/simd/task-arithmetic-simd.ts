import type { WasmFunction, WasmType } from "../../../engine/wasm/assemble-wasm.js";
import type { RangeArray } from "../range-kernels.js";
import { roundBf16 as roundBf16Value } from "../round-bf16.js";
import {
	DARE_SUMS_SLOT,
	dareKeepBits,
	MASK_LANES_LOCALS,
	MASK_LANES_SETUP,
	maskedLanes,
	wordsAt,
} from "./dare-mask-simd.js";
import {
	elementwiseLoop,
	f32Address,
	highToLow,
	JOIN_LOW,
	type LanePositions,
	laneLoop,
	loadLanes,
	pairedLoopLocals,
	RESULT_LOOP_LOCALS,
	ROUND_LOCALS,
	ROUND_SETUP,
	resultLoop,
	resultVariant,
	roundBf16,
	roundBf16KeepingNaN,
} from "./lane-text.js";
import type { BlockValues } from "./magnitude-simd.js";
import {
	laneTotal,
	type ResultArray,
	readAt,
	SIMD_BLOCK,
	type SimdModule,
	simdModule,
	slot,
	writeAt,
	writeBack,
} from "./simd-kernels.js";

/**
 * The task-arithmetic family's per-element kernels in SIMD, each bit-identical to its JavaScript kernel in
 * range-kernels.ts: task-vector, scale-and-count and the one-pass TIES combination (task-combine). Weights are float32
 * values here (bfloat16 ones in a bf16 merge), so float32 products round as the JavaScript kernels' float64 ones.
 */

const taskVectorName = (bf16: boolean, baseBf16: boolean, round: boolean): string =>
	`task_vector_${bf16 ? "bf16" : "f32"}_${baseBf16 ? "bf16" : "f32"}_${round ? "round" : "exact"}`;

const rounded = (round: boolean, value: string): string => (round ? `${roundBf16(value)} local.set $${value}` : "");

/**
 * δ = x − b, rounded to bfloat16 when `round`, x and b float32 values or bfloat16 bits:
 * `task_vector_<x: bf16|f32>_<b: bf16|f32>_<round|exact>(x, b, out, n)`.
 */
export function taskVectorWasm(bf16: boolean, round: boolean, baseBf16 = false): WasmFunction {
	return {
		name: taskVectorName(bf16, baseBf16, round),
		params: [
			["x", "i32"],
			["b", "i32"],
			["out", "i32"],
			["n", "i32"],
		],
		locals: [["j", "i32"], ["v", "v128"], ...ROUND_LOCALS],
		body: `
		${ROUND_SETUP}
		${laneLoop(`
			${loadLanes("x", "j", bf16)} ${loadLanes("b", "j", baseBf16)} f32x4.sub local.set $v
			${rounded(round, "v")}
			${f32Address("out", "j")} local.get $v v128.store`)}
		`,
	};
}

/**
 * Counts δ's nonzero elements (NaN counts) into four lanes at `counts`, then δ = w·δ, the product in float64 (w is
 * any number: an L1 rescale's ratio, say) stored as float32 and rounded to bfloat16 when `round`:
 * `scale_and_count_<round|exact>(delta, counts, n, w)`. With `f32Weight` (`scale_and_count_<round|exact>_f32w`) w
 * must be a float32 value, and the product is taken in float32: the float64 product of two float32 values is exact,
 * so rounding it to float32 gives what float32's own product gives, at a quarter of the instructions.
 */
export function scaleAndCountWasm(round: boolean, f32Weight = false): WasmFunction {
	const product = f32Weight
		? "local.get $v local.get $wf f32x4.mul"
		: `local.get $v f64x2.promote_low_f32x4 local.get $w f64x2.mul f32x4.demote_f64x2_zero
			${highToLow("v")} f64x2.promote_low_f32x4 local.get $w f64x2.mul f32x4.demote_f64x2_zero
			${JOIN_LOW}`;
	return {
		name: `scale_and_count_${round ? "round" : "exact"}${f32Weight ? "_f32w" : ""}`,
		params: [
			["delta", "i32"],
			["counts", "i32"],
			["n", "i32"],
			["weight", "f64"],
		],
		locals: [
			["j", "i32"],
			["v", "v128"],
			["w", "v128"],
			["wf", "v128"],
			["nonzero", "v128"],
			["magnitude", "v128"],
			...ROUND_LOCALS,
		],
		body: `
		${ROUND_SETUP}
		i32.const 0x7fffffff i32x4.splat local.set $magnitude
		local.get $weight f64x2.splat local.set $w
		local.get $weight f32.demote_f64 f32x4.splat local.set $wf
		${laneLoop(`
			${loadLanes("delta", "j", false)} local.set $v
			local.get $nonzero local.get $v local.get $magnitude v128.and i32.const 0 i32x4.splat i32x4.ne i32x4.sub
			local.set $nonzero
			${product} local.set $v
			${rounded(round, "v")}
			${f32Address("delta", "j")} local.get $v v128.store`)}
		local.get $counts local.get $nonzero v128.store
		`,
	};
}

/** The scale-and-count kernel for weight `w`: its float32 product where w is a float32 value. */
export function scaleAndCountName(round: boolean, w: number): string {
	return `scale_and_count_${round ? "round" : "exact"}${Math.fround(w) === w ? "_f32w" : ""}`;
}

/**
 * The parameters the family's combining kernels begin with: b, an array per model (`d` or `x`), out, counts, n and a
 * weight per model.
 */
function combineParams(models: readonly number[], array: "d" | "x"): [string, WasmType][] {
	return [
		["b", "i32"],
		...models.map((i): [string, WasmType] => [`${array}${i}`, "i32"]),
		["out", "i32"],
		["counts", "i32"],
		["n", "i32"],
		...models.map((i): [string, WasmType] => [`weight${i}`, "f32"]),
	];
}

/**
 * task-combine in a bfloat16 merge for `count` models (see combineElected): uᵢ = round(wᵢ·δᵢ), the sign elected
 * by Σuᵢ ≥ 0, the agreeing uᵢ and wᵢ summed from +0 in float32 and rounded, the quotient (normalize) and the product
 * by λ (in float64, as λ is any number) rounded, then out = b + mix (as bfloat16 bits where `bf16Out`). Per-lane
 * counts at `counts`: kept δᵢ for each model, then agreeing uᵢ for each; b float32 values or bfloat16 bits:
 * `task_combine_<count>_<b: bf16|f32>[_to_bf16](b, δ₀…, out, counts, n, w₀…, normalize, roundZ, lambda)`. δᵢ are
 * bfloat16 values (rounded task vectors), so uᵢ is rounded without the NaN check (see roundBf16KeepingNaN); the sum of
 * agreeing weights is rounded only where `roundZ` (see weightSumsRound).
 */
export function taskCombineWasm(count: number, baseBf16: boolean, bf16Out: boolean): WasmFunction {
	const models = Array.from({ length: count }, (_, i) => i);
	return {
		name: resultVariant(`task_combine_${count}_${baseBf16 ? "bf16" : "f32"}`, bf16Out),
		params: [...combineParams(models, "d"), ["normalize", "i32"], ["roundZ", "i32"], ["lambda", "f64"]],
		locals: [
			["j", "i32"],
			["scaled", "i32"],
			["zero", "v128"],
			["onef", "v128"],
			["vote", "v128"],
			["positive", "v128"],
			["agree", "v128"],
			["mix", "v128"],
			["z", "v128"],
			["l", "v128"],
			...models.flatMap((i) => [
				[`w${i}`, "v128"] as const,
				[`u${i}`, "v128"] as const,
				[`kept${i}`, "v128"] as const,
				[`agreed${i}`, "v128"] as const,
			]),
			...ROUND_LOCALS,
			...RESULT_LOOP_LOCALS,
		],
		body: `
		${ROUND_SETUP}
		f32.const 1 f32x4.splat local.set $onef
		local.get $lambda f64x2.splat local.set $l
		local.get $lambda f64.const 1 f64.ne local.set $scaled
		${models.map((i) => `local.get $weight${i} f32x4.splat local.set $w${i}`).join("\n")}
		${resultLoop(
			"out",
			bf16Out,
			(index) => `
			local.get $zero local.set $vote
			${models
				.map(
					(i) => `
			local.get $kept${i} ${loadLanes(`d${i}`, index, false)} local.tee $u${i}
			local.get $zero f32x4.ne i32x4.sub local.set $kept${i}
			local.get $u${i} local.get $w${i} f32x4.mul local.set $u${i}
			${roundBf16KeepingNaN(`u${i}`)} local.tee $u${i}
			local.get $vote f32x4.add local.set $vote`,
				)
				.join("\n")}
			local.get $vote local.get $zero f32x4.ge local.set $positive
			local.get $zero local.tee $mix local.set $z
			${models
				.map(
					(i) => `
			local.get $u${i} local.get $zero f32x4.gt local.get $u${i} local.get $zero f32x4.lt local.get $positive
			v128.bitselect local.tee $agree
			local.get $agreed${i} local.get $agree i32x4.sub local.set $agreed${i}
			local.get $agree local.get $onef v128.and local.set $agree
			local.get $mix local.get $agree local.get $u${i} f32x4.mul f32x4.add local.set $mix
			local.get $z local.get $agree local.get $w${i} f32x4.mul f32x4.add local.set $z`,
				)
				.join("\n")}
			${roundBf16KeepingNaN("mix")} local.set $mix
			local.get $roundZ
			if
				${roundBf16KeepingNaN("z")} local.set $z
			end
			local.get $normalize
			if
				;; No model agreeing leaves z = 0, which divides as 1.
				local.get $mix local.get $z local.get $z local.get $zero f32x4.eq local.get $onef v128.and f32x4.add
				f32x4.div local.set $mix
				${roundBf16KeepingNaN("mix")} local.set $mix
			end
			${addBase(loadLanes("b", index, baseBf16))}`,
		)}
		${models.map((i) => `local.get $counts local.get $kept${i} v128.store offset=${16 * i}`).join("\n")}
		${models.map((i) => `local.get $counts local.get $agreed${i} v128.store offset=${16 * (count + i)}`).join("\n")}
		`,
	};
}

/**
 * The end of a task-arithmetic combination, on local `mix`: the product by λ (local `l`, both halves in float64,
 * when `scaled`) rounded, then b + mix left on the stack, b's lanes pushed by `base`.
 */
const addBase = (base: string): string => `
			local.get $scaled
			if
				local.get $mix f64x2.promote_low_f32x4 local.get $l f64x2.mul f32x4.demote_f64x2_zero
				${highToLow("mix")} f64x2.promote_low_f32x4 local.get $l f64x2.mul f32x4.demote_f64x2_zero
				${JOIN_LOW} local.set $mix
				${roundBf16("mix")} local.set $mix
			end
			${base} local.get $mix f32x4.add`;

/**
 * Σ uᵢ (each pushed by `term`) from +0 in float32, term by term, into local `mix`: PyTorch sums bfloat16 (and
 * float16) along a dimension in a float32 running sum.
 */
function sumInFloat32(models: readonly number[], term: (i: number) => string): string {
	return `local.get $zero ${models.map((i) => `${term(i)} f32x4.add`).join(" ")} local.set $mix`;
}

/**
 * The sum of task-finish and task_sum: Σ uᵢ (each pushed by `term`) rounded, then the quotient by the divisor (local
 * `d`, when `normalize`) rounded, into local `mix`. With `lowZeroNaN` (every NaN among the uᵢ has zero low 16 bits, as
 * rounded bfloat16 values' do) both are rounded without the NaN check: a NaN they make or carry has zero low bits too,
 * so rounding keeps it a NaN, and the result's checked rounding makes it the canonical one.
 */
function weightedSum(models: readonly number[], term: (i: number) => string, lowZeroNaN: boolean): string {
	const round = lowZeroNaN ? roundBf16KeepingNaN : roundBf16;
	return `
			${sumInFloat32(models, term)}
			${round("mix")} local.set $mix
			local.get $normalize
			if
				local.get $mix local.get $d f32x4.div local.set $mix
				${round("mix")} local.set $mix
			end`;
}

/**
 * task-finish's plain weighted sum in a bfloat16 merge for `count` models (see taskFinish): the weighted task vectors
 * summed from +0 in float32 and rounded, the quotient by the divisor (normalize) and the product by
 * λ rounded, then out = b + mix (as bfloat16 bits where `bf16Out`); b float32 values or bfloat16 bits:
 * `task_finish_<count>_<b: bf16|f32>[_to_bf16](b, u₀…, out, n, normalize, divisor, lambda)`.
 */
export function taskFinishWasm(count: number, baseBf16: boolean, bf16Out: boolean): WasmFunction {
	const models = Array.from({ length: count }, (_, i) => i);
	return {
		name: resultVariant(`task_finish_${count}_${baseBf16 ? "bf16" : "f32"}`, bf16Out),
		params: [
			["b", "i32"],
			...models.map((i) => [`u${i}`, "i32"] as const),
			["out", "i32"],
			["n", "i32"],
			["normalize", "i32"],
			["divisor", "f32"],
			["lambda", "f64"],
		],
		locals: [
			["j", "i32"],
			["scaled", "i32"],
			["v", "v128"],
			["mix", "v128"],
			["d", "v128"],
			["l", "v128"],
			["zero", "v128"],
			...ROUND_LOCALS,
			...RESULT_LOOP_LOCALS,
		],
		body: `
		${ROUND_SETUP}
		local.get $divisor f32x4.splat local.set $d
		local.get $lambda f64x2.splat local.set $l
		local.get $lambda f64.const 1 f64.ne local.set $scaled
		${resultLoop(
			"out",
			bf16Out,
			(index) => `
			${weightedSum(models, (i) => loadLanes(`u${i}`, index, false), false)}
			${addBase(loadLanes("b", index, baseBf16))}`,
		)}
		`,
	};
}

/**
 * task_arithmetic's whole per-element work in a bfloat16 merge for `count` models stored as bfloat16 bits, in one
 * kernel: δᵢ = round(xᵢ − b), its nonzero elements counted, uᵢ = round(wᵢ·δᵢ) (float32 weights), then task-finish's
 * sum and end. Bit-identical to task-vector, scale-and-count and task-finish run one after another: δᵢ and uᵢ are
 * products and differences of bfloat16 values, so they are rounded without the NaN check (see roundBf16KeepingNaN)
 * and the sum's checked rounding canonicalises a NaN. Per-lane counts of nonzero δᵢ at `counts`; b float32 values or
 * bfloat16 bits; out as task-finish's:
 * `task_sum_<count>_<b: bf16|f32>[_to_bf16](b, x₀…, out, counts, n, w₀…, normalize, divisor, lambda)`.
 *
 * `masked` (`task_sum_masked_…`, the same parameters, then `offset, words₀…, ratio₀…`) is DARE's and DELLA's combining
 * pass with masks kept as bits and the L1 rescale: each δᵢ masked by the words at `wordsᵢ` (element j at bit
 * offset + j, see maskedLanes) and scaled by ratioᵢ (a float32 value) in float32, as dare_keep_bits_scaled does, then
 * counted and weighted as scale_and_count_round_f32w does, uᵢ rounded with the NaN check (a scaled δᵢ is no bfloat16
 * value).
 */
export function taskSumWasm(count: number, baseBf16: boolean, bf16Out: boolean, masked = false): WasmFunction {
	const models = Array.from({ length: count }, (_, i) => i);
	const arrays = ["b", ...models.map((i) => `x${i}`)];
	const weighted = (i: number): string => `local.get $u${i}`;
	const keep = (i: number, at: LanePositions): string =>
		masked
			? `
			${maskedLanes("v", `words${i}`, at)} local.get $r${i} f32x4.mul local.set $v`
			: "";
	return {
		name: resultVariant(`task_sum_${masked ? "masked_" : ""}${count}_${baseBf16 ? "bf16" : "f32"}`, bf16Out),
		params: [
			...combineParams(models, "x"),
			["normalize", "i32"],
			["divisor", "f32"],
			["lambda", "f64"],
			...(masked
				? [
						["offset", "i32"] as const,
						...models.map((i) => [`words${i}`, "i32"] as const),
						...models.map((i) => [`ratio${i}`, "f64"] as const),
					]
				: []),
		],
		locals: [
			["j", "i32"],
			["scaled", "i32"],
			["v", "v128"],
			["base", "v128"],
			["mix", "v128"],
			["d", "v128"],
			["l", "v128"],
			["zero", "v128"],
			["magnitude", "v128"],
			...models.flatMap((i) => [[`w${i}`, "v128"] as const, [`u${i}`, "v128"] as const, [`kept${i}`, "v128"] as const]),
			...(masked ? [...MASK_LANES_LOCALS, ...models.map((i) => [`r${i}`, "v128"] as const)] : []),
			...ROUND_LOCALS,
			...pairedLoopLocals(arrays),
		],
		body: `
		${ROUND_SETUP}
		${masked ? MASK_LANES_SETUP : ""}
		i32.const 0x7fffffff i32x4.splat local.set $magnitude
		local.get $divisor f32x4.splat local.set $d
		local.get $lambda f64x2.splat local.set $l
		local.get $lambda f64.const 1 f64.ne local.set $scaled
		${models.map((i) => `local.get $weight${i} f32x4.splat local.set $w${i}`).join("\n")}
		${masked ? models.map((i) => `local.get $ratio${i} f32.demote_f64 f32x4.splat local.set $r${i}`).join("\n") : ""}
		${elementwiseLoop(
			arrays,
			"out",
			(input) => input !== "b" || baseBf16,
			bf16Out,
			(input, at) => `
			${input("b")} local.set $base
			${models
				.map(
					(i) => `
			${input(`x${i}`)} local.get $base f32x4.sub local.set $v
			${roundBf16KeepingNaN("v")} local.set $v
			${keep(i, at)}
			local.get $kept${i} local.get $v local.get $magnitude v128.and local.get $zero i32x4.ne i32x4.sub
			local.set $kept${i}
			local.get $v local.get $w${i} f32x4.mul local.set $u${i}
			${masked ? roundBf16(`u${i}`) : roundBf16KeepingNaN(`u${i}`)} local.set $u${i}`,
				)
				.join("\n")}
			${weightedSum(models, weighted, true)}
			${addBase("local.get $base")}`,
		)}
		${models.map((i) => `local.get $counts local.get $kept${i} v128.store offset=${16 * i}`).join("\n")}
		`,
	};
}

/**
 * task_arithmetic in a bf16 merge over [start, end) in one kernel (see taskSumWasm), for one to three models stored as
 * bfloat16 bits; returns the counts [kept δ₀..₂, 0, 0, 0] as combineMadeTaskVectors does. With `masks` (one a model,
 * each rescaled; `start` a multiple of 8), DARE's and DELLA's combining pass over masks kept as bits: task_sum_masked.
 */
export function taskSumSimd(
	out: ResultArray,
	b: RangeArray,
	xs: readonly Uint16Array[],
	weights: readonly number[],
	numbers: { normalize: number; divisor: number; lambda: number },
	start: number,
	end: number,
	masks?: readonly { words: Uint32Array; ratio: number }[],
): number[] {
	const name = `task_sum_${masks ? "masked_" : ""}${xs.length}_${b instanceof Uint16Array ? "bf16" : "f32"}`;
	const { normalize, divisor, lambda } = numbers;
	const tail = [normalize, divisor, lambda];
	return combineBlocks(
		name,
		{ out, b, arrays: xs, weights },
		masks
			? (module, from, n) => {
					const words = masks.map((mask, i) => wordsAt(module, mask.words, from, n, true, i));
					return [
						...tail,
						(words[0] as [number, number])[1],
						...words.map(([address]) => address),
						...masks.map((mask) => mask.ratio),
					];
				}
			: () => tail,
		start,
		end,
		(counts, sums) => {
			for (let i = 0; i < xs.length; i++) {
				sums[i] = (sums[i] as number) + laneTotal(counts, i);
			}
		},
	);
}

/** The task-arithmetic family's SIMD functions, for the module. */
export function taskArithmeticFunctions(): WasmFunction[] {
	return [
		...[true, false].flatMap((bf16) => [taskVectorWasm(bf16, true), taskVectorWasm(bf16, false)]),
		// The one-pass TIES and SCE read the base as stored, too.
		...[true, false].flatMap((bf16) => [taskVectorWasm(bf16, true, true), taskVectorWasm(bf16, false, true)]),
		scaleAndCountWasm(true),
		scaleAndCountWasm(false),
		scaleAndCountWasm(true, true),
		scaleAndCountWasm(false, true),
		// Each combining kernel over a base as float32 values or bfloat16 bits, writing float32 values or bfloat16 bits.
		...[1, 2, 3].flatMap((count) =>
			[false, true].flatMap((baseBf16) =>
				[false, true].flatMap((bf16Out) => [
					taskCombineWasm(count, baseBf16, bf16Out),
					taskFinishWasm(count, baseBf16, bf16Out),
					taskSumWasm(count, baseBf16, bf16Out),
					taskSumWasm(count, baseBf16, bf16Out, true),
				]),
			),
		),
	];
}

/** task-vector over [start, end): `round` in a bf16 merge; x float32 values or bfloat16 bits, b float32. */
export function taskVectorSimd(
	x: RangeArray,
	b: Float32Array,
	delta: Float32Array,
	round: boolean,
	start: number,
	end: number,
): void {
	const module = simdModule();
	const kernel = module.exports[taskVectorName(x instanceof Uint16Array, false, round)] as (...args: number[]) => void;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const target = writeAt(delta, from, n, 2);
		kernel(readAt(module, x, from, n, 0), readAt(module, b, from, n, 1), target, n);
		writeBack(module, target, 2, delta, from, n);
	}
}

/** scale-and-count over [start, end); returns the count of nonzero elements. */
export function scaleAndCountSimd(
	delta: Float32Array,
	weight: number,
	round: boolean,
	start: number,
	end: number,
): number {
	const module = simdModule();
	const kernel = module.exports[scaleAndCountName(round, weight)] as (...args: number[]) => void;
	let nonzero = 0;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const at = readAt(module, delta, from, n, 0);
		kernel(at, slot(1), n, weight);
		writeBack(module, at, 0, delta, from, n);
		nonzero += laneTotal(module.i32.subarray(slot(1) / 4), 0);
	}
	return nonzero;
}

/**
 * Whether the sum of the agreeing weights in a TIES combination must be rounded to bfloat16: not where every sum it
 * can take (any subset of the weights, added in model order in float32 from +0) already is a bfloat16 value, as with
 * equal weights of 0.5.
 */
export function weightSumsRound(weights: readonly number[]): boolean {
	for (let subset = 1; subset < 1 << weights.length; subset++) {
		let sum = 0;
		weights.forEach((weight, i) => {
			if (subset & (1 << i)) {
				sum = Math.fround(sum + weight);
			}
		});
		if (roundBf16Value(sum) !== sum) {
			return true;
		}
	}
	return false;
}

/**
 * task-combine over [start, end) in a bf16 merge for one to three models; returns the counts [kept δ₀..₂, agreeing
 * u₀..₂] as combineElected does.
 */
export function taskCombineSimd(
	out: ResultArray,
	b: Float32Array,
	deltas: readonly Float32Array[],
	weights: readonly number[],
	normalize: number,
	lambda: number,
	start: number,
	end: number,
): number[] {
	const count = deltas.length;
	const roundZ = +weightSumsRound(weights);
	return combineBlocks(
		`task_combine_${count}_f32`,
		{ out, b, arrays: deltas, weights },
		() => [normalize, roundZ, lambda],
		start,
		end,
		(counts, sums) => addCombineCounts(counts, count, sums),
	);
}

/**
 * Runs a combining kernel (task_combine, task_sum) over [start, end) block by block: b and an array per model read in
 * place or through slots, the weights and the kernel's `tail` numbers for the block, the result (float32 values or bfloat16 bits,
 * by the kernel's variant) in place or through a slot; `add` adds each
 * block's lane counts into the sums returned.
 */
function combineBlocks(
	name: string,
	operands: { out: ResultArray; b: RangeArray; arrays: readonly RangeArray[]; weights: readonly number[] },
	tail: (module: SimdModule, from: number, n: number) => readonly number[],
	start: number,
	end: number,
	add: (counts: Int32Array, sums: number[]) => void,
): number[] {
	const { out, b, arrays, weights } = operands;
	const module = simdModule();
	const kernel = module.exports[resultVariant(name, out instanceof Uint16Array)] as (...args: number[]) => void;
	const sums = [0, 0, 0, 0, 0, 0];
	const outSlot = 1 + arrays.length;
	const countsSlot = 2 + arrays.length;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const pointers = arrays.map((array, i) => readAt(module, array, from, n, 1 + i));
		const target = writeAt(out, from, n, outSlot);
		kernel(
			readAt(module, b, from, n, 0),
			...pointers,
			target,
			slot(countsSlot),
			n,
			...weights,
			...tail(module, from, n),
		);
		writeBack(module, target, outSlot, out, from, n);
		add(module.i32.subarray(slot(countsSlot) / 4), sums);
	}
	return sums;
}

/** Adds task_combine's lane counts (kept δᵢ, then agreeing uᵢ) into sums [kept δ₀..₂, agreeing u₀..₂]. */
function addCombineCounts(counts: Int32Array, count: number, sums: number[]): void {
	for (let i = 0; i < count; i++) {
		sums[i] = (sums[i] as number) + laneTotal(counts, i);
		sums[3 + i] = (sums[3 + i] as number) + laneTotal(counts, count + i);
	}
}

/** task-finish's plain weighted sum over [start, end) in a bf16 merge, for one to three models. */
export function taskFinishSimd(
	out: Float32Array,
	b: Float32Array,
	weighted: readonly Float32Array[],
	normalize: number,
	divisor: number,
	lambda: number,
	start: number,
	end: number,
): void {
	const module = simdModule();
	const count = weighted.length;
	const kernel = module.exports[`task_finish_${count}_f32`] as (...args: number[]) => void;
	const outSlot = 1 + count;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		const pointers = weighted.map((vector, i) => readAt(module, vector, from, n, 1 + i));
		const target = writeAt(out, from, n, outSlot);
		kernel(readAt(module, b, from, n, 0), ...pointers, target, n, normalize, divisor, lambda);
		writeBack(module, target, outSlot, out, from, n);
	}
}

/**
 * Makes the task vector δ = round(x − b) of a bf16 merge (x − b in float32 where not `round`) for elements
 * [from, from + n) at address `into`, from x and b (float32 values or bfloat16 bits) read in place or copied into slots
 * `slots.x` and `slots.b`; returns `into`.
 */
export function taskVectorBlock(
	module: SimdModule,
	x: RangeArray,
	b: RangeArray,
	from: number,
	n: number,
	slots: { x: number; b: number },
	into: number,
	round = true,
): number {
	const kernel = module.exports[taskVectorName(x instanceof Uint16Array, b instanceof Uint16Array, round)] as (
		...args: number[]
	) => void;
	kernel(readAt(module, x, from, n, slots.x), readAt(module, b, from, n, slots.b), into, n);
	return into;
}

/** The block values of the task vector δ = round(x − b) of a bf16 merge, made a block at a time in slot 2. */
export function taskVectorBlocks(x: RangeArray, b: RangeArray): BlockValues {
	return (module, from, n) => taskVectorBlock(module, x, b, from, n, { x: 0, b: 1 }, slot(2));
}

/** The task vector δ = round(x − b) of a bf16 merge over elements [from, to), made a block at a time. */
export function taskVectorValues(x: RangeArray, b: RangeArray, from: number, to: number): Float32Array {
	const module = simdModule();
	const delta = new Float32Array(to - from);
	for (let at = from; at < to; at += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, to - at);
		const address = taskVectorBlock(module, x, b, at, n, { x: 0, b: 1 }, slot(2));
		delta.set(module.f32.subarray(address / 4, address / 4 + n), at - from);
	}
	return delta;
}

/**
 * Prunes model `model`'s task vector δ, made for elements [from, from + n) at `address` in the module's memory, in
 * place, as the method's sparsification would have pruned the whole vector.
 */
export type PruneBlock = (module: SimdModule, address: number, from: number, n: number, model: number) => void;

/**
 * How made and pruned task vectors are combined, block by block: `combine(module, b, deltas, out, n, sums)` with b
 * and the output where the kernels read and write them, adding its counts into sums [kept δ₀..₂, agreeing u₀..₂].
 */
export type CombineBlock = (
	module: SimdModule,
	b: number,
	deltas: readonly number[],
	out: number,
	n: number,
	sums: number[],
) => void;

/**
 * TIES' sign election and mix, as task-combine does it (b float32 values or bfloat16 bits; the result float32 values
 * or, `bf16Out`, bfloat16 bits).
 */
export function electedBlock(
	weights: readonly number[],
	normalize: number,
	lambda: number,
	baseBf16: boolean,
	bf16Out: boolean,
): CombineBlock {
	const countsSlot = 6;
	const roundZ = +weightSumsRound(weights);
	return (module, b, deltas, out, n, sums) => {
		const combine = module.exports[
			resultVariant(`task_combine_${deltas.length}_${baseBf16 ? "bf16" : "f32"}`, bf16Out)
		] as (...args: number[]) => void;
		combine(b, ...deltas, out, slot(countsSlot), n, ...weights, normalize, roundZ, lambda);
		addCombineCounts(module.i32.subarray(slot(countsSlot) / 4), deltas.length, sums);
	};
}

/**
 * The plain weighted sum, as combineInPasses runs it in a bf16 merge: each δᵢ counted and weighted in place
 * (scale-and-count, rounded), then task-finish's sum over one divisor (the result as electedBlock's).
 */
export function weightedSumBlock(
	weights: readonly number[],
	normalize: number,
	divisor: number,
	lambda: number,
	baseBf16: boolean,
	bf16Out: boolean,
): CombineBlock {
	const countsSlot = 6;
	const names = weights.map((weight) => scaleAndCountName(true, weight));
	return (module, b, deltas, out, n, sums) => {
		deltas.forEach((delta, i) => {
			const scale = module.exports[names[i] as string] as (...args: number[]) => void;
			scale(delta, slot(countsSlot), n, weights[i] as number);
			sums[i] = (sums[i] as number) + laneTotal(module.i32.subarray(slot(countsSlot) / 4), 0);
		});
		const finish = module.exports[
			resultVariant(`task_finish_${deltas.length}_${baseBf16 ? "bf16" : "f32"}`, bf16Out)
		] as (...args: number[]) => void;
		finish(b, ...deltas, out, n, normalize, divisor, lambda);
	};
}

/**
 * The task-arithmetic family in a bf16 merge, in one pass over [start, end) for one to three models: per block, each
 * task vector δᵢ = round(xᵢ − b) is made in a slot and pruned (`prune`), and the pruned vectors combined (`combine`).
 * Bit-identical to task-vector, the pruning kernels and the combining kernels run one after another, without the task
 * vectors' arrays. Returns the counts [kept δ₀..₂, agreeing u₀..₂].
 */
export function combineMadeTaskVectors(
	out: ResultArray,
	b: RangeArray,
	xs: readonly RangeArray[],
	prune: PruneBlock,
	combine: CombineBlock,
	start: number,
	end: number,
): number[] {
	const module = simdModule();
	const sums = [0, 0, 0, 0, 0, 0];
	// δᵢ in slots 0–2, then b's and x's copies, the output, and the counts (slot 6).
	const deltas = xs.map((_, i) => slot(i));
	const outSlot = 5;
	for (let from = start; from < end; from += SIMD_BLOCK) {
		const n = Math.min(SIMD_BLOCK, end - from);
		xs.forEach((x, i) => {
			prune(module, taskVectorBlock(module, x, b, from, n, { x: 4, b: 3 }, slot(i)), from, n, i);
			// A combining kernel may step eight elements at a time: past a ragged end it must count zeros, not the
			// values an earlier block left in the slot.
			module.f32.fill(0, slot(i) / 4 + n, slot(i) / 4 + n + 8);
		});
		const target = writeAt(out, from, n, outSlot);
		combine(module, readAt(module, b, from, n, 3), deltas, target, n, sums);
		writeBack(module, target, outSlot, out, from, n);
	}
	return sums;
}

/** An upper boundary larger than any magnitude bit pattern (NaN included), so it never bounds anything. */
export const ABOVE_ALL = 0x80000000;

/** A magnitude cut by descending ranks (see keepMagnitudeRanks and its RankCut). */
export interface BlockCut {
	upperBits: number;
	lowerBits: number;
	upperCut: number;
	lowerCut: number;
}

/** The magnitude cut of each block: TIES' largest magnitudes, or the ranks Model Breadcrumbs keeps. */
export function keepRanksBlock(cuts: readonly BlockCut[]): PruneBlock {
	return (module, address, from, n, model) => {
		const { upperBits, lowerBits, upperCut, lowerCut } = cuts[model] as BlockCut;
		const bounds = blockBounds(cuts[model] as BlockCut, from, from + n);
		if (bounds) {
			const between = module.exports.keep_magnitude_between as (...args: number[]) => void;
			between(address, n, bounds.lower, bounds.upper);
			return;
		}
		const keep = module.exports.keep_magnitude_ranks as (...args: number[]) => void;
		keep(address, address, n, upperBits, lowerBits, from, upperCut, lowerCut);
	};
}

/**
 * The cut of elements [from, to) as magnitude bounds lower < |x| ≤ upper (signed), where neither index cut falls
 * inside the block: a boundary's ties there are all kept or all dropped. Undefined where one does.
 */
function blockBounds(cut: BlockCut, from: number, to: number): { lower: number; upper: number } | undefined {
	let lower: number;
	if (cut.lowerBits < 0) {
		lower = -1;
	} else if (to <= cut.lowerCut) {
		lower = cut.lowerBits - 1;
	} else if (from >= cut.lowerCut) {
		lower = cut.lowerBits;
	} else {
		return undefined;
	}
	let upper: number;
	if (cut.upperBits === ABOVE_ALL) {
		upper = 0x7fffffff;
	} else if (to <= cut.upperCut) {
		upper = cut.upperBits - 1;
	} else if (from >= cut.upperCut) {
		upper = cut.upperBits;
	} else {
		return undefined;
	}
	return { lower, upper };
}

/** A model's DARE mask in a combining pass: its draws' threshold and keys, or its bits, and its rescale. */
export interface DareMask {
	threshold?: number;
	k0: number;
	k1: number;
	ratio?: number;
	words?: Uint32Array;
}

/**
 * DARE's mask of each block (see dareMask), then its L1 rescale by `ratio` where given (scale-and-count's exact
 * product, as rescaleL1ByParts runs it). A model with no `threshold` is not pruned. A model with mask `words` (written
 * by the pass that measured its norms) has its mask read from them instead of drawn again.
 */
export function dareBlock(masks: readonly DareMask[]): PruneBlock {
	return (module, address, from, n, model) => {
		const { threshold, k0, k1, ratio, words } = masks[model] as (typeof masks)[number];
		if (threshold === undefined) {
			return;
		}
		if (words) {
			dareKeepBits(module, address, words, from, n, ratio);
			return;
		}
		const mask = module.exports.dare_mask as (...args: number[]) => void;
		mask(address, n, from, threshold, k0, k1, slot(DARE_SUMS_SLOT));
		if (ratio !== undefined) {
			const scale = module.exports[scaleAndCountName(false, ratio)] as (...args: number[]) => void;
			scale(address, slot(8), n, ratio);
		}
	};
}
