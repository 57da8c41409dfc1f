/**
 * A small WebAssembly assembler for the SIMD kernels: a module of functions over one imported memory, each body
 * written as flat WebAssembly text (one instruction after another, `;;` comments, `$names` for locals and labels).
 * Kept to the instructions the kernels use, so that they read as text in the source and need no build step.
 */

import { fileURLToPath } from "node:url";

export type WasmType = "i32" | "i64" | "f32" | "f64" | "v128";

/** This file: what a module's bytes depend on besides its text (see compileCached). */
export const ASSEMBLER_FILE = fileURLToPath(import.meta.url);

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
	"i8x16.swizzle": 0x0e,
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

/** Bytes appended one at a time into a buffer that grows: the module runs to over a hundred thousand bytes. */
class ByteWriter {
	#bytes = new Uint8Array(1024);
	length = 0;

	byte(value: number): void {
		if (this.length === this.#bytes.length) {
			const grown = new Uint8Array(2 * this.#bytes.length);
			grown.set(this.#bytes);
			this.#bytes = grown;
		}
		this.#bytes[this.length++] = value;
	}

	bytes(values: ArrayLike<number>): void {
		for (let i = 0; i < values.length; i++) {
			this.byte(values[i] as number);
		}
	}

	/** Unsigned LEB128. */
	u32(value: number): void {
		let v = value >>> 0;
		do {
			const byte = v & 0x7f;
			v >>>= 7;
			this.byte(v === 0 ? byte : byte | 0x80);
		} while (v !== 0);
	}

	/** Signed LEB128 of a 32-bit integer. */
	s32(value: number): void {
		let v = value | 0;
		for (;;) {
			const byte = v & 0x7f;
			v >>= 7;
			const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
			this.byte(done ? byte : byte | 0x80);
			if (done) {
				return;
			}
		}
	}

	name(text: string): void {
		const bytes = new TextEncoder().encode(text);
		this.u32(bytes.length);
		this.bytes(bytes);
	}

	/** A vector: the count of items, then each written by `write`. */
	vector<T>(items: readonly T[], write: (item: T, index: number) => void): void {
		this.u32(items.length);
		items.forEach(write);
	}

	/** What another writer holds, after its length (a section's or a function body's size). */
	sized(inner: ByteWriter): void {
		this.u32(inner.length);
		this.bytes(inner.written());
	}

	section(id: number, write: (section: ByteWriter) => void): void {
		const inner = new ByteWriter();
		write(inner);
		this.byte(id);
		this.sized(inner);
	}

	written(): Uint8Array<ArrayBuffer> {
		return this.#bytes.slice(0, this.length);
	}
}

function parseInteger(token: string | undefined, where: string): number {
	const value = token === undefined ? Number.NaN : Number(token.replaceAll("_", ""));
	if (!Number.isInteger(value)) {
		throw new Error(`${where}: expected an integer, got ${token ?? "nothing"}`);
	}
	return value;
}

const floatScratch = new DataView(new ArrayBuffer(8));

function floatBytes(value: number, width: 4 | 8): Uint8Array {
	if (width === 4) {
		floatScratch.setFloat32(0, value, true);
	} else {
		floatScratch.setFloat64(0, value, true);
	}
	return new Uint8Array(floatScratch.buffer, 0, width);
}

/** Encodes one function's body into `out`: its size, its locals, then its instructions, then `end`. */
function assembleBody(fn: WasmFunction, functionIndex: Map<string, number>, out: ByteWriter): void {
	const where = `wasm function ${fn.name}`;
	const localIndex = new Map<string, number>();
	[...fn.params, ...(fn.locals ?? [])].forEach(([local], index) => {
		localIndex.set(local, index);
	});
	const tokens = fn.body
		.replace(/;;[^\n]*/g, "")
		.split(/\s+/)
		.filter((token) => token !== "");
	const code = new ByteWriter();
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
	const memarg = (naturalAlign: number): void => {
		let offset = 0;
		if (tokens[at]?.startsWith("offset=")) {
			offset = parseInteger(next()?.slice("offset=".length), where);
		}
		code.u32(naturalAlign);
		code.u32(offset);
	};
	const simdPrefix = (opcode: number): void => {
		code.byte(0xfd);
		code.u32(opcode);
	};
	while (at < tokens.length) {
		const op = next() as string;
		const plain = op === "end" ? undefined : PLAIN[op];
		if (plain !== undefined) {
			code.byte(plain);
			continue;
		}
		const simd = SIMD_PLAIN[op];
		if (simd !== undefined) {
			simdPrefix(simd);
			continue;
		}
		if (op === "local.get" || op === "local.set" || op === "local.tee") {
			code.byte(op === "local.get" ? 0x20 : op === "local.set" ? 0x21 : 0x22);
			code.u32(local());
			continue;
		}
		const memory = MEMORY[op];
		const simdMemory = SIMD_MEMORY[op];
		const lane = SIMD_LANE[op];
		if (op === "block" || op === "loop" || op === "if") {
			const maybeLabel = tokens[at]?.startsWith("$") ? next() : undefined;
			labels.push(maybeLabel);
			code.byte(op === "block" ? 0x02 : op === "loop" ? 0x03 : 0x04);
			code.byte(0x40);
		} else if (op === "end") {
			labels.pop();
			code.byte(0x0b);
		} else if (op === "br" || op === "br_if") {
			code.byte(op === "br" ? 0x0c : 0x0d);
			code.u32(label());
		} else if (op === "call") {
			const callee = next() ?? "";
			const index = functionIndex.get(callee.slice(1));
			if (index === undefined) {
				throw new Error(`${where}: unknown function ${callee}`);
			}
			code.byte(0x10);
			code.u32(index);
		} else if (op === "i32.const") {
			code.byte(0x41);
			code.s32(parseInteger(next(), where));
		} else if (op === "f32.const" || op === "f64.const") {
			code.byte(op === "f32.const" ? 0x43 : 0x44);
			code.bytes(floatBytes(Number(next()), op === "f32.const" ? 4 : 8));
		} else if (op === "v128.const") {
			if (next() !== "i32x4") {
				throw new Error(`${where}: v128.const takes i32x4 lanes`);
			}
			simdPrefix(0x0c);
			for (let i = 0; i < 4; i++) {
				const v = parseInteger(next(), where);
				code.bytes([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
			}
		} else if (op === "i8x16.shuffle") {
			simdPrefix(0x0d);
			for (let i = 0; i < 16; i++) {
				code.byte(parseInteger(next(), where));
			}
		} else if (memory !== undefined) {
			code.byte(memory[0]);
			memarg(memory[1]);
		} else if (simdMemory !== undefined) {
			simdPrefix(simdMemory[0]);
			memarg(simdMemory[1]);
		} else if (lane !== undefined) {
			simdPrefix(lane);
			code.byte(parseInteger(next(), where));
		} else {
			throw new Error(`${where}: unknown instruction ${op}`);
		}
	}
	if (labels.length !== 0) {
		throw new Error(`${where}: ${labels.length} block(s) left open`);
	}
	const body = new ByteWriter();
	body.vector(fn.locals ?? [], ([, type]) => {
		body.u32(1);
		body.byte(TYPE_CODES[type]);
	});
	body.bytes(code.written());
	body.byte(0x0b);
	out.sized(body);
}

/** The binary module: its functions exported by name, over the shared memory it imports. */
export function assembleWasm(source: WasmModuleSource): Uint8Array<ArrayBuffer> {
	const functionIndex = new Map(source.functions.map((fn, index) => [fn.name, index]));
	const out = new ByteWriter();
	out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
	out.section(1, (types) => {
		types.vector(source.functions, (fn) => {
			types.byte(0x60);
			types.vector(fn.params, ([, type]) => types.byte(TYPE_CODES[type]));
			types.vector(fn.result === undefined ? [] : [fn.result], (type) => types.byte(TYPE_CODES[type]));
		});
	});
	// Limits flag 0x03: a maximum is given and the memory is shared.
	out.section(2, (imports) => {
		imports.u32(1);
		imports.name("env");
		imports.name("memory");
		imports.byte(0x02);
		imports.byte(0x03);
		imports.u32(source.memory.minPages);
		imports.u32(source.memory.maxPages);
	});
	out.section(3, (functions) => functions.vector(source.functions, (_, index) => functions.u32(index)));
	out.section(7, (exports) =>
		exports.vector(source.functions, (fn, index) => {
			exports.name(fn.name);
			exports.byte(0x00);
			exports.u32(index);
		}),
	);
	out.section(10, (code) => code.vector(source.functions, (fn) => assembleBody(fn, functionIndex, code)));
	// The "name" custom section's function names: profiles and stack traces name the kernels.
	out.section(0, (custom) => {
		custom.name("name");
		custom.section(1, (names) =>
			names.vector(source.functions, (fn, index) => {
				names.u32(index);
				names.name(fn.name);
			}),
		);
	});
	return out.written();
}
