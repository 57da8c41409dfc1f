"""mergekit's per-tensor math in PyTorch, as the bench's reference.

Written from mergesmith's reading of mergekit's behaviour (one function per method, in the dtype and style mergekit
computes in: whole tensors, a new tensor per operation). The bench times it on the same tensors it merges and reports
how many times faster the whole `mergesmith merge` command is than this math alone.

Reads one JSON job on stdin and prints one JSON result on stdout:
  job:    {"method", "base": dir | null, "models": [{"path": dir, "parameters": {...}}], "parameters": {...},
           "tensors": [names], "seed": int, "threads": int, "repeats": int, "compare": dir | null}
  Each tensor is merged `repeats` times; its fastest time counts.
  result: {"seconds", "inputParameters", "tensors", "compared": {"elements", "equal", "maxAbsDiff"} | null}
"""

import json
import os
import struct
import sys
import time

import numpy as np
import torch

DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}


class Weights:
    """A model folder's safetensors files: one tensor at a time, by name."""

    def __init__(self, folder):
        self.where = {}
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".safetensors"):
                continue
            path = os.path.join(folder, name)
            with open(path, "rb") as file:
                (length,) = struct.unpack("<Q", file.read(8))
                header = json.loads(file.read(length))
            for tensor, entry in header.items():
                if tensor != "__metadata__":
                    self.where[tensor] = (path, 8 + length, entry)

    def get(self, name):
        path, data_start, entry = self.where[name]
        begin, end = entry["data_offsets"]
        with open(path, "rb") as file:
            file.seek(data_start + begin)
            data = bytearray(file.read(end - begin))
        return torch.frombuffer(data, dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])


def as_column(values, like):
    """Per-model scalars as a tensor of the data's dtype, shaped to broadcast over a stack of tensors."""
    return torch.tensor(values, dtype=like.dtype).view(-1, *([1] * (like.dim() - 1)))


def linear(tensors, weights, normalize=True):
    stacked = torch.stack(tensors)
    w = as_column(weights, stacked)
    result = (w * stacked).sum(dim=0)
    return result / w.sum(dim=0) if normalize else result


def rescale_l1(delta, kept):
    before = delta.abs().sum()
    after = kept.abs().sum()
    if before >= 1e-7 and after >= 1e-7:
        return kept * (before / after)
    return kept


def keep_largest(delta, density):
    k = int(density * delta.numel())
    if k <= 0:
        raise ValueError("density too small: no element kept")
    order = torch.argsort(delta.abs().view(-1).float(), descending=True)
    mask = torch.zeros_like(delta).view(-1)
    mask[order[:k]] = 1
    return delta * mask.view_as(delta)


def keep_random(delta, density):
    mask = torch.bernoulli(torch.full_like(delta, density))
    return rescale_l1(delta, delta * mask)


def keep_middle(delta, density, gamma):
    count = delta.numel()
    keep = int(density * count)
    top = int(gamma * count)
    bottom = count - keep - top
    if bottom < 0:
        top += bottom
        bottom = 0
    order = torch.argsort(delta.abs().view(-1).float())
    mask = torch.zeros_like(delta).view(-1)
    mask[order[bottom : count - top] if top > 0 else order[bottom:bottom]] = 1
    return delta * mask.view_as(delta)


def keep_ranked(delta, density, epsilon):
    rows = delta.view(1, -1) if delta.dim() == 1 else delta
    n = rows.shape[1]
    ranks = torch.argsort(torch.argsort(rows.abs().float(), dim=1), dim=1).float()
    probability = (density - epsilon) + 2 * epsilon * ranks / max(n - 1, 1)
    mask = torch.bernoulli(probability).to(delta.dtype).view_as(delta)
    return rescale_l1(delta, delta * mask)


FAMILY = {
    # method: (sign consensus, sparsifier, normalize by default); the random and ranked sparsifiers rescale
    "task_arithmetic": (False, None, False),
    "ties": (True, "magnitude", True),
    "dare_linear": (False, "random", False),
    "dare_ties": (True, "random", False),
    "breadcrumbs": (False, "outliers", False),
    "breadcrumbs_ties": (True, "outliers", False),
    "della": (True, "ranked", True),
    "della_linear": (False, "ranked", False),
}


