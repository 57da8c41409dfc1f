import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { downloadFile, listFiles } from "@huggingface/hub";
import type { HubParams } from "../hub/hub-params.js";
import { pushToHub } from "../publish/push-to-hub.js";
import type { JobProgress } from "./job-runner.js";
import type { Job } from "./job-store.js";

/** Written into every repo the bot publishes: which job made it, so a retried job never publishes twice. */
export const JOB_RECORD = "mergesmith-job.json";

export interface JobRecord {
	job: string;
	request: string;
	recipeSha256?: string;
}

function access(hub: HubParams): { accessToken: string; hubUrl?: string; fetch?: typeof fetch } {
	return {
		accessToken: hub.accessToken ?? "",
		...(hub.hubUrl === undefined ? {} : { hubUrl: hub.hubUrl }),
		...(hub.fetch === undefined ? {} : { fetch: hub.fetch }),
	};
}

/**
 * What the output repo holds now: `published` when an earlier attempt of this job already committed (its job record
 * is there), `empty` when the repo exists with nothing of a model in it (an attempt created it and died before
 * committing), `absent`, or `taken` when it holds someone else's model.
 */
export async function outputRepoState(job: Job, hub: HubParams): Promise<"absent" | "empty" | "published" | "taken"> {
	const repo = { type: "model" as const, name: job.outputRepo };
	const files: string[] = [];
	try {
		for await (const entry of listFiles({ repo, ...access(hub) })) {
			files.push(entry.path);
		}
	} catch (error) {
		if ((error as { statusCode?: number }).statusCode === 404) {
			return "absent";
		}
		throw error;
	}
	if (files.includes(JOB_RECORD)) {
		const blob = await downloadFile({ repo, path: JOB_RECORD, ...access(hub) });
		const record = JSON.parse((await blob?.text()) ?? "{}") as Partial<JobRecord>;
		return record.job === job.id ? "published" : "taken";
	}
	return files.every((file) => file === ".gitattributes" || file === "README.md") ? "empty" : "taken";
}

/** Publishes a job's merge as one commit, reporting upload progress; returns the commit and its URL. */
export async function publishJob(
	job: Job,
	merged: { outDir: string; files: readonly string[] },
	hub: HubParams,
	send: (progress: JobProgress) => void,
): Promise<{ url: string; commit: string }> {
	const record: JobRecord = { job: job.id, request: `${job.repo}#${job.discussion}` };
	await writeFile(join(merged.outDir, JOB_RECORD), `${JSON.stringify(record, null, 2)}\n`);
	const state = await outputRepoState(job, hub);
	if (state === "taken") {
		throw new Error(`${job.outputRepo} already holds another model; ask for another name with \`/merge OWNER/NAME\``);
	}
	const push = pushToHub({
		repoId: job.outputRepo,
		hub,
		outDir: merged.outDir,
		files: [...merged.files, JOB_RECORD],
		private: job.private,
		overwrite: state === "empty",
		title: `Merge requested in ${job.repo}#${job.discussion}`,
		description: `Published by mergesmith for job ${job.id}.`,
	});
	const bytes = new Map<string, { done: number; total: number }>();
	for (;;) {
		const next = await push.next();
		if (next.done) {
			return {
				url: `${(hub.hubUrl ?? "https://huggingface.co").replace(/\/$/, "")}/${job.outputRepo}`,
				commit: next.value.commit,
			};
		}
		const event = next.value;
		if (event.type === "upload") {
			bytes.set(event.file, { done: event.bytesDone, total: event.bytesTotal });
			const totals = [...bytes.values()].reduce(
				(sum, file) => ({ done: sum.done + file.done, total: sum.total + file.total }),
				{ done: 0, total: 0 },
			);
			send({ type: "progress", bytesDone: totals.done, bytesTotal: totals.total });
		}
	}
}
