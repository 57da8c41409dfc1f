import { downloadFile, listFiles } from "@huggingface/hub";
import type { HubParams } from "../hub/hub-params.js";
import type { ChangelogEntry } from "../schedule/schedule.js";

/** Written into every repo the bot publishes: which job made it, so a retried job never publishes twice. */
export const JOB_RECORD = "mergesmith-job.json";

export interface JobRecord {
	job: string;
	request: string;
	recipeSha256?: string;
	/** The schedule that published it: a later run of the same schedule may replace it. */
	schedule?: string;
	/** `MERGE_MATH_VERSION` of the mergesmith that merged it. */
	mathVersion?: string;
	/** Each reference of the recipe (its key) and the commit the merge read. */
	inputs?: Record<string, string>;
	/** Scheduled publications: the newest entries of the card's changelog, newest first. */
	changelog?: ChangelogEntry[];
}

/**
 * The files of a model repo at `revision` (default main) and the job record among them, if any; undefined when the
 * repo does not exist (or the token cannot see it).
 */
export async function readJobRecord(
	repoId: string,
	hub: HubParams,
	revision?: string,
): Promise<{ files: string[]; record: JobRecord | undefined } | undefined> {
	const repo = { type: "model" as const, name: repoId };
	const access = {
		accessToken: hub.accessToken ?? "",
		...(hub.hubUrl === undefined ? {} : { hubUrl: hub.hubUrl }),
		...(hub.fetch === undefined ? {} : { fetch: hub.fetch }),
		...(revision === undefined ? {} : { revision }),
	};
	const files: string[] = [];
	try {
		for await (const entry of listFiles({ repo, ...access })) {
			files.push(entry.path);
		}
	} catch (error) {
		if ((error as { statusCode?: number }).statusCode === 404) {
			return undefined;
		}
		throw error;
	}
	if (!files.includes(JOB_RECORD)) {
		return { files, record: undefined };
	}
	const blob = await downloadFile({ repo, path: JOB_RECORD, ...access });
	return { files, record: JSON.parse((await blob?.text()) ?? "{}") as JobRecord };
}
