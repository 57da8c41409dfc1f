import type { PlannedTensor } from "../plan/merge-plan.js";

/** The output layer a planned tensor belongs to (output names are renumbered across slices); undefined outside layers. */
export function tensorLayer(tensor: PlannedTensor): number | undefined {
	if (tensor.layer === undefined) {
		return undefined;
	}
	const match = /\.(\d+)\./.exec(tensor.name);
	return match ? Number(match[1]) : undefined;
}
