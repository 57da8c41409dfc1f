import type { JobProgress } from "./job-runner.js";
import type { Job } from "./job-store.js";
import { runMergeJob } from "./run-merge-job.js";

/**
 * The merge of one bot job, in its own process: the bot's event loop never computes tensors. It reports
 * JobProgress messages to the parent and exits.
 */
process.once("message", (message: { job: Job; workDir: string }) => {
	const send = (progress: JobProgress): void => {
		process.send?.(progress);
	};
	const hub = {
		...(process.env.HF_ENDPOINT ? { hubUrl: process.env.HF_ENDPOINT } : {}),
		...(process.env.HF_TOKEN ? { accessToken: process.env.HF_TOKEN } : {}),
	};
	runMergeJob(message.job, message.workDir, hub, send).finally(() => {
		process.disconnect?.();
	});
});
