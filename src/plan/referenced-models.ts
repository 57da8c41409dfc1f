import type { ModelReference, Recipe } from "../recipe/recipe.js";

/** Every model the recipe names (sources, slice bases, the base), first mention first, each once. */
export function referencedModels(recipe: Recipe): ModelReference[] {
	const seen = new Map<string, ModelReference>();
	const add = (reference: ModelReference | undefined): void => {
		if (reference && !seen.has(reference.key)) {
			seen.set(reference.key, reference);
		}
	};
	for (const input of recipe.models ?? []) {
		add(input.model);
	}
	for (const slice of recipe.slices ?? []) {
		for (const source of slice.sources) {
			add(source.model);
		}
		add(slice.baseModel);
	}
	for (const module of Object.values(recipe.modules ?? {})) {
		for (const input of module.models ?? []) {
			add(input.model);
		}
		for (const slice of module.slices ?? []) {
			for (const source of slice.sources) {
				add(source.model);
			}
			add(slice.baseModel);
		}
	}
	add(recipe.baseModel);
	return [...seen.values()];
}
