/**
 * A small WebAssembly assembler for the SIMD kernels: a module of functions over one imported memory, each body
 * written as flat WebAssembly text (one instruction after another, `;;` comments, `$names` for locals and labels).
 * Kept to the instructions the kernels use, so that they read as text in the source and need no build step.
 */

export type WasmType = "i32" | "i64" | "f32" | "f64" | "v128";

export interface WasmFunction {
	name: string;
	params: readonly (readonly [string, WasmType])[];
	result?: WasmType;
	locals?: readonly (readonly [string, WasmType])[];
	body: string;
}

export interface WasmModuleSource {
	/**
	 * The memory the module imports as "env"."memory": shared (so that every thread's instance works in the same
	 * bytes), at least `minPages` and at most `maxPages` pages of 64 KiB.
	 */
	memory: { minPages: number; maxPages: number };
	functions: readonly WasmFunction[];
}

const TYPE_CODES: Record<WasmType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Plain one-byte instructions. */
const PLAIN: Record<string, number> = {
	unreachable: 0x00,
	nop: 0x01,
	else: 0x05,
	end: 0x0b,
	return: 0x0f,
	drop: 0x1a,
	select: 0x1b,
	"i32.eqz": 0x45,
	"i32.eq": 0x46,
	"i32.ne": 0x47,
	"i32.lt_s": 0x48,
	"i32.lt_u": 0x49,
	"i32.gt_s": 0x4a,
	"i32.gt_u": 0x4b,
	"i32.le_s": 0x4c,
	"i32.le_u": 0x4d,
	"i32.ge_s": 0x4e,
	"i32.ge_u": 0x4f,
	"f32.eq": 0x5b,
	"f32.ne": 0x5c,
	"f32.lt": 0x5d,
	"f32.gt": 0x5e,
	"f32.le": 0x5f,
	"f32.ge": 0x60,
	"f64.eq": 0x61,
	"f64.ne": 0x62,
	"f64.lt": 0x63,
	"f64.gt": 0x64,
	"f64.le": 0x65,
	"f64.ge": 0x66,
	"i32.clz": 0x67,
	"i32.ctz": 0x68,
	"i32.popcnt": 0x69,
	"i32.add": 0x6a,
	"i32.sub": 0x6b,
	"i32.mul": 0x6c,
	"i32.div_u": 0x6e,
	"i32.rem_u": 0x70,
	"i32.and": 0x71,
	"i32.or": 0x72,
	"i32.xor": 0x73,
	"i32.shl": 0x74,
	"i32.shr_s": 0x75,
	"i32.shr_u": 0x76,
	"i32.rotl": 0x77,
	"i64.add": 0x7c,
	"f32.abs": 0x8b,
	"f32.neg": 0x8c,
	"f32.sqrt": 0x91,
	"f32.add": 0x92,
	"f32.sub": 0x93,
	"f32.mul": 0x94,
	"f32.div": 0x95,
	"f64.abs": 0x99,
	"f64.neg": 0x9a,
	"f64.sqrt": 0x9f,
	"f64.add": 0xa0,
	"f64.sub": 0xa1,
	"f64.mul": 0xa2,
	"f64.div": 0xa3,
	"i32.wrap_i64": 0xa7,
	"i64.extend_i32_u": 0xad,
	"f32.convert_i32_u": 0xb3,
	"f32.demote_f64": 0xb6,
	"f64.convert_i32_s": 0xb7,
	"f64.convert_i32_u": 0xb8,
	"f64.convert_i64_u": 0xba,
	"f64.promote_f32": 0xbb,
	"i32.reinterpret_f32": 0xbc,
	"f32.reinterpret_i32": 0xbe,
};

/** Memory instructions: opcode and the natural alignment (log2 of bytes). */
const MEMORY: Record<string, readonly [number, number]> = {
	"i32.load": [0x28, 2],
	"i64.load": [0x29, 3],
	"f32.load": [0x2a, 2],
	"f64.load": [0x2b, 3],
	"i32.load16_u": [0x2f, 1],
	"i32.store": [0x36, 2],
	"i64.store": [0x37, 3],
	"f32.store": [0x38, 2],
	"f64.store": [0x39, 3],
	"i32.store16": [0x3b, 1],
};

