import type { MeasureSums } from "./measure-sums.js";

/** Adds `from` into `into` (both sized for the same model list). */
export function addMeasureSums(into: MeasureSums, from: MeasureSums): void {
	into.tensors += from.tensors;
	into.elements += from.elements;
	into.baseSq += from.baseSq;
	into.deltaSq += from.deltaSq;
	into.conflicts += from.conflicts;
	into.conflictsAtBase += from.conflictsAtBase;
	const arrays = [
		"present",
		"normSq",
		"dotDelta",
		"gram",
		"explained",
		"wins",
		"contested",
		"kept",
		"keptOf",
		"agreed",
		"agreedOf",
	] as const;
	for (const key of arrays) {
		const target = into[key];
		const source = from[key];
		for (let i = 0; i < target.length; i++) {
			target[i] = (target[i] as number) + (source[i] as number);
		}
	}
}
