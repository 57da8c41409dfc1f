import { Hono } from "hono";
import { readableRepo, requireViewer } from "../access.js";
import { buildCommit } from "../build-commit.js";
import { commitTarget } from "../commit-target.js";
import { commitEvent, newDiscussion } from "../discussion-records.js";
import { type HubDeps, type HubEnv, originOf, rawSegments, repoTypeFromPlural, splitRevisionPath } from "../hub-env.js";
import { HubError, revisionNotFound } from "../hub-error.js";
import { discussionUrls, repoWebUrl } from "../hub-urls.js";
import { parseCommitBody } from "../parse-commit-body.js";
import { advanceRef } from "../repo-records.js";

/**
 * `POST /api/{type}s/{id}/commit/{rev}[?create_pr=1]` with an NDJSON body (spec §5.4, §5.5): commits to a branch,
 * to a pull request's ref, or opens a pull request (`refs/pr/N` and discussion N) with the commit on it.
 */
export function commitRoutes({ store, webhooks }: HubDeps): Hono<HubEnv> {
	const routes = new Hono<HubEnv>();

	routes.post("/api/:type{models|datasets|spaces}/:ns/:name/commit/*", async (c) => {
		const type = repoTypeFromPlural(c.req.param("type"));
		const repo = readableRepo(store, type, `${c.req.param("ns")}/${c.req.param("name")}`, c.var.viewer);
		const { revision } = splitRevisionPath(rawSegments(c).slice(5));
		const createPr = ["1", "true", "True"].includes(c.req.query("create_pr") ?? "");
		const target = commitTarget(store, repo, revision, createPr, c.var.viewer);
		const author = requireViewer(c.var.viewer).user;
		const { header, changes } = await parseCommitBody(store, await c.req.text());
		const origin = originOf(c);

		// From here to advanceRef nothing awaits, so concurrent commits cannot both build on the same head.
		const headRef = target.kind === "new-pull-request" ? target.baseRef : target.ref;
		const headOid = repo.refs[headRef];
		let parentOid = headOid;
		if (header.parentCommit !== undefined) {
			if (target.kind === "new-pull-request") {
				if (!repo.commits[header.parentCommit]) {
					throw revisionNotFound(header.parentCommit);
				}
				parentOid = header.parentCommit;
			} else if (header.parentCommit !== headOid) {
				throw new HubError(412, "A commit has happened since. Please refresh and try again.");
			}
		}
		const parent = parentOid ? repo.commits[parentOid] : undefined;
		const commit = buildCommit({
			parent,
			changes,
			title: header.summary,
			...(header.description ? { description: header.description } : {}),
			author,
		});
		const response = {
			success: true,
			commitOid: commit.oid,
			commitUrl: `${repoWebUrl(origin, repo)}/commit/${commit.oid}`,
			hookOutput: "",
		};

		if (target.kind === "new-pull-request") {
			const discussion = newDiscussion({
				repo,
				author: author.name,
				title: header.summary,
				description: header.description ?? "",
				status: "open",
				pr: { base: target.baseRef, startOid: parent?.oid ?? "" },
			});
			discussion.events.push(commitEvent(author.name, commit));
			repo.discussions.push(discussion);
			const ref = `refs/pr/${discussion.num}`;
			await advanceRef(store, repo, ref, commit);
			webhooks.emit({
				scope: "discussion",
				action: "create",
				repo,
				discussion,
				...(discussion.events[0] ? { comment: discussion.events[0] } : {}),
				origin,
			});
			webhooks.emit({
				scope: "repo.content",
				action: "update",
				repo,
				updatedRefs: [{ ref, oldSha: null, newSha: commit.oid }],
				origin,
			});
			return c.json({ ...response, pullRequestUrl: discussionUrls(origin, repo, discussion).web });
		}

		if (target.kind === "pull-request") {
			target.discussion.events.push(commitEvent(author.name, commit));
		}
		const oldSha = await advanceRef(store, repo, target.ref, commit);
		webhooks.emit({
			scope: "repo.content",
			action: "update",
			repo,
			updatedRefs: [{ ref: target.ref, oldSha, newSha: commit.oid }],
			origin,
		});
		return c.json(response);
	});

	return routes;
}
