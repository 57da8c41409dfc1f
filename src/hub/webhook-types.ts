/** The Hub's webhook settings object (spec §2.3). */
export interface Webhook {
	id: string;
	/** Null for webhooks that start a Job instead of calling a URL. */
	url: string | null;
	watched: WebhookWatched[];
	/** `repo` and `discussion` events; the Python client spells the second `discussions`, the Hub takes both. */
	domains: string[];
	secret: string | null;
	disabled: boolean;
}

export interface WebhookWatched {
	type: "user" | "org" | "model" | "dataset" | "space";
	name: string;
}
