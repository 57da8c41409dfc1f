/** The Hub, as everything in src/hub takes it (the shape of @huggingface/hub's own params). */
export interface HubParams {
	/** Defaults to https://huggingface.co; `HF_ENDPOINT` in the CLI. */
	hubUrl?: string;
	/** An `hf_…` token. */
	accessToken?: string;
	/** Replaces the global fetch (proxies, tests, request counting). */
	fetch?: typeof fetch;
}

export type RepoType = "model" | "dataset" | "space";

/** `"ns/name"` (a model) or an explicit type, as @huggingface/hub's `RepoDesignation`. */
export type RepoDesignation = string | { type: RepoType; name: string };

export const DEFAULT_HUB_URL = "https://huggingface.co";
