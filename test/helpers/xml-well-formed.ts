/**
 * A small XML well-formedness check (enough for SVG files): one root element, every tag closed in order, attributes
 * quoted and unique, `&` only in known or numeric entities, no `<` in text or attribute values. Returns the first
 * problem found, or undefined; also the root element's name and attributes.
 */
export function checkXml(text: string): {
	error: string | undefined;
	root: string | undefined;
	rootAttributes: Map<string, string>;
} {
	const stack: string[] = [];
	let root: string | undefined;
	const rootAttributes = new Map<string, string>();
	let i = 0;
	const fail = (message: string) => ({ error: `${message} at offset ${i}`, root, rootAttributes });
	const entity = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/;
	const checkText = (chunk: string): string | undefined => {
		for (let k = 0; k < chunk.length; k++) {
			if (chunk[k] === "&" && !entity.test(chunk.slice(k))) {
				return "bare & in text";
			}
		}
		return undefined;
	};
	while (i < text.length) {
		const open = text.indexOf("<", i);
		const chunk = text.slice(i, open < 0 ? text.length : open);
		const problem = checkText(chunk);
		if (problem) {
			return fail(problem);
		}
		if (chunk.trim() !== "" && stack.length === 0) {
			return fail("text outside the root element");
		}
		if (open < 0) {
			break;
		}
		i = open;
		if (text.startsWith("<?", i)) {
			const end = text.indexOf("?>", i);
			if (end < 0 || root !== undefined) {
				return fail("bad processing instruction");
			}
			i = end + 2;
			continue;
		}
		if (text.startsWith("<!--", i)) {
			const end = text.indexOf("-->", i);
			if (end < 0) {
				return fail("unclosed comment");
			}
			i = end + 3;
			continue;
		}
		const close = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(text.slice(i));
		if (close) {
			const name = close[1];
			if (stack.pop() !== name) {
				return fail(`unexpected </${name}>`);
			}
			i += close[0].length;
			continue;
		}
		const tag = /^<([A-Za-z_][\w.:-]*)/.exec(text.slice(i));
		if (!tag) {
			return fail("bad tag");
		}
		const name = tag[1] as string;
		if (stack.length === 0 && root !== undefined) {
			return fail("second root element");
		}
		const isRoot = stack.length === 0;
		root ??= name;
		i += tag[0].length;
		const seen = new Set<string>();
		for (;;) {
			const space = /^\s*/.exec(text.slice(i));
			i += space ? space[0].length : 0;
			if (text.startsWith("/>", i)) {
				i += 2;
				break;
			}
			if (text.startsWith(">", i)) {
				i += 1;
				stack.push(name);
				break;
			}
			const attribute = /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(text.slice(i));
			if (!attribute || (space?.[0].length ?? 0) === 0) {
				return fail(`bad attribute in <${name}>`);
			}
			const key = attribute[1] as string;
			const value = attribute[3] ?? attribute[4] ?? "";
			if (seen.has(key)) {
				return fail(`duplicate attribute ${key}`);
			}
			seen.add(key);
			const problem = checkText(value);
			if (problem) {
				return fail(`${problem} (attribute ${key})`);
			}
			if (isRoot) {
				rootAttributes.set(key, value);
			}
			i += attribute[0].length;
		}
	}
	if (stack.length > 0) {
		return fail(`unclosed <${stack[stack.length - 1]}>`);
	}
	if (root === undefined) {
		return fail("no root element");
	}
	return { error: undefined, root, rootAttributes };
}
