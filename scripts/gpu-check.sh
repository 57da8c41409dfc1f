#!/usr/bin/env bash
# Checks the ONNX backend on a GPU machine that may have neither Node nor a package registry. Unpacks the bundle that
# scripts/gpu-bundle.sh made (node, dist, production node_modules), shows the GPU, runs every golden mergekit-tensors
# case with --device cuda (and webgpu where it finds an adapter, and onnx-cpu always), then times ties and dare_ties
# on cpu, onnx-cpu and cuda on a synthetic model of a few hundred MB, and ends with a summary. Takes a few minutes.
#
# usage: scripts/gpu-check.sh [GOLDEN_DIR]      (default: ../shared/golden, else shared/golden)
# env:   GPU_BUNDLE             the bundle (default gpu-bundle/mergesmith-gpu.tar.xz)
#        ORT_CUDA_PROVIDER_DIR  a folder holding onnxruntime 1.30's libonnxruntime_providers_{cuda,shared}.so
#        GPU_CHECK_LAYERS       layers of the synthetic model (default 6: 285 MB per model in bf16)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
golden=${1:-}
if [ -z "$golden" ]; then
	for candidate in "$repo/../shared/golden" "$repo/shared/golden"; do
		if [ -d "$candidate/mergekit-tensors" ]; then
			golden=$candidate
			break
		fi
	done
fi
if [ -z "$golden" ] || [ ! -d "$golden/mergekit-tensors" ]; then
	echo "gpu-check: no golden cases (give their folder, the one holding mergekit-tensors/, as the first argument)" >&2
	exit 2
fi
bundle=${GPU_BUNDLE:-$repo/gpu-bundle/mergesmith-gpu.tar.xz}
if [ ! -f "$bundle" ]; then
	echo "gpu-check: no bundle at $bundle; make it with scripts/gpu-bundle.sh on a machine with Node and the project" >&2
	exit 2
fi
started=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xJf "$bundle" -C "$work"
app=$work/mergesmith
node=$app/node
summary=()
note() {
	summary+=("$1")
	echo "$1"
}
# For the summary only, where the line was printed already.
remember() {
	summary+=("$1")
}

echo "== GPU"
if command -v nvidia-smi >/dev/null 2>&1; then
	nvidia-smi || note "nvidia-smi failed: the NVIDIA driver does not answer"
else
	note "no nvidia-smi: no NVIDIA driver on this machine"
fi
echo "== node $("$node" --version), onnxruntime-node $("$node" -p "require('$app/node_modules/onnxruntime-node').env.versions.node")"

# onnxruntime's CUDA provider libraries are not in the npm package, and its installer downloads them from nuget,
# which neither this machine nor the one that made the bundle reaches. Use copies already here, of the same
# onnxruntime version (Python's onnxruntime-gpu 1.30 wheel has them in onnxruntime/capi), if there are any.
ortbin=$app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
python=$(command -v python3 || true)
if [ ! -f "$ortbin/libonnxruntime_providers_cuda.so" ]; then
	found=${ORT_CUDA_PROVIDER_DIR:-}
	if [ -z "$found" ] && [ -n "$python" ]; then
		found=$("$python" -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))' 2>/dev/null || true)
		[ -f "$found/libonnxruntime_providers_cuda.so" ] || found=""
	fi
	if [ -z "$found" ]; then
		found=$(timeout 60 find /usr /opt /home /root -name libonnxruntime_providers_cuda.so -print 2>/dev/null | head -1 | xargs -r dirname)
	fi
	if [ -n "$found" ] && [ -f "$found/libonnxruntime_providers_cuda.so" ]; then
		cp "$found"/libonnxruntime_providers_cuda.so "$found"/libonnxruntime_providers_shared.so "$ortbin/"
		note "CUDA provider libraries: copied from $found (must be onnxruntime 1.30 to load)"
	else
		note "CUDA provider libraries: MISSING (not in the npm package; install with 'node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12' where api.nuget.org is reachable, or set ORT_CUDA_PROVIDER_DIR)"
	fi
