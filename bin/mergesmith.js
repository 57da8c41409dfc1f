#!/usr/bin/env node
// CommonJS (see package.json here), so that the merge process settings come before an ES module's loading.
require("./merge-process.js");

import("../dist/cli/main.js").then(async ({ main }) => {
	process.exitCode = await main(process.argv.slice(2), {
		stdout: process.stdout,
		stderr: process.stderr,
		env: process.env,
	});
});
