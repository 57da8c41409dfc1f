import { main } from "../cli/main.js";

/**
 * One merge run by the bench in a process of its own, so that its peak resident memory is its own:
 * `node merge-child.js ARGS…` runs `mergesmith merge ARGS…` silently and prints one JSON line with the exit code,
 * the wall time and the peak RSS.
 */
const quiet = { write: (): boolean => true };
const errors: string[] = [];
// The merge command's modules load before the clock starts, as every module did when the CLI loaded them all up front:
// the figures are the merge's, comparable from run to run.
await import("../cli/commands/merge-command.js");
const started = performance.now();
const code = await main(["merge", ...process.argv.slice(2)], {
	stdout: quiet,
	stderr: {
		write: (text: string): boolean => {
			errors.push(text);
			return true;
		},
	},
	env: { ...process.env, HF_HUB_OFFLINE: "1" },
});
const seconds = (performance.now() - started) / 1000;
// resourceUsage().maxRSS is in kilobytes.
const usage = process.resourceUsage();
const maxRssBytes = usage.maxRSS * 1024;
const pageFaults = usage.minorPageFault + usage.majorPageFault;
process.stdout.write(`${JSON.stringify({ code, seconds, maxRssBytes, pageFaults, stderr: errors.join("") })}\n`);
process.exitCode = code;