fi
# CUDA 12 and cuDNN 9 from Python's nvidia-* wheels, where the system has none on the library path.
if [ -n "$python" ]; then
	nvidia=$("$python" -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0] + "/"))' 2>/dev/null || true)
	if [ -n "$nvidia" ]; then
		for lib in "$nvidia"/*/lib; do
			LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
		done
		export LD_LIBRARY_PATH
	fi
fi

ms() {
	"$node" "$app/bin/mergesmith.js" "$@"
}

echo "== which devices work"
models=$work/models
"$node" --input-type=module -e "
import { makeDemoModels } from '$app/dist/fixtures/make-demo-models.js';
await makeDemoModels('$models/demo');
"
cat >"$work/probe.yml" <<RECIPE
merge_method: ties
base_model: $models/demo/base
models:
  - model: $models/demo/instruct
    parameters: {weight: 0.5, density: 0.5}
RECIPE
devices=(onnx-cpu)
for device in cuda webgpu; do
	if line=$(ms merge "$work/probe.yml" --out "$work/probe-$device" --device "$device" 2>&1); then
		devices+=("$device")
		note "$device: usable ($(echo "$line" | grep '^device:' | head -1))"
	else
		note "$device: not usable: $(echo "$line" | grep 'device' | head -1)"
	fi
done
note "auto picks: $(ms merge "$work/probe.yml" --out "$work/probe-auto" --device auto --dry-run 2>/dev/null | grep '^device:')"

for device in "${devices[@]}"; do
	echo "== golden mergekit-tensors cases on $device"
	"$node" "$app/dist/fixtures/golden-tensor-check.js" "$golden" "$device" | tee "$work/golden-$device.txt"
	remember "$(tail -1 "$work/golden-$device.txt")"
	differing=$(grep -c 'differ from cpu' "$work/golden-$device.txt")
	note "golden $device: $differing case(s) not bit-identical to cpu"
done

echo "== throughput: ties and dare_ties on a synthetic bf16 Llama-layout model"
layers=${GPU_CHECK_LAYERS:-6}
"$node" --input-type=module -e "
import { makeTinyModel } from '$app/dist/fixtures/make-tiny-model.js';
const common = { family: 'llama', layers: $layers, hidden: 1024, intermediate: 2816, vocab: 32000, heads: 16, seed: 1, dtype: 'BF16' };
await makeTinyModel('$models/base', common);
await makeTinyModel('$models/a', { ...common, drift: { seed: 2, scale: 0.01 } });
await makeTinyModel('$models/b', { ...common, drift: { seed: 3, scale: 0.01 } });
"
bytes=$(cat "$models"/base/*.safetensors "$models"/a/*.safetensors "$models"/b/*.safetensors | wc -c)
echo "3 models, $((bytes / 1000000)) MB read per merge"
for method in ties dare_ties; do
	cat >"$work/$method.yml" <<RECIPE
merge_method: $method
base_model: $models/base
models:
  - model: $models/a
    parameters: {weight: 0.6, density: 0.5}
  - model: $models/b
    parameters: {weight: 0.4, density: 0.5}
dtype: bfloat16
RECIPE
	for device in cpu "${devices[@]}"; do
		[ "$device" = webgpu ] && continue
		out=$work/out-$method-$device
		begin=$(date +%s.%N)
		if ms merge "$work/$method.yml" --out "$out" --device "$device" --random-seed 1 >"$work/log-$method-$device" 2>&1; then
			seconds=$(awk "BEGIN { print $(date +%s.%N) - $begin }")
			rate=$(awk "BEGIN { printf \"%.2f\", $bytes / $seconds / 1e9 }")
			same=""
			if [ "$device" != cpu ]; then
				if cmp -s "$out/model.safetensors" "$work/out-$method-cpu/model.safetensors"; then
					same=", weights bit-identical to cpu"
				else
					same=", weights differ from cpu"
				fi
			fi
			note "$method on $device: $(printf '%.1f' "$seconds") s, $rate GB/s of input$same"
		else
			note "$method on $device: FAILED: $(tail -1 "$work/log-$method-$device")"
		fi
	done
	rm -rf "$work/out-$method-"*
done

echo
echo "== summary ($(($(date +%s) - started)) s)"
printf '%s\n' "${summary[@]}"
