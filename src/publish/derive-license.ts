import type { LoadedModel } from "../models/load-model.js";

export interface DerivedLicense {
	/** The `license:` value for the card. */
	license: string;
	/** A sentence for the card when a person must confirm the licence; undefined when the parents agree. */
	note: string | undefined;
}

/**
 * The merged model's licence comes from its parents: when all declare the same one, that one; otherwise `other`
 * with a sentence asking a person to confirm. Never a default, since merges of Llama or Gemma models inherit
 * their terms.
 */
export function deriveLicense(models: readonly LoadedModel[]): DerivedLicense {
	const declared = new Map<string, string[]>();
	const unknown: string[] = [];
	// A LoRA adapter is a parent too: its terms bind the merge as much as its model's.
	const parents = models.flatMap((model) => [
		{ key: model.reference.key, license: model.license },
		...(model.adapter ? [{ key: model.adapter.path.path, license: model.adapter.license }] : []),
	]);
	for (const parent of parents) {
		if (parent.license === undefined) {
			unknown.push(parent.key);
		} else {
			declared.set(parent.license, [...(declared.get(parent.license) ?? []), parent.key]);
		}
	}
	if (unknown.length === 0 && declared.size === 1) {
		return { license: [...declared.keys()][0] as string, note: undefined };
	}
	const parts = [...declared.entries()].map(([license, names]) => `${names.join(", ")}: ${license}`);
	if (unknown.length > 0) {
		parts.push(`${unknown.join(", ")}: none declared`);
	}
	return {
		license: "other",
		note: `**Licence to confirm.** The parent models' licences (${parts.join("; ")}) do not settle this merge's licence, so the card says \`other\`. Check each parent's terms and set \`license:\` before sharing this model.`,
	};
}
