/**
 * Float64 sums over the elements of one or more tensors, from which every statistic of the merge report follows.
 * Sums (not averages) so that tensors add up into layers, modules and the whole merge exactly; per-model arrays are
 * indexed by the report's model list, and `gram` is that list's K×K matrix of task-vector dot products.
 */
export interface MeasureSums {
	/** Models (task vectors) the arrays are sized for. */
	count: number;
	tensors: number;
	/** Elements measured against a base. */
	elements: number;
	/** ‖B‖². */
	baseSq: number;
	/** ‖Δ‖², Δ = result − B. */
	deltaSq: number;
	/** Elements where two task vectors have opposite signs. */
	conflicts: number;
	/** Of those, the ones the merge left at the base's value (Δ = 0). */
	conflictsAtBase: number;
	/** Elements each model took part in. */
	present: Float64Array;
	/** ‖τᵢ‖², τᵢ = Xᵢ − B. */
	normSq: Float64Array;
	/** ⟨τᵢ, Δ⟩. */
	dotDelta: Float64Array;
	/** ⟨τᵢ, τₖ⟩, row-major K×K, symmetric. */
	gram: Float64Array;
	/** aᵢ⟨τᵢ, Δ⟩ with a the least-squares coefficients of Δ on the τ of each tensor: model i's share of ‖Δ‖². */
	explained: Float64Array;
	/** Conflicting elements where Δ took model i's sign. */
	wins: Float64Array;
	/** Conflicting elements where model i had a sign at all. */
	contested: Float64Array;
	/** Kernel counts: elements kept after sparsification, out of `keptOf`. */
	kept: Float64Array;
	keptOf: Float64Array;
	/** Kernel counts: kept elements whose sign the election chose, out of `agreedOf`. */
	agreed: Float64Array;
	agreedOf: Float64Array;
}

export function createMeasureSums(count: number): MeasureSums {
	const perModel = (): Float64Array => new Float64Array(count);
	return {
		count,
		tensors: 0,
		elements: 0,
		baseSq: 0,
		deltaSq: 0,
		conflicts: 0,
		conflictsAtBase: 0,
		present: perModel(),
		normSq: perModel(),
		dotDelta: perModel(),
		gram: new Float64Array(count * count),
		explained: perModel(),
		wins: perModel(),
		contested: perModel(),
		kept: perModel(),
		keptOf: perModel(),
		agreed: perModel(),
		agreedOf: perModel(),
	};
}
