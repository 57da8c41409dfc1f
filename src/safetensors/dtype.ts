/** Element types a safetensors header may name, with their sizes in bytes. */
export const DTYPE_SIZES = {
	BOOL: 1,
	U8: 1,
	I8: 1,
	F8_E4M3: 1,
	F8_E5M2: 1,
	U16: 2,
	I16: 2,
	F16: 2,
	BF16: 2,
	U32: 4,
	I32: 4,
	F32: 4,
	U64: 8,
	I64: 8,
	F64: 8,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_SIZES;

/** The dtypes merge arithmetic can read and write; the rest can only be copied. */
export type FloatDtype = "F32" | "F16" | "BF16";

export function isSafetensorsDtype(value: string): value is SafetensorsDtype {
	return Object.hasOwn(DTYPE_SIZES, value);
}

export function isFloatDtype(dtype: SafetensorsDtype): dtype is FloatDtype {
	return dtype === "F32" || dtype === "F16" || dtype === "BF16";
}

/** Recipe dtype names (mergekit's `dtype_from_name`) mapped to safetensors dtypes. */
const RECIPE_DTYPES: Record<string, SafetensorsDtype> = {
	bfloat16: "BF16",
	float16: "F16",
	float32: "F32",
	int64: "I64",
};

export const RECIPE_DTYPE_NAMES = Object.keys(RECIPE_DTYPES);

/** `bfloat16`, `torch.float16`, ... → safetensors dtype; undefined for names mergekit rejects. */
export function dtypeFromRecipeName(name: string): SafetensorsDtype | undefined {
	return RECIPE_DTYPES[name.replace(/^torch\./, "")];
}

/** The `torch_dtype` value a config.json uses for a safetensors dtype. */
export function torchDtypeName(dtype: SafetensorsDtype): string {
	const names: Partial<Record<SafetensorsDtype, string>> = {
		BF16: "bfloat16",
		F16: "float16",
		F32: "float32",
		F64: "float64",
		I64: "int64",
	};
	return names[dtype] ?? dtype.toLowerCase();
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Every half-precision bit pattern decoded, made on first use: decoding is then one table lookup. */
let f16Table: Float32Array | undefined;

function f16Values(): Float32Array {
	if (f16Table === undefined) {
		f16Table = new Float32Array(65536);
		for (let h = 0; h < 65536; h++) {
			const sign = h & 0x8000 ? -1 : 1;
			const exponent = (h >> 10) & 0x1f;
			const fraction = h & 0x3ff;
			if (exponent === 0) {
				f16Table[h] = sign * fraction * 2 ** -24;
			} else if (exponent === 31) {
				f16Table[h] = fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
			} else {
				f16Table[h] = sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
			}
		}
	}
	return f16Table;
}

export function bf16ToF32(bits: number): number {
	u32[0] = bits << 16;
	return f32[0] as number;
}

/** Round-to-nearest-even, as PyTorch's float → bfloat16 cast does. */
export function f32ToBf16(value: number): number {
	f32[0] = value;
	const bits = u32[0] as number;
	if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x007fffff) {
		return 0x7fc0;
	}
	return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f16ToF32(bits: number): number {
	return f16Values()[bits & 0xffff] as number;
}

/** Round-to-nearest-even float → half conversion, with overflow to infinity. */
export function f32ToF16(value: number): number {
	f32[0] = value;
	const bits = u32[0] as number;
	const sign = (bits >>> 16) & 0x8000;
	const exponent = (bits >>> 23) & 0xff;
	let mantissa = bits & 0x7fffff;
	if (exponent === 0xff) {
		return sign | 0x7c00 | (mantissa ? 0x200 : 0);
	}
	let e = exponent - 127 + 15;
	if (e >= 31) {
		return sign | 0x7c00;
	}
	if (e <= 0) {
		if (e < -10) {
			return sign;
		}
		mantissa |= 0x800000;
		const shift = 14 - e;
		const half = 1 << (shift - 1);
		const rest = mantissa & ((1 << shift) - 1);
		let result = mantissa >>> shift;
		if (rest > half || (rest === half && result & 1)) {
			result++;
		}
		return sign | result;
	}
	let result = mantissa >>> 13;
	const rest = mantissa & 0x1fff;
	if (rest > 0x1000 || (rest === 0x1000 && result & 1)) {
		result++;
		if (result === 0x400) {
			result = 0;
			e++;
			if (e >= 31) {
				return sign | 0x7c00;
			}
		}
	}
	return sign | (e << 10) | result;
}

/** Decodes little-endian F32/F16/BF16 bytes into `out` (which must hold `count` elements). */
export function decodeToF32(bytes: Uint8Array, dtype: FloatDtype, out: Float32Array): void {
	const count = out.length;
	if (dtype === "F32") {
		if (bytes.byteOffset % 4 === 0) {
			out.set(new Float32Array(bytes.buffer, bytes.byteOffset, count));
		} else {
			new Uint8Array(out.buffer, out.byteOffset, count * 4).set(bytes.subarray(0, count * 4));
		}
		return;
	}
	const halves =
		bytes.byteOffset % 2 === 0
			? new Uint16Array(bytes.buffer, bytes.byteOffset, count)
			: new Uint16Array(bytes.slice(0, count * 2).buffer);
	if (dtype === "BF16") {
		const outBits = new Uint32Array(out.buffer, out.byteOffset, count);
		for (let i = 0; i < count; i++) {
			outBits[i] = (halves[i] as number) << 16;
		}
	} else {
		const table = f16Values();
		for (let i = 0; i < count; i++) {
			out[i] = table[halves[i] as number] as number;
		}
	}
}

/** Encodes float32 values as little-endian bytes of `dtype` into `out`. */
export function encodeFromF32(values: Float32Array, dtype: FloatDtype, out: Uint8Array): void {
	const count = values.length;
	if (dtype === "F32") {
		out.set(new Uint8Array(values.buffer, values.byteOffset, count * 4));
		return;
	}
	const halves = new Uint16Array(out.buffer, out.byteOffset, count);
	if (dtype === "BF16") {
		// f32ToBf16 on the bit patterns, inline: one pass with no calls.
		const bits = new Uint32Array(values.buffer, values.byteOffset, count);
		for (let i = 0; i < count; i++) {
			const b = bits[i] as number;
			halves[i] = (b & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
		}
	} else {
		for (let i = 0; i < count; i++) {
			halves[i] = f32ToF16(values[i] as number);
		}
	}
}
