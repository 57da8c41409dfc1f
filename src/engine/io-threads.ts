import { fileURLToPath } from "node:url";

/**
 * The preload that sizes libuv's thread pool for a process that merges (see bin/io-threads.js): Node's
 * `--require` argument for it, for the processes that merge and are not the mergesmith command.
 */
export const IO_THREADS_PRELOAD = ["--require", fileURLToPath(new URL("../../bin/io-threads.js", import.meta.url))];
