/** Exit codes scripts can rely on (also listed by `mergesmith --help`). */
export const EXIT = {
	ok: 0,
	/** The recipe or its models are invalid; nothing was written. */
	invalid: 1,
	/** The command line is wrong. */
	usage: 2,
	/** The merge failed while running (I/O, a model file turned out unreadable); partial output was removed. */
	failed: 3,
} as const;