def sparsify(kind, delta, p):
    density = p.get("density", 1.0)
    if kind is None or density >= 1:
        return delta
    if kind == "magnitude":
        return keep_largest(delta, density)
    if kind == "random":
        return keep_random(delta, density)
    if kind == "outliers":
        return keep_middle(delta, density, p.get("gamma", 0.01))
    return keep_ranked(delta, density, p.get("epsilon", 0.15))


def elected_mask(stacked):
    """Where each model's sign agrees with the sign of the sum (zero counts as positive)."""
    elected = (stacked.sum(dim=0) >= 0).to(stacked.dtype) * 2 - 1
    return stacked.sign() == elected


def task_family(method, base, xs, per_model, g):
    consensus, kind, normalize = FAMILY[method]
    normalize = g.get("normalize", normalize)
    deltas = [sparsify(kind, x.to(base.dtype) - base, p) for x, p in zip(xs, per_model)]
    stacked = torch.stack(deltas)
    w = as_column([p["weight"] for p in per_model], stacked)
    weighted = stacked * w
    if consensus:
        mask = elected_mask(weighted)
        mixed = (weighted * mask).sum(dim=0)
        divisor = (w * mask).sum(dim=0)
        divisor[divisor == 0] = 1
    else:
        mixed = weighted.sum(dim=0)
        divisor = w.sum(dim=0)
        divisor[divisor.abs() < 1e-8] = 1
    if normalize:
        mixed = mixed / divisor
    if g.get("lambda", 1.0) != 1.0:
        mixed = mixed * g["lambda"]
    return (base + mixed).to(base.dtype)


def slerp(base, other, t):
    v0 = base.float().numpy()
    v1 = other.float().numpy()
    n0 = np.linalg.norm(v0)
    n1 = np.linalg.norm(v1)
    a = v0 / n0 if n0 > 1e-8 else v0
    b = v1 / n1 if n1 > 1e-8 else v1
    dot = np.sum(a * b)
    if abs(dot) > 0.9995:
        mixed = (1 - t) * v0 + t * v1
    else:
        theta = np.arccos(dot)
        mixed = (np.sin((1 - t) * theta) / np.sin(theta)) * v0 + (np.sin(t * theta) / np.sin(theta)) * v1
    return torch.from_numpy(np.asarray(mixed)).to(base.dtype)


def nuslerp(base, xs, per_model):
    w1, w2 = per_model[0]["weight"], per_model[1]["weight"]
    t = 0.5 if abs(w1 + w2) < 1e-6 else w2 / (w1 + w2)
    a = (xs[0] - base).view(-1)
    b = (xs[1] - base).view(-1)
    a_hat = a / a.norm().clamp_min(1e-7)
    b_hat = b / b.norm().clamp_min(1e-7)
    theta = torch.acos((a_hat * b_hat).sum().clamp(-1, 1))
    sin = torch.sin(theta)
    if sin.abs() < 1e-8:
        mixed = (1 - t) * a + t * b
    else:
        mixed = (torch.sin((1 - t) * theta) * a + torch.sin(t * theta) * b) / sin
    return base + mixed.view_as(base)


def multislerp(base, xs, per_model, g):
    eps = g.get("eps", 1e-8)
    x = torch.stack([(xi - base).view(-1) for xi in xs])
    w = torch.tensor([p["weight"] for p in per_model], dtype=x.dtype)
    if g.get("normalize_weights", True):
        w = w / w.sum()
    norms = x.norm(dim=1, keepdim=True)
    units = x / (norms + eps)
    mean = (w.view(-1, 1) * units).sum(dim=0)
    mean_hat = mean / mean.norm()
    tangents = units - (units * mean_hat).sum(dim=1, keepdim=True) * mean_hat
    r = (w.view(-1, 1) * tangents).sum(dim=0)
    tau = r.norm() + eps
    direction = mean_hat * torch.cos(tau) + r * (torch.sin(tau) / tau)
    return base + (direction * (w * norms.view(-1)).sum()).view_as(base)


def nearswap(base, other, t):
    alpha = (t / (base - other).abs().clamp_min(1e-6)).clamp(0, 1)
    return alpha * other + (1 - alpha) * base


