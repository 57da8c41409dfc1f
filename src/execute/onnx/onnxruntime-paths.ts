import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** Where onnxruntime-node keeps its native libraries for this platform, and its own installer script. */
export function onnxruntimePaths(): { packageDir: string; binDir: string; installScript: string } {
	const packageDir = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
	return {
		packageDir,
		binDir: join(packageDir, "bin", "napi-v6", process.platform, process.arch),
		installScript: join(packageDir, "script", "install.js"),
	};
}

/**
 * The one command that installs onnxruntime's CUDA provider libraries into that folder: the package's own install
 * script, which its postinstall would run but which mergesmith's package.json keeps off (it downloads from nuget).
 */
export function cudaInstallCommand(): string {
	return `node ${onnxruntimePaths().installScript} --onnxruntime-node-install=cuda12`;
}
