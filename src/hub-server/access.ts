import { HubError, repoNotFound } from "./hub-error.js";
import type { HubStore } from "./hub-store.js";
import type { OrgRole, RepoType, StoredRepo, Viewer } from "./hub-types.js";

export function namespaceOf(repoName: string): string {
	return repoName.split("/")[0] ?? repoName;
}

/** Whether `user` is the namespace itself or a member of the org with one of `roles`. */
export function isMember(
	store: HubStore,
	namespace: string,
	user: string,
	roles: readonly OrgRole[] = ["read", "write", "admin"],
): boolean {
	if (namespace === user) {
		return true;
	}
	const org = store.org(namespace);
	return org?.members.some((member) => member.user === user && roles.includes(member.role)) ?? false;
}

export function canRead(store: HubStore, repo: StoredRepo, viewer: Viewer | undefined): boolean {
	return viewer === undefined ? !repo.private : userCanRead(store, repo, viewer.user.name);
}

export function userCanRead(store: HubStore, repo: StoredRepo, user: string): boolean {
	return !repo.private || isMember(store, namespaceOf(repo.name), user);
}

/** Write access needs both a token that may write and a user who may write to the namespace. */
export function canWrite(store: HubStore, repo: StoredRepo, viewer: Viewer | undefined): boolean {
	return (
		viewer !== undefined &&
		viewer.token.role !== "read" &&
		isMember(store, namespaceOf(repo.name), viewer.user.name, ["write", "admin"])
	);
}

export function requireViewer(viewer: Viewer | undefined): Viewer {
	if (!viewer) {
		throw new HubError(401, "Authentication required: send Authorization: Bearer hf_...");
	}
	return viewer;
}

/** The repo if the caller may see it; otherwise the Hub's 401/404 `RepoNotFound`, which never reveals a private repo. */
export function readableRepo(store: HubStore, type: RepoType, name: string, viewer: Viewer | undefined): StoredRepo {
	const repo = store.repo(type, name);
	if (!repo || !canRead(store, repo, viewer)) {
		throw repoNotFound(viewer !== undefined);
	}
	return repo;
}

export function writableRepo(store: HubStore, type: RepoType, name: string, viewer: Viewer | undefined): StoredRepo {
	const repo = readableRepo(store, type, name, requireViewer(viewer));
	if (!canWrite(store, repo, viewer)) {
		throw new HubError(403, `You don't have the rights to write to ${type} ${name}`);
	}
	return repo;
}

/** Any signed-in user with a token that may write can open discussions and pull requests on a repo they can read. */
export function requireParticipant(viewer: Viewer | undefined): Viewer {
	const signedIn = requireViewer(viewer);
	if (signedIn.token.role === "read") {
		throw new HubError(403, "This token has read-only access");
	}
	return signedIn;
}

/**
 * Gating protects file content only (the repo's metadata stays public): no token → 401, a token whose user
 * was not granted access → 403, both with `X-Error-Code: GatedRepo`.
 */
export function checkGate(store: HubStore, repo: StoredRepo, viewer: Viewer | undefined, origin: string): void {
	if (repo.gated === false) {
		return;
	}
	const label = `${repo.type === "model" ? "model" : repo.type} ${repo.name}`;
	if (!viewer) {
		throw new HubError(
			401,
			`Access to ${label} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
			{ code: "GatedRepo" },
		);
	}
	const granted =
		isMember(store, namespaceOf(repo.name), viewer.user.name) || repo.grantedUsers.includes(viewer.user.name);
	if (!granted) {
		throw new HubError(
			403,
			`Access to ${label} is restricted and you are not in the authorized list. Visit ${origin}/${repo.type === "model" ? "" : `${repo.type}s/`}${repo.name} to ask for access.`,
			{ code: "GatedRepo" },
		);
	}
}
