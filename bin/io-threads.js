// libuv's thread pool runs a merge's file reads and writes, and its default four threads are too few for them: a
// shard's sync on the way (about 0.1 s, every 128 MiB) and the direct writes that wait for it can hold all four, and
// the reads of the next tensors queue behind them. Full-size task_arithmetic waited 0.94–1.10 s for its reads with
// four threads, 0.35–0.61 s with sixteen.
//
// The size is read once, when the pool starts, and an ES module entry starts it as it loads: hence this CommonJS file,
// which the mergesmith command runs first and the processes that merge take as a preload (`node --require`).
process.env.UV_THREADPOOL_SIZE ??= "16";
