import { arceeFusion } from "./arcee-fusion.js";
import { karcher } from "./karcher.js";
import { linear } from "./linear.js";
import type { MergeMethod } from "./merge-method.js";
import { modelStock } from "./model-stock.js";
import { multislerp } from "./multislerp.js";
import { nearswap } from "./nearswap.js";
import { nuslerp } from "./nuslerp.js";
import { passthrough } from "./passthrough.js";
import { ram, ramplusTl } from "./ram.js";
import { sce } from "./sce.js";
import { slerp } from "./slerp.js";
import { TASK_ARITHMETIC_FAMILY } from "./task-arithmetic.js";

/** Every merge method mergesmith knows, in the order help text lists them (mergekit's registry order). */
export const MERGE_METHODS: readonly MergeMethod[] = [
	linear,
	slerp,
	nuslerp,
	passthrough,
	modelStock,
	arceeFusion,
	karcher,
	...TASK_ARITHMETIC_FAMILY,
	multislerp,
	nearswap,
	sce,
	ram,
	ramplusTl,
];

export function findMergeMethod(name: string): MergeMethod | undefined {
	return MERGE_METHODS.find((method) => method.name === name);
}
