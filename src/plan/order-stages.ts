import type { Diagnostic, ModelReference, Recipe, SourceSpan } from "../recipe/recipe.js";
import { stageReferenceName } from "../recipe/stage-reference-name.js";
import { suggestName } from "../recipe/suggest-name.js";
import { referencedModels } from "./referenced-models.js";

/** One merge of a multi-stage recipe (mergekit-multi, spec §6.4). */
export interface RecipeStage {
	/** The document's `name:`; undefined only for the final stage. */
	name: string | undefined;
	recipe: Recipe;
	/** Names of the stages whose outputs this one reads. */
	dependsOn: string[];
	/** The unnamed stage, whose output is the recipe's result (it goes to --out); no stage is when all are named. */
	final: boolean;
}

export interface OrderedStages {
	/** Stages in an order where each comes after those it reads; stages the final one does not need are left out. */
	stages: RecipeStage[];
	diagnostics: Diagnostic[];
}

/**
 * Orders the documents of a multi-stage recipe (spec §6.4): each has a `name:` except at most one, the final merge;
 * a model reference whose path is another document's name (or `./name`) reads that stage's output. Reports duplicate names, more
 * than one unnamed document, references to a stage from its own recipe or in a cycle, LoRA adapters named like a
 * stage, names close to a stage's that are probably typos, and stages the final merge never uses (skipped). When
 * every document is named there is no final stage: every stage runs, and each output is kept under its name (as
 * mergekit-multi keeps them in its intermediate folder).
 */
export function orderStages(recipes: readonly Recipe[]): OrderedStages {
	const diagnostics: Diagnostic[] = [];
	const error = (message: string, span: SourceSpan | undefined, file: string | undefined): void => {
		diagnostics.push({
			severity: "error",
			message,
			...(span === undefined ? {} : { span }),
			...(file === undefined ? {} : { file }),
		});
	};
	const warning = (message: string, span: SourceSpan | undefined, file: string | undefined): void => {
		diagnostics.push({
			severity: "warning",
			message,
			...(span === undefined ? {} : { span }),
			...(file === undefined ? {} : { file }),
		});
	};
	const nameSpan = (recipe: Recipe): SourceSpan => recipe.keySpans.name ?? recipe.mergeMethodSpan;
	const byName = new Map<string, Recipe>();
	const unnamed: Recipe[] = [];
	for (const recipe of recipes) {
		if (recipe.name === undefined) {
			unnamed.push(recipe);
			continue;
		}
		const earlier = byName.get(recipe.name);
		if (earlier !== undefined) {
			error(
				`two stages are named \`${recipe.name}\` (lines ${nameSpan(earlier).line} and ${nameSpan(recipe).line}); each stage needs its own name`,
				nameSpan(recipe),
				recipe.file,
			);
			continue;
		}
		byName.set(recipe.name, recipe);
	}
	if (unnamed.length > 1) {
		const lines = unnamed.map((recipe) => recipe.mergeMethodSpan.line).join(", ");
		error(
			`${unnamed.length} documents of this multi-stage recipe have no \`name:\` (merge_method at lines ${lines}); only the final merge, whose output goes to --out, may go without one. Name the others (\`name: stage-1\`) and refer to them by that name`,
			unnamed[1]?.mergeMethodSpan,
			unnamed[1]?.file,
		);
	}
	const names = [...byName.keys()];
	const dependencies = new Map<Recipe, string[]>();
	for (const recipe of recipes) {
		const needs = new Set<string>();
		for (const reference of stageReferences(recipe)) {
			const path = stageReferenceName(reference.model.path);
			if (byName.has(path)) {
				if (path === recipe.name) {
					error(
						`stage \`${path}\` reads its own output at line ${reference.span.line}; a stage can read only other stages`,
						reference.span,
						recipe.file,
					);
				} else {
					needs.add(path);
				}
			} else if (!path.includes("/")) {
				const suggestion = suggestName(path, names);
				if (suggestion !== undefined) {
					error(
						`\`${path}\` at line ${reference.span.line} is no stage of this recipe: did you mean stage \`${suggestion}\`? (a name with no \`/\` that is no stage would be looked up as a Hub repo or folder)`,
						reference.span,
						recipe.file,
					);
				}
			}
			if (reference.lora !== undefined && byName.has(stageReferenceName(reference.lora.path))) {
				error(
					`\`${reference.key}\` at line ${reference.span.line} applies stage \`${reference.lora.path}\` as a LoRA adapter, but a stage's output is a whole model; list it as a model`,
					reference.span,
					recipe.file,
				);
			}
		}
		dependencies.set(recipe, [...needs]);
	}
	if (diagnostics.some((diagnostic) => diagnostic.severity === "error")) {
		return { stages: [], diagnostics };
	}
	const final = unnamed[0];
	// Depth-first from the final stage (or from every stage when all are named): the order a stage finishes in is a
	// valid run order, and a stage met again while still open closes a cycle.
	const ordered: Recipe[] = [];
	const state = new Map<Recipe, "open" | "done">();
	const visit = (recipe: Recipe, path: readonly string[]): boolean => {
		const seen = state.get(recipe);
		if (seen === "done") {
			return true;
		}
		const label = recipe.name ?? "the final merge";
		if (seen === "open") {
			const cycle = [...path.slice(path.indexOf(label)), label].map((name) => `\`${name}\``).join(" → ");
			error(
				`the stages read each other in a cycle (${cycle}), so none of them can run first`,
				nameSpan(recipe),
				recipe.file,
			);
			return false;
		}
		state.set(recipe, "open");
		for (const name of dependencies.get(recipe) ?? []) {
			const needed = byName.get(name);
			if (needed !== undefined && !visit(needed, [...path, label])) {
				return false;
			}
		}
		state.set(recipe, "done");
		ordered.push(recipe);
		return true;
	};
	const roots = final === undefined ? recipes : [final];
	if (!roots.every((recipe) => visit(recipe, []))) {
		return { stages: [], diagnostics };
	}
	for (const recipe of recipes) {
		if (!state.has(recipe)) {
			warning(
				`stage \`${recipe.name}\` (line ${nameSpan(recipe).line}) is not used by the final merge, so it is skipped`,
				nameSpan(recipe),
				recipe.file,
			);
		}
	}
	return {
		stages: ordered.map((recipe) => ({
			name: recipe.name,
			recipe,
			dependsOn: dependencies.get(recipe) ?? [],
			final: recipe === final,
		})),
		diagnostics,
	};
}

/** Every model reference of a recipe that could name a stage, tokenizer sources included. */
function stageReferences(recipe: Recipe): ModelReference[] {
	const references = referencedModels(recipe);
	const span = recipe.keySpans.tokenizer_source ?? recipe.keySpans.tokenizer ?? recipe.mergeMethodSpan;
	const tokenizer = recipe.tokenizer as { source?: unknown } | undefined;
	for (const source of [recipe.tokenizerSource, tokenizer?.source]) {
		if (typeof source === "string" && source !== "union" && source !== "base") {
			const [model = source, lora] = source.split("+");
			references.push({
				model: { path: model.split("@")[0] ?? model, revision: undefined },
				lora: lora === undefined ? undefined : { path: lora.split("@")[0] ?? lora, revision: undefined },
				overrideArchitecture: undefined,
				key: source,
				span,
			});
		}
	}
	return references;
}