/** SIMD (0xFD-prefixed) instructions without immediates. */
const SIMD_PLAIN: Record<string, number> = {
	"i16x8.splat": 0x10,
	"i32x4.splat": 0x11,
	"f32x4.splat": 0x13,
	"f64x2.splat": 0x14,
	"i16x8.lt_u": 0x30,
	"i32x4.eq": 0x37,
	"i32x4.ne": 0x38,
	"i32x4.lt_s": 0x39,
	"i32x4.lt_u": 0x3a,
	"i32x4.gt_s": 0x3b,
	"i32x4.gt_u": 0x3c,
	"i32x4.ge_u": 0x40,
	"f32x4.eq": 0x41,
	"f32x4.ne": 0x42,
	"f32x4.lt": 0x43,
	"f32x4.gt": 0x44,
	"f32x4.le": 0x45,
	"f32x4.ge": 0x46,
	"f64x2.eq": 0x47,
	"f64x2.ne": 0x48,
	"f64x2.lt": 0x49,
	"f64x2.gt": 0x4a,
	"v128.not": 0x4d,
	"v128.and": 0x4e,
	"v128.andnot": 0x4f,
	"v128.or": 0x50,
	"v128.xor": 0x51,
	"v128.bitselect": 0x52,
	"v128.any_true": 0x53,
	"f32x4.demote_f64x2_zero": 0x5e,
	"f64x2.promote_low_f32x4": 0x5f,
	"i16x8.bitmask": 0x84,
	"i16x8.narrow_i32x4_u": 0x86,
	"i32x4.bitmask": 0xa4,
	"i32x4.extend_low_i16x8_s": 0xa7,
	"i32x4.extend_high_i16x8_s": 0xa8,
	"i32x4.extend_low_i16x8_u": 0xa9,
	"i32x4.extend_high_i16x8_u": 0xaa,
	"i64x2.extend_low_i32x4_s": 0xc7,
	"i64x2.extend_high_i32x4_s": 0xc8,
	"i32x4.shl": 0xab,
	"i32x4.shr_s": 0xac,
	"i32x4.shr_u": 0xad,
	"i32x4.add": 0xae,
	"i32x4.sub": 0xb1,
	"i32x4.mul": 0xb5,
	"i32x4.min_u": 0xb7,
	"i32x4.max_u": 0xb9,
	"i64x2.extend_low_i32x4_u": 0xc9,
	"i64x2.extend_high_i32x4_u": 0xca,
	"i64x2.add": 0xce,
	"f32x4.abs": 0xe0,
	"f32x4.neg": 0xe1,
	"f32x4.sqrt": 0xe3,
	"f32x4.add": 0xe4,
	"f32x4.sub": 0xe5,
	"f32x4.mul": 0xe6,
	"f32x4.div": 0xe7,
	"f32x4.min": 0xe8,
	"f32x4.max": 0xe9,
	"f32x4.pmin": 0xea,
	"f32x4.pmax": 0xeb,
	"f64x2.abs": 0xec,
	"f64x2.neg": 0xed,
	"f64x2.add": 0xf0,
	"f64x2.sub": 0xf1,
	"f64x2.mul": 0xf2,
	"f64x2.div": 0xf3,
	"f64x2.min": 0xf4,
	"f64x2.max": 0xf5,
	"f32x4.convert_i32x4_u": 0xfb,
	"f64x2.convert_low_i32x4_u": 0xff,
};

/** SIMD memory instructions: opcode and natural alignment. */
const SIMD_MEMORY: Record<string, readonly [number, number]> = {
	"v128.load": [0x00, 4],
	"v128.load16x4_u": [0x04, 3],
	"v128.store": [0x0b, 4],
	"v128.load64_zero": [0x5d, 3],
};

