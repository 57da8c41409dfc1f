import type { MergeMethod } from "./merge-method.js";

/** Every merge method mergesmith knows, in the order help text lists them. */
export const MERGE_METHODS: readonly MergeMethod[] = [];

export function findMergeMethod(name: string): MergeMethod | undefined {
	return MERGE_METHODS.find((method) => method.name === name);
}
