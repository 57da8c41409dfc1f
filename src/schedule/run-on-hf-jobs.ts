import { cancelJob, getJob, runJob, type SpaceHardwareFlavor, streamJobLogs } from "@huggingface/hub";
import type { JobProgress } from "../bot/job-runner.js";
import type { Job, JobEvent } from "../bot/job-store.js";
import type { HubParams } from "../hub/hub-params.js";
import { parseProgressLine } from "./parse-progress-line.js";

export interface HfJobsRunOptions {
	/** The Hub, with the bot's token: it submits the job, and the job publishes with it (sent as a secret). */
	hub: HubParams & { accessToken: string };
	/** Undefined when the operator configured none: the run fails, saying so. */
	image: string | undefined;
	flavor: string;
	timeoutSeconds: number;
	namespace: string;
	/** The job's events so far: an earlier attempt's submission is followed rather than submitted again. */
	events: readonly JobEvent[];
	signal: AbortSignal;
	/**
	 * Whether an abort means the bot job was cancelled (default: always). The bot stopping also aborts, and then the
	 * Hugging Face Job keeps running: the next start follows it.
	 */
	cancelled?: () => boolean;
	/** Between status checks (default 10 s). */
	pollMs?: number;
}

/** Stages after which a job runs no more; the JS and Python clients name different sets, so both are here. */
const FINISHED = new Set(["COMPLETED", "CANCELED", "CANCELLED", "ERROR", "DELETED", "DELETING", "STOPPED"]);

/**
 * Runs a bot job as a Hugging Face Job (spec hub-protocol.md §7) and reports it as a local run reports: the
 * container (docker/Dockerfile) runs `mergesmith schedule run-job`, which merges and publishes exactly as the bot's
 * child process does and prints its JobProgress as log lines; this follows the job's status and logs and yields
 * them. `timeoutSeconds` is always set, since the Hub's default of 30 minutes is too short for most merges.
 */
export async function* runOnHfJobs(job: Job, options: HfJobsRunOptions): AsyncGenerator<JobProgress> {
	const { hub, namespace, signal, image } = options;
	if (image === undefined) {
		yield {
			type: "failed",
			error:
				"`runner: hf-jobs` needs `hfJobs.image` in the bot's config: an image built from docker/Dockerfile (see the README)",
			transient: false,
		};
		return;
	}
	const baseFetch = hub.fetch ?? fetch;
	const access = {
		accessToken: hub.accessToken,
		...(hub.hubUrl === undefined ? {} : { hubUrl: hub.hubUrl }),
		// Every request of this run ends when the bot job is cancelled or the bot stops.
		fetch: ((input, init) => baseFetch(input, { ...init, signal })) as typeof fetch,
	};
	const webUrl = (id: string): string =>
		`${(hub.hubUrl ?? "https://huggingface.co").replace(/\/$/, "")}/jobs/${namespace}/${id}`;
	const earlier = [...options.events].reverse().find((event) => event.type === "submitted")?.data as
		| { id?: string }
		| undefined;
	let remote: Awaited<ReturnType<typeof getJob>> | undefined;
	if (earlier?.id !== undefined) {
		try {
			const found = await getJob({ ...access, namespace, jobId: earlier.id });
			remote = FINISHED.has(found.status.stage) ? undefined : found;
		} catch {
			remote = undefined;
		}
	}
	if (remote === undefined) {
		remote = await runJob({
			...access,
			namespace,
			dockerImage: image,
			command: ["mergesmith", "schedule", "run-job"],
			environment: {
				MERGESMITH_JOB: Buffer.from(JSON.stringify(job)).toString("base64"),
				...(hub.hubUrl === undefined ? {} : { HF_ENDPOINT: hub.hubUrl }),
			},
			secrets: { HF_TOKEN: hub.accessToken },
			// A flavor the Hub lists; new ones appear faster than the client's type, so the config's string is trusted.
			flavor: options.flavor as SpaceHardwareFlavor,
			timeoutSeconds: options.timeoutSeconds,
			labels: { "mergesmith-job": job.id, ...(job.schedule ? { "mergesmith-schedule": job.schedule.scheduleId } : {}) },
		});
	}
	const jobId = remote.id;
	yield { type: "submitted", runner: "hf-jobs", id: jobId, url: webUrl(jobId) };
	let seenLines = 0;
	let outcome: JobProgress | undefined;
	let stage = remote.status.stage as string;
	let message = remote.status.message ?? undefined;
	try {
		while (!signal.aborted) {
			if (stage !== "SCHEDULING") {
				// The logs are served from the start each time: lines already read (before a dropped stream) are skipped.
				let line = 0;
				try {
					for await (const entry of streamJobLogs({ ...access, namespace, jobId })) {
						line++;
						if (line <= seenLines) {
							continue;
						}
						seenLines = line;
						const progress = parseProgressLine(entry.message);
						if (progress) {
							if (progress.type === "published" || progress.type === "failed") {
								outcome = progress;
							}
							yield progress;
						}
					}
				} catch {
					// A dropped log stream: the job's status decides whether to read the logs again.
					if (signal.aborted) {
						break;
					}
				}
			}
			if (outcome !== undefined) {
				return;
			}
			const status = await getJob({ ...access, namespace, jobId });
			stage = status.status.stage;
			message = status.status.message ?? undefined;
			if (FINISHED.has(stage)) {
				break;
			}
			await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 10_000));
		}
	} finally {
		if (signal.aborted && outcome === undefined && (options.cancelled?.() ?? true)) {
			// The bot job was cancelled: so is the Hugging Face Job (best effort, without the aborted signal).
			await cancelJob({ ...access, fetch: baseFetch, namespace, jobId }).catch(() => undefined);
		}
	}
	if (outcome === undefined && !signal.aborted) {
		yield {
			type: "failed",
			error: `the Hugging Face Job ${jobId} ended (${stage}${message ? `: ${message}` : ""}) without a result`,
			// A job that finished without a word may have published: a retry finds its record and reports it.
			transient: stage === "COMPLETED",
		};
	}
}
