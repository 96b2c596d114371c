#!/usr/bin/env python3
"""Writes a large synthetic folded input for the benchmarks: N_STACKS distinct stacks,
N_SAMPLES lines (one sample each, so the rprof data file holds N_SAMPLES samples)."""
import random
import sys

n_stacks = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
n_samples = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
out = sys.argv[3] if len(sys.argv) > 3 else "big.folded"
rng = random.Random(42)
funcs = [f"mod{i % 97}::func_{i}" for i in range(5000)]
stacks = []
seen = set()
while len(stacks) < n_stacks:
    depth = rng.randint(4, 24)
    s = ["_start", "main"] + [funcs[min(int(rng.paretovariate(1.2)) * 7 + d * 13, 4999)] for d in range(depth)]
    s[-1] = rng.choice(funcs)
    t = ";".join(s)
    if t not in seen:
        seen.add(t)
        stacks.append(t)
with open(out, "w") as f:
    for i in range(n_samples):
        # Zipf-like: a few stacks are hot, most are rare, every stack appears at least once.
        s = stacks[i] if i < n_stacks else stacks[min(int(rng.paretovariate(0.8)) - 1, n_stacks - 1)]
        f.write(s + " 1\n")
