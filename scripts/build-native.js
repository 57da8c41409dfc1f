#!/usr/bin/env node
// Builds the native helper in native/ (huge pages for the merge's working memory) with node-gyp.
// `npm install` runs it with --optional: where it cannot build (no C compiler, say), mergesmith installs and merges
// all the same, without huge pages, and says so here and at each merge. `npm run build:native` fails instead.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const optional = process.argv.includes("--optional");
const native = join(dirname(fileURLToPath(import.meta.url)), "..", "native");

if (process.platform !== "linux") {
	console.log("mergesmith: the huge-pages helper is for Linux; nothing to build here");
	process.exit(0);
}
// npm hands its own node-gyp to the scripts it runs; elsewhere, the one beside this node's npm.
const nodeGyp =
	process.env.npm_config_node_gyp ??
	join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
if (!existsSync(nodeGyp)) {
	fail(`node-gyp not found at ${nodeGyp}`);
}
const build = spawnSync(process.execPath, [nodeGyp, "rebuild", "--loglevel=warn"], { cwd: native, stdio: "inherit" });
if (build.status !== 0) {
	fail(build.error ? build.error.message : `node-gyp exited with ${build.status ?? build.signal}`);
}

function fail(why) {
	console.error(`mergesmith: the huge-pages helper did not build: ${why}`);
	if (optional) {
		console.error(
			"mergesmith: merges work without it, touching their memory in 4 KiB pages (on Linux, 3-5x slower to touch " +
				"the first time); `npm run build:native` tries again (needs python3, make and a C compiler)",
		);
		process.exit(0);
	}
	process.exit(1);
}
