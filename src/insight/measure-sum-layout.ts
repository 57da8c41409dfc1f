/**
 * Where each sum of the measurement pass sits in its flat Float64Array (the shape range kernels return): four totals
 * (‖B‖², ‖Δ‖², conflicting elements, of those the ones left at the base), then per model ‖τᵢ‖², ⟨τᵢ, Δ⟩, conflict
 * wins and contested elements, then ⟨τᵢ, τₖ⟩ for i < k in row order.
 */
export function measureSumLayout(count: number): {
	normSq: number;
	dotDelta: number;
	wins: number;
	contested: number;
	gram: number;
	length: number;
} {
	const normSq = 4;
	const dotDelta = normSq + count;
	const wins = dotDelta + count;
	const contested = wins + count;
	const gram = contested + count;
	return { normSq, dotDelta, wins, contested, gram, length: gram + (count * (count - 1)) / 2 };
}
