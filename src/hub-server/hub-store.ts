import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { objectId, sha256Hex } from "./git-objects.js";
import type {
	HubState,
	OrgRole,
	RepoType,
	StoredOrg,
	StoredRepo,
	StoredToken,
	StoredUser,
	TokenRole,
	Viewer,
} from "./hub-types.js";

const REPO_DIRS: Record<RepoType, string> = { model: "models", dataset: "datasets", space: "spaces" };

async function writeAtomic(path: string, text: string): Promise<void> {
	await mkdir(dirname(path), { recursive: true });
	const temporary = `${path}.${randomBytes(4).toString("hex")}.tmp`;
	await writeFile(temporary, text);
	await rename(temporary, path);
}

async function readJson<T>(path: string): Promise<T | undefined> {
	try {
		return JSON.parse(await readFile(path, "utf8")) as T;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === "ENOENT") {
			return undefined;
		}
		throw error;
	}
}

/**
 * The local Hub's data, in a folder: `hub.json` (users, orgs, tokens, webhooks), `repos/<type>s/<ns>/<name>.json`
 * (settings, refs, commits with their file lists, discussions) and `objects/` (every file's bytes under their
 * sha256, shared by all repos like an LFS store). Everything is held in memory and written through on each change,
 * so a restart finds what the last answered request left.
 */
export class HubStore {
	readonly dataDir: string;
	private state: HubState;
	private readonly repos: Map<string, StoredRepo>;
	/** One write queue per file, so that concurrent changes land in order. */
	private readonly writes = new Map<string, Promise<void>>();

	private constructor(dataDir: string, state: HubState, repos: Map<string, StoredRepo>) {
		this.dataDir = dataDir;
		this.state = state;
		this.repos = repos;
	}

	static async open(dataDir: string): Promise<HubStore> {
		await mkdir(join(dataDir, "objects"), { recursive: true });
		const state = (await readJson<HubState>(join(dataDir, "hub.json"))) ?? {
			signingKey: randomBytes(32).toString("hex"),
			users: [],
			orgs: [],
			tokens: [],
			webhooks: [],
		};
		const repos = new Map<string, StoredRepo>();
		for (const type of Object.keys(REPO_DIRS) as RepoType[]) {
			const typeDir = join(dataDir, "repos", REPO_DIRS[type]);
			for (const namespace of await readdir(typeDir).catch(() => [])) {
				for (const file of await readdir(join(typeDir, namespace))) {
					if (!file.endsWith(".json")) {
						continue;
					}
					const repo = await readJson<StoredRepo>(join(typeDir, namespace, file));
					if (repo) {
						repos.set(`${type}:${repo.name}`, repo);
					}
				}
			}
		}
		const store = new HubStore(dataDir, state, repos);
		await store.saveState();
		return store;
	}

	get signingKey(): string {
		return this.state.signingKey;
	}

	/** Waits for every pending write (tests, shutdown). */
	async flush(): Promise<void> {
		await Promise.all(this.writes.values());
	}

	private persist(path: string, value: unknown): Promise<void> {
		const text = `${JSON.stringify(value, null, 1)}\n`;
		const previous = this.writes.get(path) ?? Promise.resolve();
		const next = previous.then(() => writeAtomic(path, text));
		this.writes.set(
			path,
			next.catch(() => undefined),
		);
		return next;
	}

	saveState(): Promise<void> {
		return this.persist(join(this.dataDir, "hub.json"), this.state);
	}

	// Identities

	get users(): readonly StoredUser[] {
		return this.state.users;
	}

	get orgs(): readonly StoredOrg[] {
		return this.state.orgs;
	}

	get webhooks(): HubState["webhooks"] {
		return this.state.webhooks;
	}

	user(name: string): StoredUser | undefined {
		return this.state.users.find((user) => user.name === name);
	}

	org(name: string): StoredOrg | undefined {
		return this.state.orgs.find((org) => org.name === name);
	}

	viewer(token: string): Viewer | undefined {
		const stored = this.state.tokens.find((candidate) => candidate.token === token);
		const user = stored ? this.user(stored.user) : undefined;
		return stored && user ? { user, token: stored } : undefined;
	}

	tokensOf(name: string): readonly StoredToken[] {
		return this.state.tokens.filter((token) => token.user === name);
	}

	async addUser(user: { name: string; fullname?: string; email?: string; isPro?: boolean }): Promise<StoredUser> {
		if (this.user(user.name) || this.org(user.name)) {
			throw new Error(`the namespace ${user.name} is taken`);
		}
		const stored: StoredUser = {
			id: objectId(),
			name: user.name,
			fullname: user.fullname ?? user.name,
			email: user.email ?? `${user.name}@example.com`,
			isPro: user.isPro ?? false,
		};
		this.state.users.push(stored);
		await this.saveState();
		return stored;
	}

