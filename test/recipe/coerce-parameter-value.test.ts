import { describe, expect, it } from "vitest";
import type { ParameterDef } from "../../src/methods/merge-method.js";
import { coerceParameterValue } from "../../src/recipe/coerce-parameter-value.js";

const def = (type: ParameterDef["type"]): ParameterDef => ({ name: "p", scope: "global", type, description: "" });

describe("coerceParameterValue", () => {
	it("reads numbers leniently, as pydantic does", () => {
		expect(coerceParameterValue(0.5, def("number"))).toEqual({ ok: true, value: 0.5 });
		expect(coerceParameterValue("1e-5", def("number"))).toEqual({ ok: true, value: 1e-5 });
		expect(coerceParameterValue(" .5 ", def("number"))).toEqual({ ok: true, value: 0.5 });
		expect(coerceParameterValue(true, def("number"))).toEqual({ ok: true, value: 1 });
		expect(coerceParameterValue(false, def("number"))).toEqual({ ok: true, value: 0 });
		expect(coerceParameterValue("abc", def("number"))).toEqual({ ok: false, expected: "a number" });
		expect(coerceParameterValue(Number.NaN, def("number"))).toEqual({ ok: false, expected: "a number" });
	});

	it("reads whole numbers", () => {
		expect(coerceParameterValue(10, def("integer"))).toEqual({ ok: true, value: 10 });
		expect(coerceParameterValue("10", def("integer"))).toEqual({ ok: true, value: 10 });
		expect(coerceParameterValue(10.5, def("integer"))).toEqual({ ok: false, expected: "a whole number" });
	});

	it("reads booleans, including YAML 1.1 words and 0/1", () => {
		expect(coerceParameterValue(true, def("boolean"))).toEqual({ ok: true, value: true });
		expect(coerceParameterValue(0, def("boolean"))).toEqual({ ok: true, value: false });
		expect(coerceParameterValue("yes", def("boolean"))).toEqual({ ok: true, value: true });
		expect(coerceParameterValue("Off", def("boolean"))).toEqual({ ok: true, value: false });
		expect(coerceParameterValue(0.5, def("boolean"))).toEqual({ ok: false, expected: "true or false" });
	});
});
