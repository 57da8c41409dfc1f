/** A `--device` that cannot be used here, or a recipe it cannot run; the message says what to do. */
export class DeviceError extends Error {
	override name = "DeviceError";
}
