import type { MergeEvent } from "../execute/merge-events.js";
import { formatHeadline } from "../insight/format-headline.js";
import { formatBytes, formatDuration } from "./format-bytes.js";

export interface Output {
	write(text: string): unknown;
	isTTY?: boolean;
}

/**
 * Renders merge events for a person: on a terminal one status line redrawn in place (tensors, bytes, ETA);
 * elsewhere (logs, CI) plain lines at every tenth of the work.
 */
export function createProgressPrinter(out: Output, err: Output = out): (event: MergeEvent) => void {
	const started = performance.now();
	let lastDecile = -1;
	let statusShown = false;
	const clearStatus = (): void => {
		if (statusShown) {
			out.write("\r\u001b[2K");
			statusShown = false;
		}
	};
	return (event) => {
		switch (event.type) {
			case "model-loading":
				break;
			case "model-loaded":
				out.write(
					`model ${event.model}: ${event.origin === "local" ? "local folder" : `${event.origin} ${event.commit ?? ""}`.trim()} (${event.dir})\n`,
				);
				break;
			case "planned": {
				const { plan } = event;
				out.write(
					`plan: ${plan.method.name}, ${plan.tensors.length} tensors, ${formatBytes(plan.bytesToRead)} to read, ${formatBytes(plan.bytesToWrite)} to write, seed ${plan.seed}\n`,
				);
				break;
			}
			case "warning":
				clearStatus();
				err.write(
					`warning: ${event.diagnostic.span ? `line ${event.diagnostic.span.line}: ` : ""}${event.diagnostic.message}\n`,
				);
				break;
			case "tensor": {
				const elapsed = (performance.now() - started) / 1000;
				const fraction = event.bytesToRead > 0 ? event.bytesRead / event.bytesToRead : event.done / event.total;
				const eta = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : 0;
				const line = `merging ${event.done}/${event.total} tensors  ${Math.floor(fraction * 100)}%  ${formatBytes(event.bytesRead)}/${formatBytes(event.bytesToRead)} read  ETA ${formatDuration(eta)}`;
				if (out.isTTY) {
					out.write(`\r\u001b[2K${line}`);
					statusShown = true;
				} else {
					const decile = Math.floor((event.done / event.total) * 10);
					if (decile !== lastDecile) {
						lastDecile = decile;
						out.write(`${line}\n`);
					}
				}
				break;
			}
			case "weights-written":
				clearStatus();
				out.write(`weights: ${event.files.join(", ")}\n`);
				break;
			case "done":
				out.write(`done in ${event.seconds.toFixed(1)} s: ${event.files.length} files in ${event.outDir}\n`);
				if (event.report) {
					out.write(`merge report: ${formatHeadline(event.report.headline)} (${event.report.file})\n`);
				}
				break;
			case "stage":
				clearStatus();
				out.write(
					`stage ${event.index}/${event.total} \`${event.name}\`: ${event.reused ? "reusing the earlier output in" : "merging into"} ${event.outDir}\n`,
				);
				break;
			case "download":
			case "upload": {
				const verb = event.type === "download" ? "downloading" : "uploading";
				const who = event.type === "download" ? event.model : event.repo;
				const line = `${verb} ${who}: ${event.file}  ${formatBytes(event.bytesDone)}/${formatBytes(event.bytesTotal)}`;
				if (out.isTTY) {
					out.write(`\r\u001b[2K${line}`);
					statusShown = true;
				} else if (event.bytesDone === event.bytesTotal) {
					// Logs get one line per file, when it is complete.
					out.write(
						`${event.type === "download" ? "downloaded" : "uploaded"} ${who}: ${event.file} (${formatBytes(event.bytesTotal)})\n`,
					);
				}
				break;
			}
			case "downloaded":
				clearStatus();
				out.write(
					`model ${event.model}: in the cache at ${event.commit} (${event.files} files, ${formatBytes(event.bytes)} downloaded)\n`,
				);
				break;
			case "published":
				clearStatus();
				out.write(
					event.pullRequestUrl
						? `opened pull request ${event.pullRequestUrl} on ${event.repo} (commit ${event.commit})\n`
						: `published ${event.repo}${event.createdRepo ? " (new repo)" : ""} at commit ${event.commit}: ${event.url}\n`,
				);
				break;
		}
	};
}
