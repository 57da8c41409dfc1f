import type { MeasureSums } from "./measure-sums.js";
import type { GroupStats, ModelStats } from "./merge-report.js";

/** Turns summed counts and products into the report's ratios; keeps 6 significant digits so the JSON stays small. */
export function summarizeSums(sums: MeasureSums, models: readonly string[]): GroupStats {
	const k = sums.count;
	const measured = sums.elements > 0;
	const baseNorm = Math.sqrt(sums.baseSq);
	const deltaNorm = Math.sqrt(sums.deltaSq);
	const ratio = (numerator: number, denominator: number): number | null =>
		denominator > 0 && Number.isFinite(numerator) ? tidy(numerator / denominator) : null;
	const cosine = (i: number, m: number): number | null => {
		const a = sums.gram[i * k + i] as number;
		const b = sums.gram[m * k + m] as number;
		return a > 0 && b > 0 ? tidy(clamp((sums.gram[i * k + m] as number) / Math.sqrt(a * b))) : null;
	};
	const present = (i: number): boolean => (sums.present[i] as number) > 0;
	const modelStats: ModelStats[] = models.map((model, i) => {
		const normSq = sums.normSq[i] as number;
		return {
			model,
			taskVectorNorm: tidy(Math.sqrt(normSq)),
			relativeTaskVectorNorm: present(i) ? ratio(Math.sqrt(normSq), baseNorm) : null,
			deltaCosine:
				present(i) && normSq > 0 && deltaNorm > 0
					? tidy(clamp((sums.dotDelta[i] as number) / (Math.sqrt(normSq) * deltaNorm)))
					: null,
			share: present(i) ? ratio(sums.explained[i] as number, sums.deltaSq) : null,
			conflictWins: ratio(sums.wins[i] as number, sums.contested[i] as number),
			keptFraction: ratio(sums.kept[i] as number, sums.keptOf[i] as number),
			signAgreement: ratio(sums.agreed[i] as number, sums.agreedOf[i] as number),
		};
	});
	const similarity = models.map((_, i) => models.map((__, m) => (i === m ? (present(i) ? 1 : null) : cosine(i, m))));
	const pairs: number[] = [];
	for (let i = 0; i < k; i++) {
		for (let m = i + 1; m < k; m++) {
			const value = cosine(i, m);
			if (value !== null) {
				pairs.push(value);
			}
		}
	}
	const explained = modelStats.reduce((sum, stats) => sum + (stats.share ?? 0), 0);
	const active = models.filter((_, i) => present(i)).length;
	return {
		tensors: sums.tensors,
		elements: sums.elements,
		relativeChange: measured ? ratio(deltaNorm, baseNorm) : null,
		// One model alone cannot disagree with anyone: no number rather than a misleading 0.
		signConflict: measured && active >= 2 ? tidy(sums.conflicts / sums.elements) : null,
		conflictAtBase: ratio(sums.conflictsAtBase, sums.conflicts),
		meanTaskVectorCosine: pairs.length > 0 ? tidy(pairs.reduce((a, b) => a + b, 0) / pairs.length) : null,
		explained: measured && sums.deltaSq > 0 ? tidy(explained) : null,
		models: modelStats,
		similarity,
	};
}

function clamp(value: number): number {
	return Math.min(1, Math.max(-1, value));
}

function tidy(value: number): number {
	return Number(value.toPrecision(6));
}
