import type { ParentChange } from "./schedule.js";

/** The inputs whose resolved commit differs between two runs, in the current run's order, then those dropped. */
export function diffInputs(
	previous: Readonly<Record<string, string>>,
	current: Readonly<Record<string, string>>,
): ParentChange[] {
	const changes: ParentChange[] = [];
	for (const [model, to] of Object.entries(current)) {
		if (previous[model] !== to) {
			changes.push({ model, from: previous[model], to });
		}
	}
	for (const [model, from] of Object.entries(previous)) {
		if (!(model in current)) {
			changes.push({ model, from, to: undefined });
		}
	}
	return changes;
}
