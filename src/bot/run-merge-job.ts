import { createHash } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { HubParams } from "../hub/hub-params.js";
import { renderHeadlineMarkdown } from "../insight/render-headline-markdown.js";
import { MERGE_MATH_VERSION } from "../merge-math-version.js";
import { deriveLicense } from "../publish/derive-license.js";
import { parseRecipe } from "../recipe/parse-recipe.js";
import { runMerge } from "../run-merge.js";
import { appendCardChangelog } from "../schedule/append-card-changelog.js";
import { diffInputs } from "../schedule/diff-inputs.js";
import type { ChangelogEntry } from "../schedule/schedule.js";
import type { JobProgress } from "./job-runner.js";
import type { Job } from "./job-store.js";
import { outputRepoState, publishJob } from "./publish-job.js";
import type { JobRecord } from "./read-job-record.js";
import { renderMergeSummary } from "./render-reply.js";

/** Entries of the changelog a publication carries on (the card shows them all). */
const CHANGELOG_ENTRIES = 20;

/**
 * The merge of one bot job, wherever it runs (a child process of the bot, or a Hugging Face Job): checks the output
 * repo, merges, writes the job record (and for a scheduled job the changelog, in the card and the commit message),
 * publishes, and reports JobProgress through `send`. It never throws: a failure is reported, transient or not.
 */
export async function runMergeJob(
	job: Job,
	workDir: string,
	hub: HubParams,
	send: (progress: JobProgress) => void,
): Promise<void> {
	try {
		await run(job, workDir, hub, send);
	} catch (error) {
		send({ type: "failed", error: (error as Error).message, transient: isTransient(error) });
	}
}

async function run(job: Job, workDir: string, hub: HubParams, send: (progress: JobProgress) => void): Promise<void> {
	const parsed = parseRecipe(job.recipe, { lineOffset: job.recipeLineOffset });
	if (!parsed.recipe) {
		send({ type: "failed", error: parsed.diagnostics.map((d) => d.message).join("; "), transient: false });
		return;
	}
	// Every attempt starts from an empty folder, so a run cut short leaves nothing behind that a retry could trust.
	const dir = join(workDir, job.id);
	await rm(dir, { recursive: true, force: true });
	await mkdir(dir, { recursive: true });
	const outDir = join(dir, "out");
	send({ type: "phase", phase: "preparing", method: parsed.recipe.mergeMethod });
	const target = await outputRepoState(job, hub);
	if (target.state === "published") {
		// An earlier attempt published and died before it could say so: report that publication, publish nothing.
		send({
			type: "published",
			url: target.url,
			commit: "",
			summary: "Published by an earlier attempt of this job.",
			record: target.record,
		});
		return;
	}
	let merging = false;
	let files: string[] = [];
	let summary = "";
	const inputs: Record<string, string> = {};
	const started = performance.now();
	for await (const event of runMerge({ recipe: parsed.recipe, outDir, models: { hub, hubOnly: true } })) {
		if (event.type === "done") {
			files = event.files;
			if (event.report) {
				const repoUrl = `${(hub.hubUrl ?? "https://huggingface.co").replace(/\/$/, "")}/${job.outputRepo}`;
				summary += `\n\n${renderHeadlineMarkdown(event.report, (path) => `${repoUrl}/blob/main/${path}`)}`;
			}
		} else if (event.type === "planned") {
			summary = renderMergeSummary(event.plan, deriveLicense(event.plan.models).license);
			for (const model of event.plan.models) {
				if (model.commit !== undefined) {
					inputs[model.reference.key] = model.commit;
				}
			}
		}
		if (event.type === "tensor") {
			if (!merging) {
				merging = true;
				send({ type: "phase", phase: "merging" });
			}
			const fraction = event.bytesToRead > 0 ? event.bytesRead / event.bytesToRead : event.done / event.total;
			const elapsed = (performance.now() - started) / 1000;
			send({
				type: "progress",
				tensorsDone: event.done,
				tensorsTotal: event.total,
				etaSeconds: fraction > 0 ? (elapsed / fraction) * (1 - fraction) : 0,
			});
		}
	}
	const recipeSha256 = createHash("sha256").update(job.recipe).digest("hex");
	const record: JobRecord = {
		job: job.id,
		request: job.discussion === undefined ? `schedule ${job.schedule?.scheduleId}` : `${job.repo}#${job.discussion}`,
		recipeSha256,
		mathVersion: MERGE_MATH_VERSION,
		inputs,
	};
	if (job.schedule) {
		// The revisions this merge actually read (resolved again here), against the last publication's.
		const previous = job.schedule.previous;
		const notes: string[] = [];
		if (previous === undefined) {
			notes.push("first publication");
		} else {
			if (previous.recipeSha256 !== recipeSha256) {
				notes.push("the recipe changed");
			}
			if (previous.mathVersion !== MERGE_MATH_VERSION) {
				notes.push(
					`mergesmith's merge arithmetic changed (${previous.mathVersion ?? "unknown"} → ${MERGE_MATH_VERSION})`,
				);
			}
		}
		const changes = diffInputs(previous?.inputs ?? {}, inputs);
		if (changes.length === 0 && notes.length === 0) {
			notes.push("merged again on request; no input had changed");
		}
		const entry: ChangelogEntry = { at: new Date().toISOString(), job: job.id, changes, notes };
		const earlier = target.state === "own" ? (target.record.changelog ?? []) : [];
		record.schedule = job.schedule.scheduleId;
		record.changelog = [entry, ...earlier].slice(0, CHANGELOG_ENTRIES);
		await appendCardChangelog(outDir, record.changelog);
	}
	send({ type: "phase", phase: "uploading" });
	const published = await publishJob(job, { outDir, files, record }, hub, send);
	send({ type: "published", ...published, summary, record });
	await rm(dir, { recursive: true, force: true });
}

/** Network failures and Hub 5xx/429 answers are worth a retry; recipe and model errors are not. */
function isTransient(error: unknown): boolean {
	const status =
		(error as { statusCode?: number; status?: number }).statusCode ?? (error as { status?: number }).status;
	if (typeof status === "number") {
		return status >= 500 || status === 429;
	}
	const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
	return code === "ECONNRESET" || code === "ECONNREFUSED" || code === "ETIMEDOUT" || code === "UND_ERR_SOCKET";
}
