import { createHash, randomBytes } from "node:crypto";

/** Real git object ids, so that shas look and behave like the Hub's (a blob's oid is what `git hash-object` prints). */
export function gitBlobOid(content: Uint8Array): string {
	const hash = createHash("sha1");
	hash.update(`blob ${content.byteLength}\0`);
	hash.update(content);
	return hash.digest("hex");
}

/** The text git stores in place of an LFS file. */
export function lfsPointer(sha256: string, size: number): string {
	return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

export function sha256Hex(content: Uint8Array | string): string {
	return createHash("sha256").update(content).digest("hex");
}

/** A 24-hex id like the Hub's MongoDB ObjectIds (users, repos, discussions, comments, webhooks). */
export function objectId(): string {
	const time = Math.floor(Date.now() / 1000)
		.toString(16)
		.padStart(8, "0");
	return time + randomBytes(8).toString("hex");
}

interface TreeNode {
	files: Map<string, string>;
	dirs: Map<string, TreeNode>;
}

/**
 * Git tree ids of the root and of every directory (key "" is the root), from the blob oids of the files,
 * built as git builds trees: entries sorted by name, a directory compared as if its name ended in "/".
 */
export function gitTreeOids(files: Iterable<[path: string, oid: string]>): Map<string, string> {
	const root: TreeNode = { files: new Map(), dirs: new Map() };
	for (const [path, oid] of files) {
		const parts = path.split("/");
		let node = root;
		for (const part of parts.slice(0, -1)) {
			let child = node.dirs.get(part);
			if (!child) {
				child = { files: new Map(), dirs: new Map() };
				node.dirs.set(part, child);
			}
			node = child;
		}
		node.files.set(parts.at(-1) ?? path, oid);
	}
	const out = new Map<string, string>();
	const hashNode = (node: TreeNode, prefix: string): string => {
		const entries: { sortKey: string; bytes: Buffer }[] = [];
		for (const [name, oid] of node.files) {
			entries.push({
				sortKey: name,
				bytes: Buffer.concat([Buffer.from(`100644 ${name}\0`), Buffer.from(oid, "hex")]),
			});
		}
		for (const [name, child] of node.dirs) {
			const oid = hashNode(child, prefix === "" ? name : `${prefix}/${name}`);
			entries.push({
				sortKey: `${name}/`,
				bytes: Buffer.concat([Buffer.from(`40000 ${name}\0`), Buffer.from(oid, "hex")]),
			});
		}
		entries.sort((a, b) => Buffer.compare(Buffer.from(a.sortKey), Buffer.from(b.sortKey)));
		const body = Buffer.concat(entries.map((entry) => entry.bytes));
		const oid = createHash("sha1").update(`tree ${body.byteLength}\0`).update(body).digest("hex");
		out.set(prefix, oid);
		return oid;
	};
	hashNode(root, "");
	return out;
}

export function gitCommitOid(commit: {
	treeOid: string;
	parents: readonly string[];
	author: string;
	email: string;
	date: string;
	message: string;
}): string {
	const seconds = Math.floor(Date.parse(commit.date) / 1000);
	const signature = `${commit.author} <${commit.email}> ${seconds} +0000`;
	const text = [
		`tree ${commit.treeOid}`,
		...commit.parents.map((parent) => `parent ${parent}`),
		`author ${signature}`,
		`committer ${signature}`,
		"",
		commit.message,
	].join("\n");
	const body = Buffer.from(text.endsWith("\n") ? text : `${text}\n`);
	return createHash("sha1").update(`commit ${body.byteLength}\0`).update(body).digest("hex");
}
