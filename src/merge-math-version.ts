/**
 * The version of mergesmith's merge arithmetic: bump it with any change that alters merged weights for the same
 * recipe and inputs (a kernel, a rounding rule, a parameter default). Scheduled merges compare it with the one their
 * last publication recorded, so a bump re-merges them once; changes that leave weights alone (the CLI, the card, the
 * bot) must not bump it.
 */
export const MERGE_MATH_VERSION = "5";
