import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { deriveLicense } from "../publish/derive-license.js";
import { parseRecipe } from "../recipe/parse-recipe.js";
import { runMerge } from "../run-merge.js";
import type { JobProgress } from "./job-runner.js";
import type { Job } from "./job-store.js";
import { outputRepoState, publishJob } from "./publish-job.js";
import { renderMergeSummary } from "./render-reply.js";

/**
 * The merge of one bot job, in its own process: the bot's event loop never computes tensors. It reports
 * JobProgress messages to the parent and exits.
 */
async function runJob(job: Job, workDir: string, send: (progress: JobProgress) => void): Promise<void> {
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
	const hub = hubAccess();
	send({ type: "phase", phase: "preparing", method: parsed.recipe.mergeMethod });
	if ((await outputRepoState(job, hub)) === "published") {
		// An earlier attempt published and died before it could say so: report that commit, publish nothing.
		send({
			type: "published",
			url: `${(hub.hubUrl ?? "https://huggingface.co").replace(/\/$/, "")}/${job.outputRepo}`,
			commit: "",
			summary: "Published by an earlier attempt of this job.",
		});
		return;
	}
	let merging = false;
	let files: string[] = [];
	let summary = "";
	const started = performance.now();
	for await (const event of runMerge({ recipe: parsed.recipe, outDir, models: { hub } })) {
		if (event.type === "done") {
			files = event.files;
		} else if (event.type === "planned") {
			summary = renderMergeSummary(event.plan, deriveLicense(event.plan.models).license);
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
	send({ type: "phase", phase: "uploading" });
	const published = await publishJob(job, { outDir, files }, hub, send);
	send({ type: "published", ...published, summary });
	await rm(dir, { recursive: true, force: true });
}

function hubAccess(): { hubUrl?: string; accessToken?: string } {
	return {
		...(process.env.HF_ENDPOINT ? { hubUrl: process.env.HF_ENDPOINT } : {}),
		...(process.env.HF_TOKEN ? { accessToken: process.env.HF_TOKEN } : {}),
	};
}

process.once("message", (message: { job: Job; workDir: string }) => {
	const send = (progress: JobProgress): void => {
		process.send?.(progress);
	};
	runJob(message.job, message.workDir, send)
		.catch((error: unknown) => {
			send({ type: "failed", error: (error as Error).message, transient: isTransient(error) });
		})
		.finally(() => {
			process.disconnect?.();
		});
});

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
