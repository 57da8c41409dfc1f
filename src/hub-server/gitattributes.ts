/** What a new repo's `.gitattributes` holds: the usual Hub patterns stored with LFS. */
export const DEFAULT_GITATTRIBUTES = `${[
	"*.7z",
	"*.arrow",
	"*.bin",
	"*.bz2",
	"*.ckpt",
	"*.ftz",
	"*.gguf",
	"*.gz",
	"*.h5",
	"*.joblib",
	"*.lfs.*",
	"*.mlmodel",
	"*.model",
	"*.msgpack",
	"*.npy",
	"*.npz",
	"*.onnx",
	"*.ot",
	"*.parquet",
	"*.pb",
	"*.pickle",
	"*.pkl",
	"*.pt",
	"*.pth",
	"*.rar",
	"*.safetensors",
	"saved_model/**/*",
	"*.tar.*",
	"*.tar",
	"*.tflite",
	"*.tgz",
	"*.wasm",
	"*.xz",
	"*.zip",
	"*.zst",
	"*tfevents*",
]
	.map((pattern) => `${pattern} filter=lfs diff=lfs merge=lfs -text`)
	.join("\n")}\n`;

function globToRegExp(glob: string): RegExp {
	let source = "";
	for (let i = 0; i < glob.length; i++) {
		const char = glob[i] ?? "";
		if (char === "*") {
			if (glob[i + 1] === "*") {
				source += ".*";
				i++;
			} else {
				source += "[^/]*";
			}
		} else if (char === "?") {
			source += "[^/]";
		} else {
			source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
		}
	}
	return new RegExp(`^${source}$`);
}

/**
 * A matcher for the paths that `.gitattributes` sends to LFS (`filter=lfs`), following git's rule that a
 * pattern without a slash matches the file name in any folder.
 */
export function lfsMatcher(gitattributes: string): (path: string) => boolean {
	const rules: { regexp: RegExp; anywhere: boolean; lfs: boolean }[] = [];
	for (const line of gitattributes.split(/\r?\n/)) {
		const [pattern, ...attributes] = line.trim().split(/\s+/);
		if (!pattern || pattern.startsWith("#") || attributes.length === 0) {
			continue;
		}
		const filter = attributes.find((attribute) => attribute.startsWith("filter=") || attribute === "-filter");
		if (filter === undefined) {
			continue;
		}
		const anchored = pattern.replace(/^\//, "");
		rules.push({ regexp: globToRegExp(anchored), anywhere: !pattern.includes("/"), lfs: filter === "filter=lfs" });
	}
	return (path) => {
		const name = path.split("/").at(-1) ?? path;
		let lfs = false;
		// Later lines override earlier ones, as in git.
		for (const rule of rules) {
			if (rule.regexp.test(rule.anywhere ? name : path)) {
				lfs = rule.lfs;
			}
		}
		return lfs;
	};
}
