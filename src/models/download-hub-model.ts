import { downloadFileToCacheDir, listFiles, modelInfo } from "@huggingface/hub";

/** Files a merge reads or carries over; weights are safetensors only. */
const WANTED =
	/^(config\.json|generation_config\.json|model\.safetensors(\.index\.json)?|model-\d{5}-of-\d{5}\.safetensors|tokenizer\.json|tokenizer\.model|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json|merges\.txt|vocab\.json|chat_template\.jinja|chat_template\.json|README\.md)$/;

export interface HubAccess {
	hubUrl?: string;
	accessToken?: string;
	fetch?: typeof fetch;
}

export interface DownloadedSnapshot {
	dir: string;
	commit: string;
	license: string | undefined;
}

/**
 * Resolves a Hub reference to its commit and downloads what a merge needs into the standard cache
 * (`models--org--name/snapshots/<sha>`), so that the next run finds it there.
 */
export async function downloadHubModel(params: {
	repoId: string;
	revision: string | undefined;
	cacheDir: string;
	access: HubAccess;
}): Promise<DownloadedSnapshot> {
	const credentials = {
		...(params.access.hubUrl ? { hubUrl: params.access.hubUrl } : {}),
		...(params.access.accessToken ? { accessToken: params.access.accessToken } : {}),
		...(params.access.fetch ? { fetch: params.access.fetch } : {}),
	};
	const info = await modelInfo({
		name: params.repoId,
		additionalFields: ["sha", "cardData"],
		...(params.revision ? { revision: params.revision } : {}),
		...credentials,
	});
	const commit = info.sha;
	const files: string[] = [];
	for await (const entry of listFiles({
		repo: { type: "model", name: params.repoId },
		revision: commit,
		...credentials,
	})) {
		if (entry.type === "file" && WANTED.test(entry.path)) {
			files.push(entry.path);
		}
	}
	let dir: string | undefined;
	for (const path of files) {
		const local = await downloadFileToCacheDir({
			repo: { type: "model", name: params.repoId },
			path,
			revision: commit,
			cacheDir: params.cacheDir,
			...credentials,
		});
		dir = local.slice(0, local.length - path.length - 1);
	}
	if (dir === undefined) {
		throw new Error(`${params.repoId}@${commit} has none of the files a merge needs (config.json, *.safetensors)`);
	}
	const license = (info.cardData as { license?: unknown } | undefined)?.license;
	return { dir, commit, license: typeof license === "string" ? license : undefined };
}
