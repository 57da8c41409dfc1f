#!/usr/bin/env node
// CommonJS (see package.json here), so that libuv's thread pool is sized before an ES module's loading starts it.
require("./io-threads.js");

import("../dist/cli/main.js").then(async ({ main }) => {
	process.exitCode = await main(process.argv.slice(2), {
		stdout: process.stdout,
		stderr: process.stderr,
		env: process.env,
	});
});
