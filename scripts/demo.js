// Makes tiny stand-in models and merges them with examples/ties.yml: the whole pipeline, offline, in seconds.
import { makeDemoModels } from "../dist/fixtures/make-demo-models.js";
import { main } from "../dist/cli/main.js";

await makeDemoModels(".tmp/demo");
const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
process.exitCode = await main(["merge", "examples/ties.yml", "--out", ".tmp/demo/merged", "--random-seed", "42"], io);
if (process.exitCode === 0) {
	console.log("\nThe merged model and its card are in .tmp/demo/merged (see README.md there).");
}
