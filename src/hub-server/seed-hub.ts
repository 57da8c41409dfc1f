import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTinyModel, type TinyModelOptions } from "../fixtures/make-tiny-model.js";
import { namespaceOf } from "./access.js";
import { buildCommit, type FileChange } from "./build-commit.js";
import type { HubStore } from "./hub-store.js";
import type { GatedMode, OrgRole, RepoType, StoredUser, TokenRole } from "./hub-types.js";
import { advanceRef, createRepoRecord, putFileChange } from "./repo-records.js";
import { headOf } from "./revisions.js";

export interface HubSeed {
	users?: {
		name: string;
		fullname?: string;
		email?: string;
		/** Tokens to issue; a token without a value gets a random `hf_…` one. */
		tokens?: { token?: string; role?: TokenRole; displayName?: string }[];
	}[];
	orgs?: { name: string; fullname?: string; members?: { user: string; role: OrgRole }[] }[];
	repos?: SeedRepo[];
}

export interface SeedRepo {
	/** `namespace/name`; the namespace must be a seeded (or existing) user or org. */
	id: string;
	type?: RepoType;
	private?: boolean;
	gated?: GatedMode;
	/** Users given access to a gated repo. */
	grantedUsers?: string[];
	/** A tiny generated model (config, tokenizer, safetensors stored with LFS) committed after the initial commit. */
	tinyModel?: TinyModelOptions;
	/** More files for the same commit; they override the tiny model's files of the same path. */
	files?: Record<string, string | Uint8Array>;
	/** Who commits: by default the namespace's user, or the org's first admin or writer. */
	author?: string;
}

export interface SeededHub {
	/** Every token issued by this seed, by user. */
	tokens: Record<string, string[]>;
	/** Each seeded repo's id and head commit. */
	repos: { id: string; type: RepoType; sha: string }[];
}

function seedAuthor(store: HubStore, repo: SeedRepo): StoredUser {
	const namespace = namespaceOf(repo.id);
	const org = store.org(namespace);
	const name =
		repo.author ?? (org ? org.members.find((member) => member.role !== "read")?.user : undefined) ?? namespace;
	const user = store.user(name);
	if (!user) {
		throw new Error(`seed repo ${repo.id}: no user ${name} to commit as`);
	}
	return user;
}

async function tinyModelFiles(options: TinyModelOptions): Promise<Record<string, Uint8Array>> {
	const dir = await mkdtemp(join(tmpdir(), "mergesmith-hub-seed-"));
	try {
		await makeTinyModel(dir, options);
		const files: Record<string, Uint8Array> = {};
		for (const name of await readdir(dir)) {
			files[name] = await readFile(join(dir, name));
		}
		return files;
	} finally {
		await rm(dir, { recursive: true, force: true });
	}
}

/**
 * Fills a store with users, orgs, tokens and repos. Seeding again is harmless: existing users, orgs, tokens with
 * the same value and repos are left as they are.
 */
export async function seedHub(store: HubStore, seed: HubSeed): Promise<SeededHub> {
	const result: SeededHub = { tokens: {}, repos: [] };
	for (const user of seed.users ?? []) {
		if (!store.user(user.name)) {
			await store.addUser(user);
		}
		for (const token of user.tokens ?? []) {
			const existing = token.token ? store.viewer(token.token) : undefined;
			const issued =
				existing?.token ??
				(await store.addToken(user.name, {
					...(token.token ? { token: token.token } : {}),
					...(token.role ? { role: token.role } : {}),
					...(token.displayName ? { displayName: token.displayName } : {}),
				}));
			result.tokens[user.name] = [...(result.tokens[user.name] ?? []), issued.token];
		}
	}
	for (const org of seed.orgs ?? []) {
		if (!store.org(org.name)) {
			await store.addOrg(org);
		}
	}
	for (const spec of seed.repos ?? []) {
		const type = spec.type ?? "model";
		let repo = store.repo(type, spec.id);
		if (!repo) {
			const author = seedAuthor(store, spec);
			repo = await createRepoRecord(store, { type, name: spec.id, private: spec.private ?? false, author });
			repo.gated = spec.gated ?? false;
			repo.grantedUsers = spec.grantedUsers ?? [];
			const files: Record<string, string | Uint8Array> = {
				...(spec.tinyModel ? await tinyModelFiles(spec.tinyModel) : {}),
				...spec.files,
			};
			const changes: FileChange[] = [];
			for (const [path, content] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
				changes.push(await putFileChange(store, path, typeof content === "string" ? Buffer.from(content) : content));
			}
			if (changes.length > 0) {
				const title = spec.tinyModel ? `Add tiny ${spec.tinyModel.family} model` : `Add ${changes.length} files`;
				const commit = buildCommit({ parent: headOf(repo), changes, title, author });
				await advanceRef(store, repo, `refs/heads/${repo.defaultBranch}`, commit);
			} else {
				await store.saveRepo(repo);
			}
		}
		result.repos.push({ id: repo.name, type, sha: headOf(repo)?.oid ?? "" });
	}
	return result;
}

/**
 * What `mergesmith hub --seed` creates: users alice (admin of the org tiny-models), bob (no rights there) and
 * merge-bot, with fixed tokens so that a newcomer can copy them from the README; a tiny model of every supported
 * family, fine-tunes to merge, a gated repo and a private one.
 */
export function defaultHubSeed(): HubSeed {
	const license = "apache-2.0";
	const card = (title: string, base?: string) =>
		`---\nlicense: ${license}\n${base ? `base_model: ${base}\n` : ""}---\n# ${title}\n\nA tiny generated model served by the local Hub for development. Not a real model.\n`;
	const repos: SeedRepo[] = (["llama", "mistral", "qwen2", "gemma2", "phi3"] as const).map((family) => ({
		id: `tiny-models/tiny-${family}`,
		tinyModel: { family, seed: 1 },
		files: { "README.md": card(`tiny-${family}`) },
	}));
	for (const [suffix, driftSeed] of [
		["instruct", 2],
		["math", 3],
	] as const) {
		repos.push({
			id: `tiny-models/tiny-llama-${suffix}`,
			tinyModel: { family: "llama", seed: 1, drift: { seed: driftSeed, scale: 0.02 } },
			files: { "README.md": card(`tiny-llama-${suffix}`, "tiny-models/tiny-llama") },
		});
	}
	repos.push({
		id: "tiny-models/tiny-llama-gated",
		gated: "manual",
		tinyModel: { family: "llama", seed: 1, drift: { seed: 4, scale: 0.02 } },
		files: { "README.md": card("tiny-llama-gated", "tiny-models/tiny-llama") },
	});
	repos.push({
		id: "alice/tiny-llama-private",
		private: true,
		tinyModel: { family: "llama", seed: 1, drift: { seed: 5, scale: 0.02 } },
		files: { "README.md": card("tiny-llama-private", "tiny-models/tiny-llama") },
	});
	return {
		users: [
			{
				name: "alice",
				fullname: "Alice Developer",
				tokens: [
					{ token: "hf_alice_local_write", role: "write" },
					{ token: "hf_alice_local_read", role: "read" },
				],
			},
			{ name: "bob", fullname: "Bob Contributor", tokens: [{ token: "hf_bob_local_write", role: "write" }] },
			{ name: "merge-bot", fullname: "Merge Bot", tokens: [{ token: "hf_mergebot_local_write", role: "write" }] },
		],
		orgs: [
			{
				name: "tiny-models",
				fullname: "Tiny Models",
				members: [
					{ user: "alice", role: "admin" },
					{ user: "merge-bot", role: "write" },
				],
			},
		],
		repos,
	};
}
