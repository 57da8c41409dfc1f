/**
 * The float32 value of every bfloat16 bit pattern, for kernels that read bfloat16 inputs as stored and decode each
 * element by lookup as they go (256 KiB; the patterns a tensor actually uses stay in cache). Reading inputs that way
 * saves a decoding pass over memory and the float32 copy of every input.
 */
export const BF16_VALUES: Float32Array = (() => {
	const values = new Float32Array(65536);
	const bits = new Uint32Array(values.buffer);
	for (let h = 0; h < 65536; h++) {
		bits[h] = h << 16;
	}
	return values;
})();

export const NO_HALVES = new Uint16Array(0);
