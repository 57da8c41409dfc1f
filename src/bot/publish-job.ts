import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { HubParams } from "../hub/hub-params.js";
import { listDiscussions } from "../hub/list-discussions.js";
import { pushToHub } from "../publish/push-to-hub.js";
import { describeChangelogEntry } from "../schedule/describe-changelog-entry.js";
import type { JobProgress } from "./job-runner.js";
import type { Job } from "./job-store.js";
import { JOB_RECORD, type JobRecord, readJobRecord } from "./read-job-record.js";

/**
 * What the output repo holds now: `published` when an earlier attempt of this job already committed (its job record
 * is there, or its pull request is open), `own` when an earlier run of the same schedule published it (a re-merge
 * replaces it), `empty` when the repo exists with nothing of a model in it (an attempt created it and died before
 * committing), `absent`, or `taken` when it holds someone else's model.
 */
export type OutputRepoState =
	| { state: "absent" | "empty" }
	| { state: "published"; record: JobRecord; url: string }
	| { state: "own"; record: JobRecord }
	| { state: "taken" };

/** Put in the titles of scheduled publications, so that a retry finds the pull request an earlier attempt opened. */
const jobTag = (job: Job): string => `[job ${job.id.slice(0, 8)}]`;

const repoUrl = (hub: HubParams, repo: string): string =>
	`${(hub.hubUrl ?? "https://huggingface.co").replace(/\/$/, "")}/${repo}`;

export async function outputRepoState(job: Job, hub: HubParams): Promise<OutputRepoState> {
	const main = await readJobRecord(job.outputRepo, hub);
	if (!main) {
		return { state: "absent" };
	}
	const { files, record } = main;
	if (record?.job === job.id) {
		return { state: "published", record, url: repoUrl(hub, job.outputRepo) };
	}
	if (job.schedule?.publish === "pull-request") {
		const tag = jobTag(job);
		for await (const discussion of listDiscussions({ ...hub, repo: job.outputRepo, type: "pull_request" })) {
			if (discussion.title.includes(tag)) {
				const opened = await readJobRecord(job.outputRepo, hub, `refs/pr/${discussion.num}`);
				return {
					state: "published",
					record: opened?.record ?? { job: job.id, request: "" },
					url: `${repoUrl(hub, job.outputRepo)}/discussions/${discussion.num}`,
				};
			}
		}
	}
	if (record !== undefined && job.schedule !== undefined && record.schedule === job.schedule.scheduleId) {
		return { state: "own", record };
	}
	if (record !== undefined) {
		return { state: "taken" };
	}
	return files.every((file) => file === ".gitattributes" || file === "README.md")
		? { state: "empty" }
		: { state: "taken" };
}

/**
 * Publishes a job's merge as one commit with its job record, reporting upload progress; returns the commit and its
 * URL. A scheduled job replaces its own schedule's earlier publication (or opens a pull request, if its schedule
 * says so), with the changelog in the commit message.
 */
export async function publishJob(
	job: Job,
	merged: { outDir: string; files: readonly string[]; record: JobRecord },
	hub: HubParams,
	send: (progress: JobProgress) => void,
): Promise<{ url: string; commit: string }> {
	await writeFile(join(merged.outDir, JOB_RECORD), `${JSON.stringify(merged.record, null, 2)}\n`);
	const { state } = await outputRepoState(job, hub);
	const pullRequest = job.schedule?.publish === "pull-request" && (state === "own" || state === "taken");
	if (state === "taken" && !pullRequest) {
		throw new Error(
			job.schedule
				? `${job.outputRepo} already holds a model that this schedule did not publish; give the schedule another target, or let it open pull requests`
				: `${job.outputRepo} already holds another model; ask for another name with \`/merge OWNER/NAME\``,
		);
	}
	const entry = merged.record.changelog?.[0];
	const message =
		job.schedule && entry
			? describeChangelogEntry(entry)
			: {
					title: `Merge requested in ${job.repo}#${job.discussion}`,
					description: `Published by mergesmith for job ${job.id}.`,
				};
	const push = pushToHub({
		repoId: job.outputRepo,
		hub,
		outDir: merged.outDir,
		files: [...merged.files, JOB_RECORD],
		private: job.private,
		overwrite: state === "empty" || (state === "own" && !pullRequest),
		...(pullRequest ? { pullRequest: true } : {}),
		title: job.schedule ? `${message.title} ${jobTag(job)}` : message.title,
		description: message.description,
	});
	const bytes = new Map<string, { done: number; total: number }>();
	for (;;) {
		const next = await push.next();
		if (next.done) {
			return { url: next.value.pullRequestUrl ?? repoUrl(hub, job.outputRepo), commit: next.value.commit };
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
