import { mergeTensorValues } from "../execute/execute-plan.js";
import type { MergeEvent } from "../execute/merge-events.js";
import { inputBytes, tensorDoneEvents } from "../execute/tensor-done-events.js";
import { downloadHubModels } from "../models/download-hub-model.js";
import type { ModelSourceOptions } from "../models/load-model.js";
import type { MergePlan } from "../plan/merge-plan.js";
import { SafetensorsFile } from "../safetensors/safetensors-file.js";
import { createMergeMeasurer } from "./create-merge-measurer.js";
import type { MergeReport } from "./merge-report.js";

/**
 * `explain --measure`: runs the merge math of every tensor on the real weights and measures it as a merge would,
 * discarding the merged values; nothing is written. Reports progress as the merge does and returns the report.
 */
export async function* measurePlan(
	plan: MergePlan,
	models: ModelSourceOptions = {},
): AsyncGenerator<MergeEvent, MergeReport> {
	yield* downloadHubModels(plan.models, models);
	const measurer = createMergeMeasurer(plan);
	const files = new Map<string, SafetensorsFile>();
	const openFile = async (path: string): Promise<SafetensorsFile> => {
		let file = files.get(path);
		if (!file) {
			file = await SafetensorsFile.open(path);
			files.set(path, file);
		}
		return file;
	};
	let bytesRead = 0;
	try {
		for (const [index, tensor] of plan.tensors.entries()) {
			const warnings: string[] = [];
			// Raw copies (integer data, plain passthrough) involve no merge math, so there is nothing to measure.
			if (!tensor.copyRaw) {
				await mergeTensorValues(plan, tensor, openFile, (message) => warnings.push(message), measurer.observe);
			}
			bytesRead += inputBytes(tensor);
			yield* tensorDoneEvents(tensor, warnings, {
				done: index + 1,
				total: plan.tensors.length,
				bytesRead,
				bytesToRead: plan.bytesToRead,
			});
		}
	} finally {
		for (const file of files.values()) {
			await file.close();
		}
	}
	return measurer.report();
}
