/**
 * The stage name a model path may refer to in a multi-stage recipe: the path itself, or without a leading `./`, as
 * people write the output folder of a merge they ran just before (`base_model: ./Base_6_v2`).
 */
export function stageReferenceName(path: string): string {
	return path.startsWith("./") ? path.slice(2) : path;
}