	async addOrg(org: {
		name: string;
		fullname?: string;
		members?: { user: string; role: OrgRole }[];
	}): Promise<StoredOrg> {
		if (this.user(org.name) || this.org(org.name)) {
			throw new Error(`the namespace ${org.name} is taken`);
		}
		const stored: StoredOrg = {
			id: objectId(),
			name: org.name,
			fullname: org.fullname ?? org.name,
			members: org.members ?? [],
		};
		this.state.orgs.push(stored);
		await this.saveState();
		return stored;
	}

	/** Issues a token (`hf_` and 34 letters, like the Hub's, unless one is given) for a user. */
	async addToken(
		user: string,
		options: { role?: TokenRole; displayName?: string; token?: string } = {},
	): Promise<StoredToken> {
		if (!this.user(user)) {
			throw new Error(`no user ${user}`);
		}
		const token = options.token ?? `hf_${randomToken(34)}`;
		if (!token.startsWith("hf_")) {
			throw new Error("tokens must start with hf_ (the JS client refuses others)");
		}
		const stored: StoredToken = {
			token,
			user,
			role: options.role ?? "write",
			displayName: options.displayName ?? `${user}-${options.role ?? "write"}`,
			createdAt: new Date().toISOString(),
		};
		this.state.tokens = this.state.tokens.filter((candidate) => candidate.token !== token);
		this.state.tokens.push(stored);
		await this.saveState();
		return stored;
	}

	// Repos

	repo(type: RepoType, name: string): StoredRepo | undefined {
		return this.repos.get(`${type}:${name}`);
	}

	listRepos(): StoredRepo[] {
		return [...this.repos.values()];
	}

	private repoPath(type: RepoType, name: string): string {
		return join(this.dataDir, "repos", REPO_DIRS[type], `${name}.json`);
	}

	/** Records a new repo (or the changed state of one) and writes it to disk. */
	saveRepo(repo: StoredRepo): Promise<void> {
		this.repos.set(`${repo.type}:${repo.name}`, repo);
		return this.persist(this.repoPath(repo.type, repo.name), repo);
	}

	async deleteRepo(type: RepoType, name: string): Promise<void> {
		this.repos.delete(`${type}:${name}`);
		const path = this.repoPath(type, name);
		await (this.writes.get(path) ?? Promise.resolve());
		this.writes.delete(path);
		await rm(path, { force: true });
	}

	// Objects (file bytes by sha256)

	objectPath(sha256: string): string {
		return join(this.dataDir, "objects", sha256.slice(0, 2), sha256);
	}

	async objectSize(sha256: string): Promise<number | undefined> {
		try {
			return (await stat(this.objectPath(sha256))).size;
		} catch {
			return undefined;
		}
	}

	async putBytes(bytes: Uint8Array): Promise<{ sha256: string; size: number }> {
		const sha256 = sha256Hex(bytes);
		const path = this.objectPath(sha256);
		if ((await this.objectSize(sha256)) !== bytes.byteLength) {
			await mkdir(dirname(path), { recursive: true });
			const temporary = `${path}.${randomBytes(4).toString("hex")}.tmp`;
			await writeFile(temporary, bytes);
			await rename(temporary, path);
		}
		return { sha256, size: bytes.byteLength };
	}

	readObject(sha256: string): Promise<Buffer> {
		return readFile(this.objectPath(sha256));
	}

	objectStream(sha256: string, range?: { start: number; end: number }): Readable {
		return createReadStream(this.objectPath(sha256), range ?? {});
	}

	/**
	 * Streams bytes into a temporary file while hashing them; they become an object only if they hash to what was
	 * announced (the Hub's storage would accept anything, but a wrong upload is a client bug worth failing on).
	 */
	async putStream(
		body: WebReadableStream<Uint8Array> | Readable,
		expected?: { sha256: string; size: number },
	): Promise<{ sha256: string; size: number }> {
		await mkdir(join(this.dataDir, "tmp"), { recursive: true });
		const temporary = join(this.dataDir, "tmp", randomBytes(8).toString("hex"));
		const hash = createHash("sha256");
		let size = 0;
		const hasher = new Transform({
			transform(chunk: Buffer, _encoding, callback) {
				hash.update(chunk);
				size += chunk.byteLength;
				callback(null, chunk);
			},
		});
		try {
			const source = body instanceof Readable ? body : Readable.fromWeb(body);
			await pipeline(source, hasher, createWriteStream(temporary));
			const sha256 = hash.digest("hex");
			if (expected && (expected.sha256 !== sha256 || expected.size !== size)) {
				throw new UploadMismatchError(
					`uploaded bytes do not match the announced object: expected sha256 ${expected.sha256} and ${expected.size} bytes, got ${sha256} and ${size} bytes`,
				);
			}
			const path = this.objectPath(sha256);
			await mkdir(dirname(path), { recursive: true });
			await rename(temporary, path);
			return { sha256, size };
		} finally {
			await rm(temporary, { force: true });
		}
	}

	uploadDir(uploadId: string): string {
		return join(this.dataDir, "uploads", uploadId);
	}
}

export class UploadMismatchError extends Error {}

function randomToken(length: number): string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	const bytes = randomBytes(length);
	return Array.from(bytes, (byte) => letters[byte % letters.length]).join("");
}