/** SIMD instructions with one lane-index byte. */
const SIMD_LANE: Record<string, number> = {
	"i32x4.extract_lane": 0x1b,
	"i64x2.extract_lane": 0x1d,
	"f32x4.extract_lane": 0x1f,
	"f64x2.extract_lane": 0x21,
};

/** Unsigned LEB128. */
function u32(value: number): number[] {
	const bytes: number[] = [];
	let v = value >>> 0;
	do {
		let byte = v & 0x7f;
		v >>>= 7;
		if (v !== 0) {
			byte |= 0x80;
		}
		bytes.push(byte);
	} while (v !== 0);
	return bytes;
}

/** Signed LEB128 of a 32-bit integer. */
function s32(value: number): number[] {
	const bytes: number[] = [];
	let v = value | 0;
	for (;;) {
		const byte = v & 0x7f;
		v >>= 7;
		const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
		bytes.push(done ? byte : byte | 0x80);
		if (done) {
			return bytes;
		}
	}
}

function name(text: string): number[] {
	const bytes = [...new TextEncoder().encode(text)];
	return [...u32(bytes.length), ...bytes];
}

function vector(items: readonly number[][]): number[] {
	// concat, not spreads: the code section runs to tens of thousands of bytes.
	return u32(items.length).concat(...items);
}

function section(id: number, contents: number[]): number[] {
	return [id].concat(u32(contents.length), contents);
}

function parseInteger(token: string | undefined, where: string): number {
	const value = token === undefined ? Number.NaN : Number(token.replaceAll("_", ""));
	if (!Number.isInteger(value)) {
		throw new Error(`${where}: expected an integer, got ${token ?? "nothing"}`);
	}
	return value;
}

function floatBytes(value: number, width: 4 | 8): number[] {
	const bytes = new Uint8Array(width);
	const view = new DataView(bytes.buffer);
	if (width === 4) {
		view.setFloat32(0, value, true);
	} else {
		view.setFloat64(0, value, true);
	}
	return [...bytes];
}

