import type { MergePlan, PlannedTensor } from "../plan/merge-plan.js";
import { classifyTensor, MODULE_KINDS, type ModuleKind } from "./classify-tensor.js";
import { formatNumber } from "./format-number.js";
import { tensorLayer } from "./tensor-layer.js";

/**
 * A per-layer table of values that tensors take (effective weights, the slerp factor): tensors grouped by layer and
 * module; a layer whose modules all agree is one row; consecutive layers with the same rows merge ("layers 0–3");
 * cells show a range where a group's tensors differ. Tensors outside the layers come first, by module.
 */
export function layerRows(
	plan: MergePlan,
	columns: readonly string[],
	value: (tensor: PlannedTensor) => ReadonlyMap<string, number> | undefined,
): string[][] {
	type Cells = string[];
	const groups = new Map<string, { layer: number | undefined; module: ModuleKind; values: number[][] }>();
	for (const tensor of plan.tensors) {
		const values = value(tensor);
		if (!values) {
			continue;
		}
		const layer = tensorLayer(tensor);
		const module = classifyTensor(tensor.name, tensor.isEmbed);
		const key = `${layer ?? "-"}:${module}`;
		let group = groups.get(key);
		if (!group) {
			group = { layer, module, values: columns.map(() => []) };
			groups.set(key, group);
		}
		columns.forEach((column, c) => {
			const v = values.get(column);
			if (v !== undefined) {
				group.values[c]?.push(v);
			}
		});
	}
	const cells = (values: readonly number[][]): Cells =>
		values.map((list) => {
			if (list.length === 0) {
				return "–";
			}
			const low = Math.min(...list);
			const high = Math.max(...list);
			return formatNumber(low) === formatNumber(high)
				? formatNumber(low)
				: `${formatNumber(low)}–${formatNumber(high)}`;
		});
	const order = (module: ModuleKind): number => MODULE_KINDS.indexOf(module);
	const all = [...groups.values()];
	const rows: string[][] = [];
	for (const group of all
		.filter((entry) => entry.layer === undefined)
		.sort((a, b) => order(a.module) - order(b.module))) {
		rows.push([`outside layers: ${group.module}`, ...cells(group.values)]);
	}
	// Per layer: one row per module, or one row when every module reads the same.
	const layers = [...new Set(all.flatMap((entry) => (entry.layer === undefined ? [] : [entry.layer])))].sort(
		(a, b) => a - b,
	);
	const perLayer = layers.map((layer) => {
		const modules = all
			.filter((entry) => entry.layer === layer)
			.sort((a, b) => order(a.module) - order(b.module))
			.map((entry) => ({ module: entry.module, cells: cells(entry.values) }));
		// Modules that read the same share a row: "attention, norm" and "mlp" when only the MLPs are filtered.
		const merged: { module: string; cells: Cells }[] = [];
		for (const entry of modules) {
			const same = merged.find((row) => row.cells.join("|") === entry.cells.join("|"));
			if (same) {
				same.module = `${same.module}, ${entry.module}`;
			} else {
				merged.push({ module: entry.module, cells: entry.cells });
			}
		}
		return { layer, rows: merged.length === 1 ? [{ module: "", cells: merged[0]?.cells ?? [] }] : merged };
	});
	let start = 0;
	while (start < perLayer.length) {
		const first = perLayer[start];
		if (!first) {
			break;
		}
		const signature = JSON.stringify(first.rows);
		let end = start;
		while (end + 1 < perLayer.length && JSON.stringify(perLayer[end + 1]?.rows) === signature) {
			end++;
		}
		const last = perLayer[end]?.layer ?? first.layer;
		const label =
			start === 0 && end === perLayer.length - 1 && perLayer.length > 1
				? "all layers"
				: first.layer === last
					? `layer ${first.layer}`
					: `layers ${first.layer}–${last}`;
		for (const row of first.rows) {
			rows.push([row.module === "" ? label : `${label}: ${row.module}`, ...row.cells]);
		}
		start = end + 1;
	}
	// One value for everything, outside the layers included: one row.
	const first = rows[0];
	if (rows.length > 1 && first && rows.every((row) => row.slice(1).join("|") === first.slice(1).join("|"))) {
		return [["all tensors", ...first.slice(1)]];
	}
	return rows;
}
