import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";
import type { Diagnostic, SourceSpan } from "./recipe.js";

/** More alias expansions than this in one document is treated as an alias bomb ("billion laughs"). */
export const MAX_ALIAS_COUNT = 100;
/** Deeper nesting than this is no recipe; stop before the stack does. */
const MAX_DEPTH = 64;

/** Thrown by a reader when a document expands too many aliases; the document is then refused as a whole. */
export class AliasLimitError extends Error {
	readonly span: SourceSpan;
	constructor(span: SourceSpan) {
		super(`more than ${MAX_ALIAS_COUNT} alias expansions`);
		this.span = span;
	}
}

export interface YamlEntry {
	key: string;
	keySpan: SourceSpan;
	/** The value with aliases followed; null for a YAML null or an empty value. */
	value: Node | null;
	/** Where the value is written, or the key's place when the value is empty. */
	valueSpan: SourceSpan;
}

export interface YamlReader {
	readonly diagnostics: Diagnostic[];
	span(node: Node | null | undefined, fallback: SourceSpan): SourceSpan;
	/** Follows aliases; null for a YAML null. */
	resolve(node: unknown): Node | null;
	/** A map's entries in order, with `<<` merge keys applied and duplicate keys reported (the last one wins, as in PyYAML). */
	entries(map: Node, where: string): YamlEntry[];
	/** A sequence's items with aliases followed. */
	items(seq: Node): Array<Node | null>;
	/** The node as plain data (maps become objects), for blocks kept as data. */
	toPlain(node: Node | null): unknown;
	error(message: string, span?: SourceSpan): void;
	warning(message: string, span?: SourceSpan): void;
}

export interface YamlReaderOptions {
	lineCounter: LineCounter;
	lineOffset: number;
	file: string | undefined;
}

/** Wraps one parsed YAML document for the recipe walk: positions, aliases, duplicate keys and diagnostics. */
export function createYamlReader(doc: Document, options: YamlReaderOptions): YamlReader {
	const diagnostics: Diagnostic[] = [];
	let aliasCount = 0;

	const spanAt = (offset: number): SourceSpan => {
		const position = options.lineCounter.linePos(offset);
		return { line: position.line + options.lineOffset, column: position.col };
	};

	const span = (node: Node | null | undefined, fallback: SourceSpan): SourceSpan => {
		const range = node?.range;
		return range ? spanAt(range[0]) : fallback;
	};

	const push = (severity: Diagnostic["severity"], message: string, where?: SourceSpan): void => {
		const diagnostic: Diagnostic = { severity, message };
		if (where !== undefined) {
			diagnostic.span = where;
		}
		if (options.file !== undefined) {
			diagnostic.file = options.file;
		}
		diagnostics.push(diagnostic);
	};

	const resolve = (node: unknown): Node | null => {
		let current = node;
		// An alias can point at another alias only through its anchor node, so one hop is enough; loop anyway.
		for (let hops = 0; isAlias(current); hops++) {
			aliasCount++;
			const aliasSpan = span(current, { line: options.lineOffset + 1, column: 1 });
			if (aliasCount > MAX_ALIAS_COUNT || hops > MAX_DEPTH) {
				throw new AliasLimitError(aliasSpan);
			}
			const target = current.resolve(doc);
			if (target === undefined) {
				push(
					"error",
					`alias \`*${current.source}\` at line ${aliasSpan.line} refers to no anchor \`&${current.source}\` written before it`,
					aliasSpan,
				);
				return null;
			}
			current = target;
		}
		if (isScalar(current) && current.value === null) {
			return null;
		}
		if (isMap(current) || isSeq(current) || isScalar(current)) {
			return current;
		}
		return null;
	};

	const keyText = (key: unknown): string | undefined => {
		const resolved = resolve(key);
		if (resolved === null) {
			return isScalar(key) ? "" : undefined;
		}
		if (isScalar(resolved)) {
			return typeof resolved.value === "string" ? resolved.value : (resolved.source ?? String(resolved.value));
		}
		return undefined;
	};

	const entries = (map: Node, where: string): YamlEntry[] => {
		if (!isMap(map)) {
			return [];
		}
		const result = new Map<string, YamlEntry>();
		const merged = new Set<string>();
		const explicit: YamlEntry[] = [];
		for (const pair of map.items) {
			if (!isPair(pair)) {
				continue;
			}
			const keyNode = isAlias(pair.key) || isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? pair.key : null;
			const keySpan = span(keyNode, span(map, { line: options.lineOffset + 1, column: 1 }));
			const key = keyText(pair.key);
			if (key === undefined) {
				push("error", `a map key at line ${keySpan.line} is a list or map; recipe keys are plain names`, keySpan);
				continue;
			}
			const rawValue = isAlias(pair.value) || isNodeLike(pair.value) ? pair.value : null;
			if (key === "<<") {
				// PyYAML (which mergekit uses) applies merge keys; explicit keys of this map take precedence.
				for (const source of mergeSources(resolve(rawValue))) {
					for (const entry of entries(source, where)) {
						if (!result.has(entry.key)) {
							result.set(entry.key, entry);
							merged.add(entry.key);
						}
					}
				}
				continue;
			}
			const value = resolve(rawValue);
			explicit.push({ key, keySpan, value, valueSpan: span(value, keySpan) });
		}
		for (const entry of explicit) {
			const earlier = result.get(entry.key);
			if (earlier !== undefined && !merged.has(entry.key)) {
				const hint =
					where === ""
						? " — two recipes pasted together? Separate them with a `---` line"
						: `; YAML keeps only the last one, so delete the one you did not mean`;
				const place = where === "" ? "" : ` in ${where}`;
				const lines =
					earlier.keySpan.line === entry.keySpan.line
						? `on line ${entry.keySpan.line}`
						: `at lines ${earlier.keySpan.line} and ${entry.keySpan.line}`;
				push("error", `\`${entry.key}\` appears twice${place}, ${lines}${hint}`, entry.keySpan);
			}
			merged.delete(entry.key);
			result.set(entry.key, entry);
		}
		return [...result.values()];
	};

	const mergeSources = (value: Node | null): Node[] => {
		if (value === null) {
			return [];
		}
		if (isMap(value)) {
			return [value];
		}
		if (isSeq(value)) {
			return value.items.map((item) => resolve(item)).filter((item): item is Node => item !== null && isMap(item));
		}
		return [];
	};

	const items = (seq: Node): Array<Node | null> => (isSeq(seq) ? seq.items.map((item) => resolve(item)) : []);

	const toPlain = (node: Node | null, depth = 0): unknown => {
		if (depth > MAX_DEPTH) {
			throw new AliasLimitError(span(node, { line: options.lineOffset + 1, column: 1 }));
		}
		if (node === null) {
			return null;
		}
		if (isScalar(node)) {
			return node.value;
		}
		if (isSeq(node)) {
			return items(node).map((item) => toPlain(item, depth + 1));
		}
		if (isMap(node)) {
			const object: Record<string, unknown> = {};
			for (const entry of entries(node, "a nested map")) {
				object[entry.key] = toPlain(entry.value, depth + 1);
			}
			return object;
		}
		return null;
	};

	return {
		diagnostics,
		span,
		resolve,
		entries,
		items,
		toPlain: (node) => toPlain(node),
		error: (message, where) => push("error", message, where),
		warning: (message, where) => push("warning", message, where),
	};
}

function isNodeLike(value: unknown): value is Node {
	return isScalar(value) || isMap(value) || isSeq(value);
}