def model_stock(base, xs):
    offsets = [(x - base).view(-1) for x in xs]
    cosines = []
    for i in range(len(offsets)):
        for j in range(i + 1, len(offsets)):
            norms = (offsets[i].norm() * offsets[j].norm()).clamp_min(1e-6)
            cosines.append(((offsets[i] * offsets[j]).sum() / norms).clamp(-1, 1))
    cos = torch.stack(cosines).mean()
    n = len(xs)
    t = n * cos / (1 + (n - 1) * cos)
    return t * torch.stack(xs).mean(dim=0) + (1 - t) * base


def sce(base, xs, g):
    tvs = torch.stack([x - base for x in xs])
    top = g.get("select_topk", 1.0)
    if top < 1:
        variance = torch.var(tvs, dim=0, unbiased=False)
        k = int(torch.count_nonzero(variance).item() * top)
        keep = torch.zeros_like(variance, dtype=torch.bool).view(-1)
        if k > 0:
            keep[torch.topk(variance.abs().view(-1), k).indices] = True
        tvs = tvs * keep.view_as(variance)
    energy = (tvs**2).mean(dim=tuple(range(1, tvs.dim())))
    total = energy.sum()
    energy = torch.full_like(energy, 1 / len(xs)) if total.abs() < 1e-6 else energy / total
    energy = energy.view(-1, *([1] * (tvs.dim() - 1)))
    mask = elected_mask(tvs)
    mixed = (tvs * energy * mask).sum(dim=0) / (energy * mask).sum(dim=0).clamp_min(1e-6)
    return base + mixed


def merge(method, base, xs, per_model, g):
    if method == "linear":
        return linear(xs, [p["weight"] for p in per_model], g.get("normalize", True))
    if method in FAMILY:
        return task_family(method, base, xs, per_model, g)
    if method == "slerp":
        return slerp(base, xs[0], g["t"])
    if method == "nuslerp":
        return nuslerp(base, xs, per_model)
    if method == "multislerp":
        return multislerp(base, xs, per_model, g)
    if method == "nearswap":
        return nearswap(base, xs[0], g["t"])
    if method == "model_stock":
        return model_stock(base, xs)
    if method == "sce":
        return sce(base, xs, g)
    raise ValueError(f"no PyTorch reference for merge method {method}")


BITS = {torch.bfloat16: torch.int16, torch.float16: torch.int16, torch.float32: torch.int32}


def compare(result, stored):
    """Elements whose stored bits equal the reference's (so −0 is not +0, and a NaN can match), and the largest
    difference between finite values."""
    bits = BITS[stored.dtype]
    same = result.to(stored.dtype).contiguous().view(bits).view(-1) == stored.contiguous().view(bits).view(-1)
    difference = (result.float() - stored.float()).abs().view(-1)
    finite = difference[torch.isfinite(difference)]
    return int(same.sum().item()), finite.max().item() if finite.numel() > 0 else 0.0


def main():
    job = json.load(sys.stdin)
    torch.set_num_threads(job["threads"])
    torch.manual_seed(job["seed"])
    base = Weights(job["base"]) if job["base"] else None
    models = [Weights(model["path"]) for model in job["models"]]
    per_model = [model["parameters"] for model in job["models"]]
    stored = Weights(job["compare"]) if job["compare"] else None
    seconds = 0.0
    parameters = 0
    elements = equal = 0
    largest = 0.0
    for name in job["tensors"]:
        b = base.get(name) if base else None
        xs = [model.get(name) for model in models]
        parameters += sum(x.numel() for x in xs) + (b.numel() if b is not None else 0)
        fastest = float("inf")
        for _ in range(job.get("repeats", 1)):
            start = time.perf_counter()
            result = merge(job["method"], b, xs, per_model, job["parameters"])
            fastest = min(fastest, time.perf_counter() - start)
        seconds += fastest
        if stored:
            same, difference = compare(result, stored.get(name))
            elements += result.numel()
            equal += same
            largest = max(largest, difference)
    compared = {"elements": elements, "equal": equal, "maxAbsDiff": largest} if stored else None
    print(json.dumps({"seconds": seconds, "inputParameters": parameters, "tensors": len(job["tensors"]), "compared": compared}))


if __name__ == "__main__":
    main()
