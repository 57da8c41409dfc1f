import { collectMergeGroups } from "../recipe/collect-merge-groups.js";
import type { ParameterSetting, Recipe } from "../recipe/recipe.js";

/** One parameter as written somewhere in the recipe. */
export interface SettingSite {
	name: string;
	setting: ParameterSetting;
	/** For people: `top-level parameters`, `model a`, `slice 2`, `slice 2, model a`. */
	where: string;
	/** The model whose own parameters these are; undefined for slice, module and top-level parameters. */
	model: string | undefined;
	/** The slice (0-based) the setting is limited to; undefined in the `models:` form and at the top level. */
	slice: number | undefined;
}

/** Every parameter setting of the recipe, each parameter map once, members before the levels below them. */
export function collectSettingSites(recipe: Recipe): SettingSite[] {
	const sites: SettingSite[] = [];
	const seen = new Set<object>();
	let sliceIndex = -1;
	for (const group of collectMergeGroups(recipe)) {
		const slice = group.form === "slices" ? ++sliceIndex : undefined;
		const add = (parameters: object | undefined, where: string, model: string | undefined, own: number | undefined) => {
			if (parameters === undefined || seen.has(parameters)) {
				return;
			}
			seen.add(parameters);
			for (const [name, setting] of Object.entries(parameters as Record<string, ParameterSetting>)) {
				sites.push({ name, setting, where, model, slice: own });
			}
		};
		for (const member of group.members) {
			add(
				member.parameters,
				slice === undefined ? `model ${member.model.key}` : `slice ${slice + 1}, model ${member.model.key}`,
				member.model.key,
				slice,
			);
		}
		for (const level of group.levels) {
			const isTop = level.parameters === recipe.parameters;
			const isSlice = level.where.startsWith("slices[") && level.where.endsWith("].parameters");
			add(
				level.parameters,
				isTop ? "top-level parameters" : isSlice && slice !== undefined ? `slice ${slice + 1}` : level.where,
				undefined,
				isSlice ? slice : undefined,
			);
		}
	}
	return sites;
}
