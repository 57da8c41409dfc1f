/** A safetensors file that cannot be read as one: names the file and, where it applies, the tensor. */
export class SafetensorsError extends Error {
	readonly file: string;
	readonly tensor: string | undefined;

	constructor(file: string, message: string, tensor?: string) {
		super(`${file}${tensor === undefined ? "" : ` (tensor ${tensor})`}: ${message}`);
		this.name = "SafetensorsError";
		this.file = file;
		this.tensor = tensor;
	}
}
