import { commit, downloadFile, listCommits, listFiles } from "@huggingface/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callHub, startTestHub, type TestHub, TOKENS } from "./test-hub.js";

const LLAMA = "/api/models/tiny-models/tiny-llama";

type Event = { id: string; type: string; author: { name: string }; data: Record<string, unknown> };

/** Discussions and pull requests (spec §3) through plain fetch, as the bot's own functions call them. */
describe("discussions and pull requests", () => {
	let hub: TestHub;
	beforeAll(async () => {
		hub = await startTestHub();
	});
	afterAll(async () => {
		await hub.close();
	});

	it("create, comment, edit, hide, rename, close and reopen a discussion", async () => {
		const created = await callHub(hub, TOKENS.bob, "POST", `${LLAMA}/discussions`, {
			title: "Which licence?",
			description: "Is this **really** apache-2.0?",
			pullRequest: false,
		});
		expect(created).toEqual({
			status: 200,
			json: { num: 1, pullRequest: false, url: `${hub.url}/tiny-models/tiny-llama/discussions/1` },
		});
		const comment = await callHub(hub, TOKENS.alice, "POST", `${LLAMA}/discussions/1/comment`, { comment: "Yes." });
		const message = comment.json.newMessage as Event;
		expect(message).toMatchObject({
			type: "comment",
			author: { name: "alice" },
			data: { edited: false, latest: { raw: "Yes." } },
		});
		const notMine = await callHub(hub, TOKENS.bob, "POST", `${LLAMA}/discussions/1/comment/${message.id}/edit`, {
			content: "No.",
		});
		expect(notMine.status).toBe(403);
		const edited = await callHub(hub, TOKENS.alice, "POST", `${LLAMA}/discussions/1/comment/${message.id}/edit`, {
			content: "Yes, see README.md.",
		});
		expect(edited.json.updatedComment).toMatchObject({
			id: message.id,
			data: { edited: true, numEdits: 1, latest: { raw: "Yes, see README.md." } },
		});
		const renamed = await callHub(hub, TOKENS.bob, "POST", `${LLAMA}/discussions/1/title`, {
			title: "Licence question",
		});
		expect(renamed.json.newTitle).toMatchObject({
			type: "title-change",
			data: { from: "Which licence?", to: "Licence question" },
		});
		const closed = await callHub(hub, TOKENS.bob, "POST", `${LLAMA}/discussions/1/status`, {
			status: "closed",
			comment: "Thanks!",
		});
		expect(closed.json.newStatus).toMatchObject({ type: "status-change", data: { status: "closed" } });
		const opening = ((await callHub(hub, undefined, "GET", `${LLAMA}/discussions/1`)).json.events as Event[])[0];
		const hidden = await callHub(hub, TOKENS.alice, "POST", `${LLAMA}/discussions/1/comment/${opening?.id}/hide`);
		expect(hidden.json.updatedComment).toMatchObject({
			data: { hidden: true, latest: { raw: "This comment has been hidden" } },
		});
		const details = await callHub(hub, undefined, "GET", `${LLAMA}/discussions/1`);
		expect(details.json).toMatchObject({
			num: 1,
			title: "Licence question",
			status: "closed",
			isPullRequest: false,
			author: { name: "bob" },
			repo: { name: "tiny-models/tiny-llama", type: "model" },
		});
		expect((details.json.events as Event[]).map((event) => event.type)).toEqual([
			"comment",
			"comment",
			"title-change",
			"comment",
			"status-change",
		]);
		const outsider = await callHub(hub, TOKENS.carol, "POST", `${LLAMA}/discussions/1/status`, { status: "open" });
		expect(outsider.status).toBe(403);
		const reopened = await callHub(hub, TOKENS.alice, "POST", `${LLAMA}/discussions/1/status`, { status: "open" });
		expect(reopened.status).toBe(200);
	});

	it("lists discussions newest first, filtered by type, status and author", async () => {
		await callHub(hub, TOKENS.bot, "POST", `${LLAMA}/discussions`, { title: "Second", description: "" });
		const all = await callHub(hub, undefined, "GET", `${LLAMA}/discussions`);
		expect(all.json).toMatchObject({ count: 2, start: 0 });
		expect((all.json.discussions as { num: number }[]).map((item) => item.num)).toEqual([2, 1]);
		const byBob = await callHub(hub, undefined, "GET", `${LLAMA}/discussions?author=bob&status=open&type=discussion`);
		expect(byBob.json.discussions).toEqual([
			expect.objectContaining({ num: 1, author: expect.objectContaining({ name: "bob" }), numComments: 3 }),
		]);
		const prs = await callHub(hub, undefined, "GET", `${LLAMA}/discussions?type=pull_request`);
		expect(prs.json.count).toBe(0);
	});

	it("an API pull request starts as a draft, takes commits on refs/pr/N, is published and merged", async () => {
		const created = await callHub(hub, TOKENS.bob, "POST", `${LLAMA}/discussions`, {
			title: "Add a usage note",
			description: "A short note",
			pullRequest: true,
		});
		const num = created.json.num as number;
		expect(created.json).toMatchObject({ pullRequest: true, references: { base: "refs/heads/main" } });
		await commit({
			hubUrl: hub.url,
			accessToken: TOKENS.bob,
			repo: "tiny-models/tiny-llama",
			branch: `refs/pr/${num}`,
			title: "Add USAGE.md",
			useXet: false,
			operations: [{ operation: "addOrUpdate", path: "USAGE.md", content: new Blob(["Use it for tests.\n"]) }],
		});
		// listFiles puts the revision in the tree URL unencoded (tree/refs/pr/N/…): the Hub reads it as one revision.
		const onPr: string[] = [];
		for await (const entry of listFiles({
			hubUrl: hub.url,
			repo: "tiny-models/tiny-llama",
			revision: `refs/pr/${num}`,
		})) {
			onPr.push(entry.path);
		}
		expect(onPr).toContain("USAGE.md");
		const draft = await callHub(hub, TOKENS.alice, "POST", `${LLAMA}/discussions/${num}/merge`);
		expect(draft.status).toBe(400);
		const details = await callHub(hub, TOKENS.alice, "GET", `${LLAMA}/discussions/${num}?diff=1`);
		expect(details.json).toMatchObject({
			status: "draft",
			changes: { base: "refs/heads/main" },
			filesWithConflicts: [],
		});
		expect(details.json.diff).toContain("diff --git a/USAGE.md b/USAGE.md\nnew file mode 100644\n");
		expect(details.json.diff).toContain("+Use it for tests.\n");
		expect(
			(await callHub(hub, TOKENS.bob, "POST", `${LLAMA}/discussions/${num}/status`, { status: "open" })).status,
		).toBe(200);
		expect((await callHub(hub, TOKENS.bob, "POST", `${LLAMA}/discussions/${num}/merge`)).status).toBe(403);
		const merged = await callHub(hub, TOKENS.alice, "POST", `${LLAMA}/discussions/${num}/merge`, { comment: "Thanks" });
		expect(merged.status).toBe(200);
		const after = await callHub(hub, undefined, "GET", `${LLAMA}/discussions/${num}`);
		expect(after.json).toMatchObject({ status: "merged", changes: { mergeCommitId: merged.json.mergeCommitId } });
		const usage = await downloadFile({ hubUrl: hub.url, repo: "tiny-models/tiny-llama", path: "USAGE.md" });
		expect(await usage?.text()).toBe("Use it for tests.\n");
		const iterator = listCommits({ hubUrl: hub.url, repo: "tiny-models/tiny-llama", batchSize: 1 })[
			Symbol.asyncIterator
		]();
		const head = (await iterator.next()).value;
		expect(head?.oid).toBe(merged.json.mergeCommitId);
		expect(head?.title).toBe(`Add a usage note (#${num})`);
		expect(head?.message).toMatch(
			/- Add USAGE\.md \([0-9a-f]{40}\)\n\nCo-authored-by: bob <bob@users\.noreply\.huggingface\.co>/,
		);
	});

	it("shows conflicts when the base changed the same file, and refuses to merge them", async () => {
		const params = { hubUrl: hub.url, repo: "tiny-models/tiny-llama", useXet: false } as const;
		const pr = await commit({
			...params,
			accessToken: TOKENS.bob,
			title: "Edit USAGE.md",
			isPullRequest: true,
			operations: [{ operation: "addOrUpdate", path: "USAGE.md", content: new Blob(["bob's version\n"]) }],
		});
		const num = Number(pr?.pullRequestUrl?.split("/").pop());
		await commit({
			...params,
			accessToken: TOKENS.alice,
			title: "Edit USAGE.md on main",
			operations: [{ operation: "addOrUpdate", path: "USAGE.md", content: new Blob(["alice's version\n"]) }],
		});
		const details = await callHub(hub, undefined, "GET", `${LLAMA}/discussions/${num}`);
		expect(details.json).toMatchObject({ status: "open", filesWithConflicts: ["USAGE.md"] });
		const merge = await callHub(hub, TOKENS.alice, "POST", `${LLAMA}/discussions/${num}/merge`);
		expect(merge.status).toBe(409);
	});

	it("keeps discussions across a restart", async () => {
		await hub.restart();
		const list = await callHub(hub, undefined, "GET", `${LLAMA}/discussions`);
		expect(list.json.count).toBe(4);
	});
});
