import type { MergePlan } from "../plan/merge-plan.js";

/** Assumed rates for the time estimate; printed with it so that nobody mistakes it for a measurement. */
export const ASSUMED_DOWNLOAD_BYTES_PER_SECOND = 50e6;
export const ASSUMED_MERGE_BYTES_PER_SECOND = 200e6;

export interface ResourceEstimate {
	/** Bytes still to come from the Hub (what the cache lacks). */
	downloadBytes: number;
	downloadFiles: number;
	/** New disk use: the downloads plus the merged weights. */
	diskBytes: number;
	/** The largest working set of one tensor's merge (inputs and output as float32). */
	peakMemoryBytes: number;
	/** Download and merge time at the assumed rates. */
	seconds: number;
}

/** What a plan will cost before anything runs: downloads, disk, memory and a rough time. */
export function estimateResources(plan: MergePlan): ResourceEstimate {
	let downloadBytes = 0;
	let downloadFiles = 0;
	for (const model of plan.models) {
		downloadBytes += model.hub?.pendingBytes ?? 0;
		downloadFiles += model.hub?.pending.length ?? 0;
	}
	return {
		downloadBytes,
		downloadFiles,
		diskBytes: downloadBytes + plan.bytesToWrite,
		peakMemoryBytes: plan.peakTensorBytes,
		seconds:
			downloadBytes / ASSUMED_DOWNLOAD_BYTES_PER_SECOND +
			(plan.bytesToRead + plan.bytesToWrite) / ASSUMED_MERGE_BYTES_PER_SECOND,
	};
}