/** Encodes one function's body: its locals, then its instructions, then `end`. */
function assembleBody(fn: WasmFunction, functionIndex: Map<string, number>): number[] {
	const where = `wasm function ${fn.name}`;
	const localIndex = new Map<string, number>();
	[...fn.params, ...(fn.locals ?? [])].forEach(([local], index) => {
		localIndex.set(local, index);
	});
	const tokens = fn.body
		.replace(/;;[^\n]*/g, "")
		.split(/\s+/)
		.filter((token) => token !== "");
	const code: number[] = [];
	const labels: (string | undefined)[] = [];
	let at = 0;
	const next = (): string | undefined => tokens[at++];
	const local = (): number => {
		const token = next();
		const index = token?.startsWith("$") ? localIndex.get(token.slice(1)) : undefined;
		if (index === undefined) {
			throw new Error(`${where}: unknown local ${token ?? "(missing)"}`);
		}
		return index;
	};
	const label = (): number => {
		const token = next();
		const depth = labels.length - 1 - labels.lastIndexOf(token);
		if (token === undefined || depth >= labels.length) {
			throw new Error(`${where}: unknown label ${token ?? "(missing)"}`);
		}
		return depth;
	};
	const memarg = (naturalAlign: number): number[] => {
		let offset = 0;
		if (tokens[at]?.startsWith("offset=")) {
			offset = parseInteger(next()?.slice("offset=".length), where);
		}
		return [...u32(naturalAlign), ...u32(offset)];
	};
	while (at < tokens.length) {
		const op = next() as string;
		const plain = PLAIN[op];
		const memory = MEMORY[op];
		const simd = SIMD_PLAIN[op];
		const simdMemory = SIMD_MEMORY[op];
		const lane = SIMD_LANE[op];
		if (op === "block" || op === "loop" || op === "if") {
			const maybeLabel = tokens[at]?.startsWith("$") ? next() : undefined;
			labels.push(maybeLabel);
			code.push(op === "block" ? 0x02 : op === "loop" ? 0x03 : 0x04, 0x40);
		} else if (op === "end") {
			labels.pop();
			code.push(0x0b);
		} else if (plain !== undefined) {
			code.push(plain);
		} else if (op === "br" || op === "br_if") {
			code.push(op === "br" ? 0x0c : 0x0d, ...u32(label()));
		} else if (op === "call") {
			const callee = next() ?? "";
			const index = functionIndex.get(callee.slice(1));
			if (index === undefined) {
				throw new Error(`${where}: unknown function ${callee}`);
			}
			code.push(0x10, ...u32(index));
		} else if (op === "local.get" || op === "local.set" || op === "local.tee") {
			code.push(op === "local.get" ? 0x20 : op === "local.set" ? 0x21 : 0x22, ...u32(local()));
		} else if (op === "i32.const") {
			code.push(0x41, ...s32(parseInteger(next(), where)));
		} else if (op === "f32.const" || op === "f64.const") {
			const value = Number(next());
			code.push(op === "f32.const" ? 0x43 : 0x44, ...floatBytes(value, op === "f32.const" ? 4 : 8));
		} else if (op === "v128.const") {
			if (next() !== "i32x4") {
				throw new Error(`${where}: v128.const takes i32x4 lanes`);
			}
			const lanes = [0, 1, 2, 3].map(() => parseInteger(next(), where));
			code.push(0xfd, ...u32(0x0c), ...lanes.flatMap((v) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]));
		} else if (op === "i8x16.shuffle") {
			const lanes = Array.from({ length: 16 }, () => parseInteger(next(), where));
			code.push(0xfd, ...u32(0x0d), ...lanes);
		} else if (memory !== undefined) {
			code.push(memory[0], ...memarg(memory[1]));
		} else if (simd !== undefined) {
			code.push(0xfd, ...u32(simd));
		} else if (simdMemory !== undefined) {
			code.push(0xfd, ...u32(simdMemory[0]), ...memarg(simdMemory[1]));
		} else if (lane !== undefined) {
			code.push(0xfd, ...u32(lane), parseInteger(next(), where));
		} else {
			throw new Error(`${where}: unknown instruction ${op}`);
		}
	}
	if (labels.length !== 0) {
		throw new Error(`${where}: ${labels.length} block(s) left open`);
	}
	const locals = (fn.locals ?? []).map(([, type]) => [1, TYPE_CODES[type]]);
	const body = vector(locals).concat(code, [0x0b]);
	return u32(body.length).concat(body);
}

/** The binary module: its functions exported by name, over the shared memory it imports. */
export function assembleWasm(source: WasmModuleSource): Uint8Array<ArrayBuffer> {
	const functionIndex = new Map(source.functions.map((fn, index) => [fn.name, index]));
	const types = source.functions.map((fn) => [
		0x60,
		...vector(fn.params.map(([, type]) => [TYPE_CODES[type]])),
		...vector(fn.result === undefined ? [] : [[TYPE_CODES[fn.result]]]),
	]);
	const exports = source.functions.map((fn, index) => [...name(fn.name), 0x00, ...u32(index)]);
	// Limits flag 0x03: a maximum is given and the memory is shared.
	const memory = [
		...name("env"),
		...name("memory"),
		0x02,
		0x03,
		...u32(source.memory.minPages),
		...u32(source.memory.maxPages),
	];
	const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00].concat(
		section(1, vector(types)),
		section(2, vector([memory])),
		section(3, vector(source.functions.map((_, index) => u32(index)))),
		section(7, vector(exports)),
		section(10, vector(source.functions.map((fn) => assembleBody(fn, functionIndex)))),
		// The "name" custom section's function names: profiles and stack traces name the kernels.
		section(
			0,
			name("name").concat(section(1, vector(source.functions.map((fn, index) => u32(index).concat(name(fn.name)))))),
		),
	);
	return new Uint8Array(bytes);
}
