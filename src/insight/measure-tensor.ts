import type { ModelTensor } from "../methods/merge-method.js";
import { leastSquaresShares } from "./least-squares-shares.js";
import { createMeasureSums, type MeasureSums } from "./measure-sums.js";
import type { MergedTensor } from "./tensor-observer.js";

/**
 * Measures one merged tensor against the base in a single pass over the data the executor already holds: the base
 * B, each model's task vector τᵢ = Xᵢ − B (never stored: recomputed per element), and the final change
 * Δ = result − B. `modelIndex` places each model in the report's model list; the base, and models outside the list,
 * have no task vector. Without a base tensor nothing but the tensor count is recorded.
 */
export function measureTensor(
	merged: MergedTensor,
	baseKey: string | undefined,
	modelIndex: ReadonlyMap<string, number>,
): MeasureSums {
	const sums = createMeasureSums(modelIndex.size);
	sums.tensors = 1;
	const { inputs, result } = merged;
	const base = inputs.base ?? inputs.models.find((input) => input.model === baseKey);
	const y = result.data;
	if (!base || base.data.length !== y.length) {
		return sums;
	}
	const others: { tensor: ModelTensor; index: number }[] = [];
	for (const tensor of inputs.models) {
		const index = modelIndex.get(tensor.model);
		if (tensor.model !== base.model && index !== undefined && tensor.data.length === y.length) {
			others.push({ tensor, index });
		}
	}
	const count = others.length;
	const xs = others.map((other) => other.tensor.data);
	const pass = createPass(count);
	// Most merges have two or three models: unrolled loops keep every sum in a register and run several times faster
	// than the general loop (about 5 and 10 ns per element against 30 and 50).
	if (count <= 2) {
		passTwo(base.data, xs[0] ?? base.data, xs[1] ?? base.data, y, pass);
	} else if (count === 3) {
		passThree(base.data, xs[0] as Float32Array, xs[1] as Float32Array, xs[2] as Float32Array, y, pass);
	} else {
		passAny(base.data, xs, y, pass);
	}
	const { normSq, dotDelta, gram, wins, contested } = pass;
	const n = y.length;
	const explained = leastSquaresShares(gram, dotDelta, count);
	sums.elements = n;
	sums.baseSq = pass.baseSq;
	sums.deltaSq = pass.deltaSq;
	sums.conflicts = pass.conflicts;
	sums.conflictsAtBase = pass.conflictsAtBase;
	const size = sums.count;
	others.forEach(({ index }, i) => {
		sums.present[index] = n;
		sums.normSq[index] = normSq[i] as number;
		sums.dotDelta[index] = dotDelta[i] as number;
		sums.explained[index] = explained[i] as number;
		sums.wins[index] = wins[i] as number;
		sums.contested[index] = contested[i] as number;
		others.forEach(({ index: other }, k) => {
			sums.gram[index * size + other] = gram[i * count + k] as number;
		});
	});
	for (const stats of merged.kernelStats) {
		for (const model of stats.models) {
			const index = modelIndex.get(model.model);
			if (index === undefined) {
				continue;
			}
			sums.kept[index] = (sums.kept[index] as number) + model.kept;
			sums.keptOf[index] = (sums.keptOf[index] as number) + stats.elements;
			if (model.agreed !== undefined) {
				sums.agreed[index] = (sums.agreed[index] as number) + model.agreed;
				sums.agreedOf[index] = (sums.agreedOf[index] as number) + model.kept;
			}
		}
	}
	return sums;
}

/** One pass's sums; per-model arrays sized for the models present (at least 2, so that passTwo can fill them). */
interface Pass {
	baseSq: number;
	deltaSq: number;
	conflicts: number;
	conflictsAtBase: number;
	normSq: Float64Array;
	dotDelta: Float64Array;
	/** count × count, both triangles filled. */
	gram: Float64Array;
	wins: Float64Array;
	contested: Float64Array;
}

function createPass(count: number): Pass {
	return {
		baseSq: 0,
		deltaSq: 0,
		conflicts: 0,
		conflictsAtBase: 0,
		normSq: new Float64Array(count),
		dotDelta: new Float64Array(count),
		gram: new Float64Array(count * count),
		wins: new Float64Array(count),
		contested: new Float64Array(count),
	};
}

