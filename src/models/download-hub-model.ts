import type { MergeEvent } from "../execute/merge-events.js";
import { downloadToCacheDir } from "../hub/download-to-cache-dir.js";
import { SafetensorsFile } from "../safetensors/safetensors-file.js";
import { createEventChannel } from "./event-channel.js";
import { hubCacheDir, writeCacheRef } from "./hf-cache.js";
import type { LoadedModel, ModelSourceOptions, RemoteFile } from "./load-model.js";

/** Files fetched at once, across all models (the Python client's default for snapshot downloads is 8). */
const DEFAULT_CONCURRENCY = 4;

interface Job {
	model: LoadedModel;
	repoId: string;
	commit: string;
	file: RemoteFile;
}

/**
 * Downloads what the cache lacks of the Hub models a plan reads (`hub.pending`), a few files at a time, into the
 * standard cache, reporting `download` progress per file and `downloaded` per model. Each file is resumable and
 * verified (see `downloadToCacheDir`); afterwards each model's headers are read back from disk and must match the
 * ones the plan was made from. Models fully in the cache cost nothing.
 */
export async function* downloadHubModels(
	models: readonly LoadedModel[],
	options: ModelSourceOptions & {
		concurrency?: number;
		/** Files fetched elsewhere (streamed into the merge): left alone here, with their models' header checks. */
		skip?: (model: LoadedModel, file: RemoteFile) => boolean;
	} = {},
): AsyncGenerator<MergeEvent> {
	const cacheDir = options.cacheDir ?? hubCacheDir();
	// Two references may name one repo (`org/x` and `org/x@main`), and commits share blobs: fetch each blob once,
	// one job after another within a group, so that no two downloads write the same `.incomplete` file.
	const groups = new Map<string, Job[]>();
	const seen = new Set<string>();
	for (const model of models) {
		if (!model.hub || model.commit === undefined) {
			continue;
		}
		for (const file of model.hub.pending) {
			const key = `${model.hub.repoId}\0${model.commit}\0${file.path}`;
			if (seen.has(key) || options.skip?.(model, file)) {
				continue;
			}
			seen.add(key);
			const blob = `${model.hub.repoId}\0${file.sha256 ?? file.oid}`;
			groups.set(blob, [...(groups.get(blob) ?? []), { model, repoId: model.hub.repoId, commit: model.commit, file }]);
		}
	}
	if (groups.size === 0) {
		return;
	}
	const skipped = (model: LoadedModel): boolean =>
		model.hub?.pending.some((file) => options.skip?.(model, file) === true) === true;
	const started = performance.now();
	const channel = createEventChannel<MergeEvent>();
	const abort = new AbortController();
	const queue = [...groups.values()];
	const fetched = new Map<LoadedModel, number>();
	const worker = async (): Promise<void> => {
		for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
			for (const job of group) {
				const total = job.file.size;
				let reported = -1;
				const report = (bytesDone: number): void => {
					// About a hundred events per file at most, and always the first and the last.
					if (bytesDone === reported) {
						return;
					}
					if (reported < 0 || bytesDone === total || bytesDone - reported >= Math.max(1 << 20, total / 100)) {
						reported = bytesDone;
						channel.push({
							type: "download",
							model: job.model.reference.key,
							file: job.file.path,
							bytesDone,
							bytesTotal: total,
						});
					}
				};
				const result = await downloadToCacheDir({
					...(options.hub ?? {}),
					repoId: job.repoId,
					path: job.file.path,
					commit: job.commit,
					cacheDir,
					size: total,
					oid: job.file.oid,
					...(job.file.sha256 === undefined ? {} : { sha256: job.file.sha256 }),
					onProgress: report,
					signal: abort.signal,
				});
				report(total);
				fetched.set(job.model, (fetched.get(job.model) ?? 0) + result.fetched);
			}
		}
	};
	let failure: { error: unknown } | undefined;
	const workers = Array.from({ length: Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, queue.length) }, () =>
		worker().catch((error: unknown) => {
			// One failure stops the others; what they fetched so far stays in `.incomplete` files for the next run.
			failure ??= { error };
			abort.abort();
		}),
	);
	// Settle every worker (their files closed) before reporting, so that a rerun never meets a file still open.
	void Promise.all(workers).then(() => (failure ? channel.fail(failure.error) : channel.close()));
	yield* channel.drain();
	for (const model of models) {
		if (!model.hub || model.commit === undefined || model.hub.pending.length === 0 || skipped(model)) {
			continue;
		}
		await checkHeaders(model);
		writeCacheRef(cacheDir, model.hub.repoId, model.hub.revision ?? "main", model.commit);
		yield {
			type: "downloaded",
			model: model.reference.key,
			commit: model.commit,
			files: model.hub.pending.length,
			bytes: fetched.get(model) ?? 0,
			seconds: (performance.now() - started) / 1000,
		};
	}
}

/** The downloaded shards' headers must be the ones the plan was made from (read from the Hub before). */
export async function checkHeaders(model: LoadedModel): Promise<void> {
	const byFile = new Map<string, number>();
	for (const tensor of model.tensors.values()) {
		byFile.set(tensor.file, (byFile.get(tensor.file) ?? 0) + 1);
	}
	for (const [path, count] of byFile) {
		const file = await SafetensorsFile.open(path);
		try {
			const same =
				file.tensors.size === count &&
				[...file.tensors.values()].every((info) => {
					const planned = model.tensors.get(info.name);
					return (
						planned !== undefined &&
						planned.file === path &&
						planned.byteOffset === info.byteOffset &&
						planned.byteLength === info.byteLength &&
						planned.dtype === info.dtype &&
						planned.shape.join() === info.shape.join()
					);
				});
			if (!same) {
				throw new Error(
					`${path} of ${model.reference.key} does not have the header read from the Hub before the download; run again`,
				);
			}
		} finally {
			await file.close();
		}
	}
}
