import { z } from "zod";

const ref = z.object({ id: z.string() });

/** The Hub's webhook payload, version 3 (the fields the bot reads; others pass through). */
export const WebhookPayloadSchema = z.object({
	event: z.object({ action: z.string(), scope: z.string() }),
	repo: z.object({
		type: z.enum(["model", "dataset", "space"]),
		name: z.string(),
		id: z.string().optional(),
		private: z.boolean().optional(),
		headSha: z.string().optional(),
		owner: ref.optional(),
	}),
	discussion: z
		.object({
			id: z.string(),
			num: z.number().int(),
			title: z.string().optional(),
			status: z.string().optional(),
			isPullRequest: z.boolean().optional(),
			author: ref.optional(),
		})
		.optional(),
	comment: z
		.object({
			id: z.string(),
			author: ref,
			content: z.string().optional(),
			hidden: z.boolean().optional(),
		})
		.optional(),
	updatedRefs: z
		.array(z.object({ ref: z.string(), oldSha: z.string().nullable(), newSha: z.string().nullable() }))
		.optional(),
	webhook: z.object({ id: z.string(), version: z.number() }).optional(),
});

export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;