/** Up to two models; a missing one is passed as the base itself (a zero task vector, which never conflicts). */
function passTwo(b: Float32Array, x0: Float32Array, x1: Float32Array, y: Float32Array, pass: Pass): void {
	let baseSq = 0;
	let deltaSq = 0;
	let conflicts = 0;
	let n0 = 0;
	let n1 = 0;
	let d0 = 0;
	let d1 = 0;
	let g01 = 0;
	let w0 = 0;
	let w1 = 0;
	const n = y.length;
	for (let j = 0; j < n; j++) {
		const bj = b[j] as number;
		const d = (y[j] as number) - bj;
		const t0 = (x0[j] as number) - bj;
		const t1 = (x1[j] as number) - bj;
		baseSq += bj * bj;
		deltaSq += d * d;
		n0 += t0 * t0;
		n1 += t1 * t1;
		d0 += t0 * d;
		d1 += t1 * d;
		g01 += t0 * t1;
		// Branch-free: conflicting signs are as good as random, which a branch would mispredict half the time.
		const conflict = +(t0 * t1 < 0);
		conflicts += conflict;
		w0 += conflict & +(t0 * d > 0);
		w1 += conflict & +(t1 * d > 0);
	}
	// With two opposite signs, a nonzero Δ sides with exactly one model: the other conflicts stayed at the base.
	Object.assign(pass, { baseSq, deltaSq, conflicts, conflictsAtBase: conflicts - w0 - w1 });
	const k = pass.normSq.length;
	const set = (array: Float64Array, values: readonly number[]): void => {
		for (let i = 0; i < k; i++) {
			array[i] = values[i] as number;
		}
	};
	set(pass.normSq, [n0, n1]);
	set(pass.dotDelta, [d0, d1]);
	set(pass.wins, [w0, w1]);
	set(pass.contested, [conflicts, conflicts]);
	pass.gram[0] = n0;
	if (k === 2) {
		pass.gram[1] = g01;
		pass.gram[2] = g01;
		pass.gram[3] = n1;
	}
}

function passThree(
	b: Float32Array,
	x0: Float32Array,
	x1: Float32Array,
	x2: Float32Array,
	y: Float32Array,
	pass: Pass,
): void {
	let baseSq = 0;
	let deltaSq = 0;
	let conflicts = 0;
	let atBase = 0;
	let n0 = 0;
	let n1 = 0;
	let n2 = 0;
	let d0 = 0;
	let d1 = 0;
	let d2 = 0;
	let g01 = 0;
	let g02 = 0;
	let g12 = 0;
	let w0 = 0;
	let w1 = 0;
	let w2 = 0;
	let c0 = 0;
	let c1 = 0;
	let c2 = 0;
	const n = y.length;
	for (let j = 0; j < n; j++) {
		const bj = b[j] as number;
		const d = (y[j] as number) - bj;
		const t0 = (x0[j] as number) - bj;
		const t1 = (x1[j] as number) - bj;
		const t2 = (x2[j] as number) - bj;
		baseSq += bj * bj;
		deltaSq += d * d;
		n0 += t0 * t0;
		n1 += t1 * t1;
		n2 += t2 * t2;
		d0 += t0 * d;
		d1 += t1 * d;
		d2 += t2 * d;
		g01 += t0 * t1;
		g02 += t0 * t2;
		g12 += t1 * t2;
		const conflict = (+(t0 > 0) | +(t1 > 0) | +(t2 > 0)) & (+(t0 < 0) | +(t1 < 0) | +(t2 < 0));
		conflicts += conflict;
		atBase += conflict & +(d === 0);
		w0 += conflict & +(t0 * d > 0);
		w1 += conflict & +(t1 * d > 0);
		w2 += conflict & +(t2 * d > 0);
		c0 += conflict & +(t0 !== 0);
		c1 += conflict & +(t1 !== 0);
		c2 += conflict & +(t2 !== 0);
	}
	Object.assign(pass, { baseSq, deltaSq, conflicts, conflictsAtBase: atBase });
	pass.normSq.set([n0, n1, n2]);
	pass.dotDelta.set([d0, d1, d2]);
	pass.wins.set([w0, w1, w2]);
	pass.contested.set([c0, c1, c2]);
	pass.gram.set([n0, g01, g02, g01, n1, g12, g02, g12, n2]);
}

/** Any number of models: the general loop, with one element's task-vector values in a scratch array. */
function passAny(b: Float32Array, xs: readonly Float32Array[], y: Float32Array, pass: Pass): void {
	const count = xs.length;
	const { normSq, dotDelta, gram, wins, contested } = pass;
	const tau = new Float64Array(count);
	let baseSq = 0;
	let deltaSq = 0;
	let conflicts = 0;
	let atBase = 0;
	const n = y.length;
	for (let j = 0; j < n; j++) {
		const bj = b[j] as number;
		const d = (y[j] as number) - bj;
		baseSq += bj * bj;
		deltaSq += d * d;
		let positive = 0;
		let negative = 0;
		for (let i = 0; i < count; i++) {
			const v = ((xs[i] as Float32Array)[j] as number) - bj;
			tau[i] = v;
			positive |= +(v > 0);
			negative |= +(v < 0);
			normSq[i] = (normSq[i] as number) + v * v;
			dotDelta[i] = (dotDelta[i] as number) + v * d;
			const row = i * count;
			for (let k = 0; k < i; k++) {
				gram[row + k] = (gram[row + k] as number) + v * (tau[k] as number);
			}
		}
		if (positive & negative) {
			conflicts++;
			atBase += +(d === 0);
			for (let i = 0; i < count; i++) {
				const v = tau[i] as number;
				contested[i] = (contested[i] as number) + +(v !== 0);
				wins[i] = (wins[i] as number) + +(v * d > 0);
			}
		}
	}
	for (let i = 0; i < count; i++) {
		gram[i * count + i] = normSq[i] as number;
		for (let k = 0; k < i; k++) {
			gram[k * count + i] = gram[i * count + k] as number;
		}
	}
	Object.assign(pass, { baseSq, deltaSq, conflicts, conflictsAtBase: atBase });
}
