import { listWeightFiles } from "../safetensors/list-weight-files.js";
import { SafetensorsFile } from "../safetensors/safetensors-file.js";
import { classifyTensor, MODULE_KINDS, type ModuleKind } from "./classify-tensor.js";
import type { ComparisonGroup, ModelComparison } from "./model-comparison.js";

interface Sums {
	tensors: number;
	elements: number;
	diffSq: number;
	aSq: number;
	bSq: number;
	dot: number;
	maxAbs: number;
}

/**
 * Compares two model folders tensor by tensor (one tensor of each in memory at a time), per layer, per module and as
 * a whole: ‖A − B‖/‖B‖ and cos(A, B), in float64. Settles questions like "does listing the base change anything?"
 * with numbers.
 */
export async function compareModels(dirA: string, dirB: string): Promise<ModelComparison> {
	const open = async (dir: string): Promise<{ files: SafetensorsFile[]; where: Map<string, SafetensorsFile> }> => {
		const files = await Promise.all((await listWeightFiles(dir)).map((path) => SafetensorsFile.open(path)));
		const where = new Map<string, SafetensorsFile>();
		for (const file of files) {
			for (const name of file.tensors.keys()) {
				where.set(name, file);
			}
		}
		return { files, where };
	};
	const a = await open(dirA);
	let b: Awaited<ReturnType<typeof open>> | undefined;
	try {
		b = await open(dirB);
		const names = [...a.where.keys()].filter((name) => b?.where.has(name)).sort();
		const empty = (): Sums => ({ tensors: 0, elements: 0, diffSq: 0, aSq: 0, bSq: 0, dot: 0, maxAbs: 0 });
		const overall = empty();
		const modules = new Map<ModuleKind, Sums>();
		const layers = new Map<number, Sums>();
		const tensors: ModelComparison["tensors"] = [];
		const shapeMismatch: string[] = [];
		for (const name of names) {
			const fileA = a.where.get(name) as SafetensorsFile;
			const fileB = b.where.get(name) as SafetensorsFile;
			const shapeA = fileA.info(name).shape;
			const shapeB = fileB.info(name).shape;
			if (shapeA.length !== shapeB.length || shapeA.some((dim, d) => dim !== shapeB[d])) {
				shapeMismatch.push(name);
				continue;
			}
			const x = await fileA.readFloat32(name);
			const y = await fileB.readFloat32(name);
			const sums = empty();
			sums.tensors = 1;
			sums.elements = x.length;
			let diffSq = 0;
			let aSq = 0;
			let bSq = 0;
			let dot = 0;
			let maxAbs = 0;
			for (let j = 0; j < x.length; j++) {
				const u = x[j] as number;
				const v = y[j] as number;
				const d = u - v;
				diffSq += d * d;
				aSq += u * u;
				bSq += v * v;
				dot += u * v;
				maxAbs = Math.max(maxAbs, Math.abs(d));
			}
			Object.assign(sums, { diffSq, aSq, bSq, dot, maxAbs });
			const match = /\.(\d+)\./.exec(name);
			const layer = match ? Number(match[1]) : null;
			const module = classifyTensor(name);
			add(overall, sums);
			add(into(modules, module, empty), sums);
			if (layer !== null) {
				add(into(layers, layer, empty), sums);
			}
			tensors.push({ name, layer, module, ...summarize(sums) });
		}
		return {
			a: dirA,
			b: dirB,
			overall: summarize(overall),
			modules: MODULE_KINDS.flatMap((module) => {
				const sums = modules.get(module);
				return sums ? [{ module, ...summarize(sums) }] : [];
			}),
			layers: [...layers.entries()].sort(([x], [y]) => x - y).map(([layer, sums]) => ({ layer, ...summarize(sums) })),
			tensors,
			onlyInA: [...a.where.keys()].filter((name) => !b?.where.has(name)).sort(),
			onlyInB: [...b.where.keys()].filter((name) => !a.where.has(name)).sort(),
			shapeMismatch,
		};
	} finally {
		for (const file of [...a.files, ...(b?.files ?? [])]) {
			await file.close();
		}
	}
}

function into<K>(map: Map<K, Sums>, key: K, empty: () => Sums): Sums {
	let sums = map.get(key);
	if (!sums) {
		sums = empty();
		map.set(key, sums);
	}
	return sums;
}

function add(target: Sums, from: Sums): void {
	target.tensors += from.tensors;
	target.elements += from.elements;
	target.diffSq += from.diffSq;
	target.aSq += from.aSq;
	target.bSq += from.bSq;
	target.dot += from.dot;
	target.maxAbs = Math.max(target.maxAbs, from.maxAbs);
}

function summarize(sums: Sums): ComparisonGroup {
	const tidy = (value: number): number => Number(value.toPrecision(6));
	return {
		tensors: sums.tensors,
		elements: sums.elements,
		relativeDifference: sums.bSq > 0 ? tidy(Math.sqrt(sums.diffSq / sums.bSq)) : null,
		cosine:
			sums.aSq > 0 && sums.bSq > 0 ? tidy(Math.min(1, Math.max(-1, sums.dot / Math.sqrt(sums.aSq * sums.bSq)))) : null,
		maxAbsDifference: tidy(sums.maxAbs),
	};
}
