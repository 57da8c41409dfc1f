import { Hono } from "hono";
import { canWrite, readableRepo, requireParticipant } from "../access.js";
import { buildCommit, type FileChange } from "../build-commit.js";
import { commentEvent, newDiscussion, statusEvent } from "../discussion-records.js";
import { objectId } from "../git-objects.js";
import {
	type HubContext,
	type HubDeps,
	type HubEnv,
	jsonBody,
	optionalString,
	originOf,
	repoTypeFromPlural,
	requiredString,
} from "../hub-env.js";
import { HubError } from "../hub-error.js";
import type { StoredDiscussion, StoredEvent, StoredRepo, Viewer } from "../hub-types.js";
import { discussionUrls } from "../hub-urls.js";
import { conflictingPaths, mergedChanges, pullRequestDiff } from "../pull-request-diff.js";
import { authorJson, discussionListItem, eventJson } from "../render-discussion.js";
import { advanceRef } from "../repo-records.js";
import { resolveRevision } from "../revisions.js";

const DISCUSSIONS = "/api/:type{models|datasets|spaces}/:ns/:name/discussions";
const ONE = `${DISCUSSIONS}/:num{[0-9]+}`;

/** Discussions and pull requests (spec §3): list, details, create, comment, edit, hide, title, status, merge. */
export function discussionRoutes({ store, webhooks, settings }: HubDeps): Hono<HubEnv> {
	const routes = new Hono<HubEnv>();

	const repoOf = (c: HubContext): StoredRepo =>
		readableRepo(
			store,
			repoTypeFromPlural(c.req.param("type")),
			`${c.req.param("ns")}/${c.req.param("name")}`,
			c.var.viewer,
		);

	const discussionOf = (c: HubContext, repo: StoredRepo): StoredDiscussion => {
		const num = Number(c.req.param("num"));
		const discussion = repo.discussions.find((candidate) => candidate.num === num);
		if (!discussion) {
			throw new HubError(404, `Discussion #${num} not found`);
		}
		return discussion;
	};

	/** The discussion's author and the repo's writers may rename it and change its status. */
	const requireModerator = (repo: StoredRepo, discussion: StoredDiscussion, viewer: Viewer): void => {
		if (discussion.author !== viewer.user.name && !canWrite(store, repo, viewer)) {
			throw new HubError(403, "Only the author of this discussion and the repo's writers can do this");
		}
	};

	const commentOf = (c: HubContext, discussion: StoredDiscussion): StoredEvent & { data: { type: "comment" } } => {
		const id = (c.req.param("commentId") ?? "").toLowerCase();
		const event = discussion.events.find((candidate) => candidate.id === id);
		if (event?.data.type !== "comment") {
			throw new HubError(404, `Comment ${id} not found`);
		}
		return event as StoredEvent & { data: { type: "comment" } };
	};

	const announce = (
		c: HubContext,
		repo: StoredRepo,
		discussion: StoredDiscussion,
		event: { scope: "discussion" | "discussion.comment"; action: "create" | "update"; comment?: StoredEvent },
	): void => {
		webhooks.emit({ ...event, repo, discussion, origin: originOf(c) });
	};

	routes.get(DISCUSSIONS, (c) => {
		const repo = repoOf(c);
		const page = Math.max(Number(c.req.query("p") ?? 0) || 0, 0);
		const kind = c.req.query("type") ?? "all";
		const status = c.req.query("status") ?? "all";
		const author = c.req.query("author");
		const matching = repo.discussions
			.filter((discussion) => kind === "all" || (kind === "pull_request") === discussion.isPullRequest)
			.filter(
				(discussion) =>
					status === "all" ||
					(status === "open"
						? discussion.status === "open" || discussion.status === "draft"
						: discussion.status === "closed" || discussion.status === "merged"),
			)
			.filter((discussion) => author === undefined || discussion.author === author)
			.sort((a, b) => b.num - a.num);
		const start = page * settings.discussionPageSize;
		return c.json({
			discussions: matching
				.slice(start, start + settings.discussionPageSize)
				.map((discussion) => discussionListItem(store, repo, discussion)),
			count: matching.length,
			start,
			numClosedDiscussions: repo.discussions.filter((d) => d.status === "closed" || d.status === "merged").length,
		});
	});

	routes.get(ONE, async (c) => {
		const repo = repoOf(c);
		const discussion = discussionOf(c, repo);
		const urls = discussionUrls(originOf(c), repo, discussion);
		const details: Record<string, unknown> = {
			num: discussion.num,
			title: discussion.title,
			status: discussion.status,
			isPullRequest: discussion.isPullRequest,
			createdAt: discussion.createdAt,
			author: authorJson(store, repo, discussion.author),
			repo: { name: repo.name, type: repo.type },
			pinned: discussion.pinned,
			locked: false,
			collection: "discussions",
			events: discussion.events.map((event) => eventJson(store, repo, event)),
		};
		if (discussion.pr) {
			const start = repo.commits[discussion.pr.startOid];
			const head = resolveRevision(repo, `refs/pr/${discussion.num}`);
			const base = resolveRevision(repo, discussion.pr.base);
			details.changes = {
				base: discussion.pr.base,
				...(discussion.pr.mergeCommitId ? { mergeCommitId: discussion.pr.mergeCommitId } : {}),
			};
			details.filesWithConflicts =
				head && base && discussion.status !== "merged" ? conflictingPaths(start, base, head) : [];
			details.diffUrl = `${urls.web}/files.diff`;
			if (["1", "true"].includes(c.req.query("diff") ?? "") && head) {
				details.diff = await pullRequestDiff(store, start, head);
			}
		}
		return c.json(details);
	});

	routes.post(DISCUSSIONS, async (c) => {
		const viewer = requireParticipant(c.var.viewer);
		const repo = repoOf(c);
		const body = await jsonBody(c);
		const title = requiredString(body, "title").trim();
		const pullRequest = body.pullRequest === true;
		const baseRef = `refs/heads/${repo.defaultBranch}`;
		const baseOid = repo.refs[baseRef] ?? "";
		// Pull requests opened this way start as drafts; they need commits on refs/pr/N before they can be merged.
		const discussion = newDiscussion({
			repo,
			author: viewer.user.name,
			title,
			description: optionalString(body, "description") ?? "",
			status: pullRequest ? "draft" : "open",
			...(pullRequest ? { pr: { base: baseRef, startOid: baseOid } } : {}),
		});
		repo.discussions.push(discussion);
		if (pullRequest) {
			repo.refs[`refs/pr/${discussion.num}`] = baseOid;
		}
		await store.saveRepo(repo);
		announce(c, repo, discussion, {
			scope: "discussion",
			action: "create",
			...(discussion.events[0] ? { comment: discussion.events[0] } : {}),
		});
		if (pullRequest) {
			webhooks.emit({
				scope: "repo.content",
				action: "update",
				repo,
				updatedRefs: [{ ref: `refs/pr/${discussion.num}`, oldSha: null, newSha: baseOid }],
				origin: originOf(c),
			});
		}
		return c.json({
			num: discussion.num,
			pullRequest,
			url: discussionUrls(originOf(c), repo, discussion).web,
			...(pullRequest ? { references: { base: baseRef } } : {}),
		});
	});

	routes.post(`${ONE}/comment`, async (c) => {
		const viewer = requireParticipant(c.var.viewer);
		const repo = repoOf(c);
		const discussion = discussionOf(c, repo);
		const event = commentEvent(viewer.user.name, requiredString(await jsonBody(c), "comment"));
		discussion.events.push(event);
		await store.saveRepo(repo);
		announce(c, repo, discussion, { scope: "discussion.comment", action: "create", comment: event });
		return c.json({ newMessage: eventJson(store, repo, event) });
	});

	routes.post(`${ONE}/comment/:commentId/edit`, async (c) => {
		const viewer = requireParticipant(c.var.viewer);
		const repo = repoOf(c);
		const discussion = discussionOf(c, repo);
		const event = commentOf(c, discussion);
		const content = requiredString(await jsonBody(c), "content");
		const comment = event.data.comment;
		if (event.author !== viewer.user.name) {
			throw new HubError(403, "Only the author of a comment can edit it");
		}
		if (comment.hidden) {
			throw new HubError(403, "A hidden comment cannot be edited");
		}
		comment.raw = content;
		comment.edited = true;
		comment.numEdits += 1;
		comment.updatedAt = new Date().toISOString();
		if (!comment.editors.includes(viewer.user.name)) {
			comment.editors.push(viewer.user.name);
		}
		await store.saveRepo(repo);
		announce(c, repo, discussion, { scope: "discussion.comment", action: "update", comment: event });
		return c.json({ updatedComment: eventJson(store, repo, event) });
	});

	routes.post(`${ONE}/comment/:commentId/hide`, async (c) => {
		const viewer = requireParticipant(c.var.viewer);
		const repo = repoOf(c);
		const discussion = discussionOf(c, repo);
		const event = commentOf(c, discussion);
		if (event.author !== viewer.user.name && !canWrite(store, repo, viewer)) {
			throw new HubError(403, "Only the author of a comment and the repo's writers can hide it");
		}
		event.data.comment.hidden = true;
		event.data.comment.hiddenBy = viewer.user.name;
		event.data.comment.updatedAt = new Date().toISOString();
		await store.saveRepo(repo);
		announce(c, repo, discussion, { scope: "discussion.comment", action: "update", comment: event });
		return c.json({ updatedComment: eventJson(store, repo, event) });
	});

	routes.post(`${ONE}/title`, async (c) => {
		const viewer = requireParticipant(c.var.viewer);
		const repo = repoOf(c);
		const discussion = discussionOf(c, repo);
		requireModerator(repo, discussion, viewer);
		const title = requiredString(await jsonBody(c), "title").trim();
		const event: StoredEvent = {
			id: objectId(),
			createdAt: new Date().toISOString(),
			author: viewer.user.name,
			data: { type: "title-change", from: discussion.title, to: title },
		};
		discussion.title = title;
		discussion.events.push(event);
		await store.saveRepo(repo);
		announce(c, repo, discussion, { scope: "discussion", action: "update" });
		return c.json({ newTitle: eventJson(store, repo, event) });
	});

	routes.post(`${ONE}/status`, async (c) => {
		const viewer = requireParticipant(c.var.viewer);
		const repo = repoOf(c);
		const discussion = discussionOf(c, repo);
		requireModerator(repo, discussion, viewer);
		const body = await jsonBody(c);
		const status = requiredString(body, "status");
		if (status !== "open" && status !== "closed") {
			throw new HubError(400, `"status" must be "open" or "closed"`);
		}
		if (discussion.status === "merged") {
			throw new HubError(400, "A merged pull request cannot change status");
		}
		if (discussion.status === status) {
			throw new HubError(400, `Discussion #${discussion.num} is already ${status}`);
		}
		const comment = optionalString(body, "comment");
		const commentAdded = comment ? commentEvent(viewer.user.name, comment) : undefined;
		if (commentAdded) {
			discussion.events.push(commentAdded);
		}
		const event = statusEvent(viewer.user.name, status);
		discussion.status = status;
		discussion.events.push(event);
		await store.saveRepo(repo);
		if (commentAdded) {
			announce(c, repo, discussion, { scope: "discussion.comment", action: "create", comment: commentAdded });
		}
		announce(c, repo, discussion, { scope: "discussion", action: "update" });
		return c.json({ newStatus: eventJson(store, repo, event) });
	});

	routes.post(`${ONE}/merge`, async (c) => {
		const viewer = requireParticipant(c.var.viewer);
		const repo = repoOf(c);
		const discussion = discussionOf(c, repo);
		if (!discussion.pr) {
			throw new HubError(400, `#${discussion.num} is a discussion, not a pull request`);
		}
		if (!canWrite(store, repo, viewer)) {
			throw new HubError(403, "Only the repo's writers can merge pull requests");
		}
		if (discussion.status !== "open") {
			throw new HubError(400, `Pull request #${discussion.num} is ${discussion.status} and cannot be merged`);
		}
		// The merge call may come with no body at all.
		const comment = (await c.req.text()).trim() === "" ? undefined : optionalString(await jsonBody(c), "comment");
		const start = repo.commits[discussion.pr.startOid];
		const base = resolveRevision(repo, discussion.pr.base);
		const head = resolveRevision(repo, `refs/pr/${discussion.num}`);
		if (!base || !head) {
			throw new HubError(409, "The pull request's base or head is missing");
		}
		const conflicts = conflictingPaths(start, base, head);
		if (conflicts.length > 0) {
			throw new HubError(409, `This pull request has conflicts with ${discussion.pr.base}: ${conflicts.join(", ")}`);
		}
		const changes: FileChange[] = [];
		for (const { path, file } of mergedChanges(start, head)) {
			if (file) {
				changes.push({ kind: "put", path, sha256: file.sha256, size: file.size, lfs: file.lfs, oid: file.oid });
			} else if (base.files[path]) {
				changes.push({ kind: "delete", path });
			}
		}
		const subjects = discussion.events.flatMap((event) =>
			event.data.type === "commit" ? [`- ${event.data.subject} (${event.data.oid})`] : [],
		);
		const prAuthor = store.user(discussion.author);
		const coAuthor =
			prAuthor && prAuthor.name !== viewer.user.name
				? `\n\nCo-authored-by: ${prAuthor.fullname} <${prAuthor.name}@users.noreply.huggingface.co>`
				: "";
		const merge = buildCommit({
			parent: base,
			changes,
			title: `${discussion.title} (#${discussion.num})`,
			description: `${subjects.join("\n")}${coAuthor}`.trim(),
			author: viewer.user,
		});
		if (comment) {
			discussion.events.push(commentEvent(viewer.user.name, comment));
		}
		const event = statusEvent(viewer.user.name, "merged");
		discussion.events.push(event);
		discussion.status = "merged";
		discussion.pr.mergeCommitId = merge.oid;
		const oldSha = await advanceRef(store, repo, discussion.pr.base, merge);
		announce(c, repo, discussion, { scope: "discussion", action: "update" });
		webhooks.emit({
			scope: "repo.content",
			action: "update",
			repo,
			updatedRefs: [{ ref: discussion.pr.base, oldSha, newSha: merge.oid }],
			origin: originOf(c),
		});
		return c.json({ newStatus: eventJson(store, repo, event), mergeCommitId: merge.oid });
	});

	return routes;
}
