"""Per-step cost of the batched forward pass: ``python scripts/bench_policy.py``.

Compares the shipped :class:`PopulationPolicy` (``np.matmul`` into preallocated buffers) with an
``np.einsum`` version of the same network, in float64 and float32.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pbml_control.policies import PolicySpec, PopulationPolicy


def _time(fn, min_seconds: float) -> float:
    fn()
    reps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds or reps < 20:
        fn()
        reps += 1
    return elapsed / reps * 1e6


def _einsum_act(policy: PopulationPolicy, obs: np.ndarray) -> np.ndarray:
    h = obs
    for k, (w, b) in enumerate(zip(policy.weights, policy.biases, strict=True)):
        h = np.einsum("ni,nio->no", h, w) + b[:, 0, :]
        if k < len(policy.weights) - 1:
            h = np.tanh(h)
    return np.tanh(h)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument("--obs-dims", type=int, nargs="+", default=[17, 27])
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--act-dim", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("N   obs  matmul_f64_us  einsum_f64_us  matmul_f32_us")
    for obs_dim in args.obs_dims:
        spec = PolicySpec(obs_dim, args.act_dim, tuple(args.hidden))
        for n in args.sizes:
            params = spec.init_population(rng, n)
            obs = rng.standard_normal((n, obs_dim))
            p64 = PopulationPolicy(spec, params)
            p32 = PopulationPolicy(spec, params, dtype=np.float32)
            obs32 = obs.astype(np.float32)
            t64 = _time(lambda p=p64, x=obs: p.act(x), args.seconds)
            te = _time(lambda p=p64, x=obs: _einsum_act(p, x), args.seconds)
            t32 = _time(lambda p=p32, x=obs32: p.act(x), args.seconds)
            print(f"{n:<4}{obs_dim:<5}{t64:>13.1f}{te:>15.1f}{t32:>15.1f}")


if __name__ == "__main__":
    main()
