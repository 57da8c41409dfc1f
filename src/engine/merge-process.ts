import { fileURLToPath } from "node:url";

/**
 * The preload that sets up a process that merges (see bin/merge-process.js: libuv's thread pool, V8's optimization
 * budget): Node's `--require` argument for it, for the processes that merge and are not the mergesmith command.
 */
export const MERGE_PROCESS_PRELOAD = [
	"--require",
	fileURLToPath(new URL("../../bin/merge-process.js", import.meta.url)),
];
