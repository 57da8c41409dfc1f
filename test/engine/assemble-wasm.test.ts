import { describe, expect, it } from "vitest";
import { assembleWasm, type WasmFunction } from "../../src/engine/wasm/assemble-wasm.js";
import { createSharedMemory, instantiateWasm } from "../../src/engine/wasm/instantiate-wasm.js";

const MEMORY = { minPages: 1, maxPages: 4 };

const sumLanes: WasmFunction = {
	name: "sum_lanes",
	params: [
		["p", "i32"],
		["n", "i32"],
	],
	result: "f32",
	locals: [
		["j", "i32"],
		["acc", "v128"],
	],
	body: `
	block $done
		loop $next
			local.get $j local.get $n i32.ge_u br_if $done ;; n counts bytes here
			local.get $acc local.get $p local.get $j i32.add v128.load f32x4.add local.set $acc
			local.get $j i32.const 16 i32.add local.set $j
			br $next
		end
	end
	local.get $acc f32x4.extract_lane 0 local.get $acc f32x4.extract_lane 1 f32.add
	local.get $acc f32x4.extract_lane 2 local.get $acc f32x4.extract_lane 3 f32.add f32.add`,
};

describe("assembleWasm", () => {
	it("assembles flat text into a module whose functions and memory work", () => {
		const add: WasmFunction = {
			name: "add",
			params: [
				["a", "i32"],
				["b", "i32"],
			],
			result: "i32",
			body: "local.get $a local.get $b i32.add",
		};
		const memory = createSharedMemory(1, 4);
		const functions = instantiateWasm(assembleWasm({ memory: MEMORY, functions: [add, sumLanes] }), memory);
		expect(functions.add?.(40, 2)).toBe(42);
		new Float32Array(memory.buffer).set([1, 2, 3, 4, 5, 6, 7, 8.5], 4);
		expect(functions.sum_lanes?.(16, 32)).toBe(36.5);
		// The instance works in the memory it imports, grown or not: a second instance over it sees the same bytes.
		memory.grow(1);
		new Float32Array(memory.buffer).set([1, 1, 1, 1], 65536 / 4);
		const again = instantiateWasm(assembleWasm({ memory: MEMORY, functions: [sumLanes] }), memory);
		expect(again.sum_lanes?.(16, 32)).toBe(36.5);
		expect(functions.sum_lanes?.(65536, 16)).toBe(4);
	});

	it("names its functions in the module, so that a trap's stack trace says which kernel it was in", () => {
		const trap: WasmFunction = { name: "kernel_that_traps", params: [], body: "unreachable" };
		const functions = instantiateWasm(assembleWasm({ memory: MEMORY, functions: [trap] }), createSharedMemory(1, 4));
		let stack = "";
		try {
			functions.kernel_that_traps?.();
		} catch (error) {
			stack = (error as Error).stack ?? "";
		}
		expect(stack).toContain("kernel_that_traps");
	});

	it("names the function and the token it cannot assemble", () => {
		const broken = (body: string): WasmFunction => ({ name: "broken", params: [["x", "i32"]], body });
		expect(() => assembleWasm({ memory: MEMORY, functions: [broken("local.get $x f32x4.frobnicate drop")] })).toThrow(
			"wasm function broken: unknown instruction f32x4.frobnicate",
		);
		expect(() => assembleWasm({ memory: MEMORY, functions: [broken("local.get $y drop")] })).toThrow(
			"unknown local $y",
		);
		expect(() => assembleWasm({ memory: MEMORY, functions: [broken("block $a br $b end")] })).toThrow(
			"unknown label $b",
		);
		expect(() => assembleWasm({ memory: MEMORY, functions: [broken("block $a")] })).toThrow("1 block(s) left open");
	});
});
