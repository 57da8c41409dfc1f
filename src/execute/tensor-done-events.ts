import type { PlannedTensor } from "../plan/merge-plan.js";
import type { MergeEvent } from "./merge-events.js";

/** Bytes of a planned tensor's inputs, as the progress events count them. */
export function inputBytes(tensor: PlannedTensor): number {
	return [tensor.base, ...tensor.models].reduce((sum, input) => sum + (input?.stored.byteLength ?? 0), 0);
}

/**
 * The events of one tensor done: its warnings, named after it, then the progress line. Shared by the merge and by
 * `explain --measure`, which report progress alike.
 */
export function* tensorDoneEvents(
	tensor: PlannedTensor,
	warnings: readonly string[],
	progress: { done: number; total: number; bytesRead: number; bytesToRead: number },
): Generator<MergeEvent> {
	for (const message of warnings) {
		yield { type: "warning", diagnostic: { severity: "warning", message: `${tensor.name}: ${message}` } };
	}
	yield { type: "tensor", name: tensor.name, ...progress };
}
