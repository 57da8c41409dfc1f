// Settings for a process that merges, made before anything else loads: the mergesmith command runs this file first,
// and the other processes that merge (the bot's merge process, the bench's children) take it as a preload
// (`node --require`). It is CommonJS because both settings must come before an ES module's loading.

// libuv's thread pool runs a merge's file reads and writes, and its default four threads are too few for them: a
// shard's sync on the way (about 0.1 s, every 128 MiB) and the direct writes that wait for it can hold all four, and
// the reads of the next tensors queue behind them. Full-size task_arithmetic waited 0.94–1.10 s for its reads with
// four threads, 0.35–0.61 s with sixteen. The size is read once, when the pool starts, which loading starts.
process.env.UV_THREADPOOL_SIZE ??= "16";

// A merge's arithmetic runs in WebAssembly; its JavaScript calls the kernels block by block, hundreds of thousands of
// times, so that V8 soon optimizes (and reoptimizes, in every thread) the code around them, which the calls barely
// need: with V8's default budget a full-size task_arithmetic merge spent 0.9–1.1 s of compile threads' time on 77
// functions. With a budget sixty times larger, V8 optimizes what stays hot (about 25 functions, 0.1 s). A function's
// budget is set when it first runs, so this goes before the code that merges is loaded.
require("node:v8").setFlagsFromString("--interrupt-budget=4000000");
