import type { ModelReference, OutputSlice, Parameters, Recipe, SourceSpan } from "./recipe.js";

/** One input of a merge group: a listed model or slice source, or the base model mergekit adds. */
export interface GroupMember {
	model: ModelReference;
	/** The member's own parameters (highest precedence); undefined for an auto-added base. */
	parameters: Parameters | undefined;
	/** Path of the member in the recipe: `models[1]`, `slices[0].sources[1]`. */
	where: string;
	span: SourceSpan;
	/** Added by mergekit because base_model is set but not listed (spec §1.4). */
	autoAdded: boolean;
	layerRange: readonly [number, number] | undefined;
}

export interface ParameterLevel {
	parameters: Parameters;
	/** `slices[1].parameters`, `modules.text_decoder.parameters`, `parameters`. */
	where: string;
}

/** One set of models merged together: the `models:` list, or one output slice. */
export interface MergeGroup {
	form: "models" | "slices";
	/** For messages: `the models list (line 3)`, `slice 2 (line 9)`. */
	label: string;
	span: SourceSpan;
	members: GroupMember[];
	base: ModelReference | undefined;
	/** Whether base_model was written on this slice rather than inherited from the top level. */
	baseFromSlice: boolean;
	/** Parameter maps below the members' own, highest precedence first (slice, module, top level). */
	levels: ParameterLevel[];
}

/** Every merge group of the recipe, in any of its three forms, with the precedence levels that apply to it. */
export function collectMergeGroups(recipe: Recipe): MergeGroup[] {
	const groups: MergeGroup[] = [];
	const top: ParameterLevel = { parameters: recipe.parameters, where: "parameters" };
	const addModels = (
		models: NonNullable<Recipe["models"]>,
		where: string,
		label: string,
		span: SourceSpan,
		levels: ParameterLevel[],
	): void => {
		const members: GroupMember[] = models.map((model, index) => ({
			model: model.model,
			parameters: model.parameters,
			where: `${where}[${index}]`,
			span: model.span,
			autoAdded: false,
			layerRange: undefined,
		}));
		const base = recipe.baseModel;
		if (base !== undefined && !members.some((member) => member.model.key === base.key)) {
			members.push({
				model: base,
				parameters: undefined,
				where: "base_model",
				span: base.span,
				autoAdded: true,
				layerRange: undefined,
			});
		}
		groups.push({ form: "models", label, span, members, base, baseFromSlice: false, levels });
	};
	const addSlices = (slices: readonly OutputSlice[], where: string, prefix: string, levels: ParameterLevel[]): void => {
		for (const [index, slice] of slices.entries()) {
			const sliceWhere = `${where}[${index}]`;
			groups.push({
				form: "slices",
				label: `${prefix}slice ${index + 1} (line ${slice.span.line})`,
				span: slice.span,
				members: slice.sources.map((source, sourceIndex) => ({
					model: source.model,
					parameters: source.parameters,
					where: `${sliceWhere}.sources[${sourceIndex}]`,
					span: source.span,
					autoAdded: false,
					layerRange: source.layerRange,
				})),
				base: slice.baseModel ?? recipe.baseModel,
				baseFromSlice: slice.baseModel !== undefined,
				levels: [{ parameters: slice.parameters, where: `${sliceWhere}.parameters` }, ...levels],
			});
		}
	};

	if (recipe.models !== undefined) {
		const span = recipe.keySpans.models ?? recipe.mergeMethodSpan;
		addModels(recipe.models, "models", `the models list (line ${span.line})`, span, [top]);
	}
	if (recipe.slices !== undefined) {
		addSlices(recipe.slices, "slices", "", [top]);
	}
	for (const [name, module] of Object.entries(recipe.modules ?? {})) {
		const moduleLevel: ParameterLevel = { parameters: module.parameters, where: `modules.${name}.parameters` };
		if (module.models !== undefined) {
			addModels(
				module.models,
				`modules.${name}.models`,
				`the models of module \`${name}\` (line ${module.span.line})`,
				module.span,
				[moduleLevel, top],
			);
		}
		if (module.slices !== undefined) {
			addSlices(module.slices, `modules.${name}.slices`, `module \`${name}\` `, [moduleLevel, top]);
		}
	}
	return groups;
}
