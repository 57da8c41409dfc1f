import { existsSync } from "node:fs";
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MergePlan } from "../plan/merge-plan.js";
import { writeTokenizerFiles } from "../tokenizer/write-tokenizer-files.js";
import { type CardReport, renderModelCard } from "./render-model-card.js";

/**
 * Files carried over from the tokenizer donor (the tokenizer source model, else the base model, else the first model):
 * the tokenizer as mergekit copies it, plus `generation_config.json` and `chat_template.jinja`, without which merged
 * chat models often never stop.
 */
export const CARRIED_FILES = [
	"tokenizer_config.json",
	"special_tokens_map.json",
	"tokenizer.json",
	"tokenizer.model",
	"added_tokens.json",
	"merges.txt",
	"vocab.json",
	"chat_template.jinja",
	"chat_template.json",
	"generation_config.json",
	"video_preprocessor_config.json",
] as const;

/** Writes everything beside the weights: config.json, carried files, mergekit_config.yml and README.md. */
export async function writeModelFiles(
	plan: MergePlan,
	outDir: string,
	options: { repoId?: string; report?: CardReport; device?: string } = {},
): Promise<string[]> {
	const written: string[] = [];
	await writeFile(join(outDir, "config.json"), `${JSON.stringify(plan.outputConfig, null, 2)}\n`);
	written.push("config.json");
	if (plan.tokenizer) {
		// A tokenizer option or chat template: the tokenizer donor's files, rebuilt or updated where the plan says.
		written.push(...(await writeTokenizerFiles(plan.tokenizer.output, outDir, CARRIED_FILES)));
	} else {
		for (const name of CARRIED_FILES) {
			const source = join(plan.donor.dir, name);
			if (existsSync(source)) {
				await copyFile(source, join(outDir, name));
				written.push(name);
			}
		}
	}
	await writeFile(join(outDir, "mergekit_config.yml"), plan.recipe.source);
	written.push("mergekit_config.yml");
	await writeFile(
		join(outDir, "README.md"),
		renderModelCard(plan, outDir, options.repoId, options.report, options.device),
	);
	written.push("README.md");
	return written;
}
