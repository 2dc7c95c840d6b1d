"""Mutation operators: log-normal self-adaptation and per-module Gaussian perturbation.

Equations (docs/method.md, "Mutation"; Schwefel-style self-adaptation):

    log_sigma' = clip(log_sigma + tau * N(0, 1), log_sigma_min, log_sigma_max)
    (sigma_update = "additive": sigma' = clip(sigma + tau_add * N(0, 1), e^log_sigma_min,
     e^log_sigma_max), the same draw N(0, 1); a drift of sigma, not of log sigma)
    logit_p'   = clip(logit_p   + tau_p * N(0, 1), -logit_max, logit_max)
    theta'_j   = theta_j + m_k * sigma_k * N(0, 1)    for every column j of module k,

where m_k ~ Bernoulli(sigmoid(logit_p_k)) when mutation probabilities are enabled, else 1.

Two orders (``MutationConfig.order``):
- ``"decoupled"`` (the paper's): the child's parameters are perturbed with its *parent's*
  (sigma, p); the freshly mutated (sigma', p') act only on the child's own offspring. A child's
  fitness then says nothing about its own learning ability, which only multi-generation
  competition can select.
- ``"coupled"`` (Schwefel's): the meta-parameters are mutated first and used at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pbml_control.genome import Genome, ModuleLayout

__all__ = ["MutationConfig", "mutate_meta", "perturb", "reproduce", "reproduce_many"]

ORDERS = ("decoupled", "coupled")
SIGMA_UPDATES = ("lognormal", "additive")


@dataclass(frozen=True)
class MutationConfig:
    """Mutation settings; ``tau = tau_p = 0`` freezes the mutation parameters."""

    init_sigma: float = 0.1  # founders' sigma, every module
    tau: float = 0.2  # meta-mutation rate of log sigma
    log_sigma_min: float = -12.0  # sigma floor, e^-12 ~ 6e-6: "stopped mutating"
    log_sigma_max: float = 3.0  # sigma ceiling, e^3 ~ 20
    use_probability: bool = False  # evolve a per-module mutation probability p
    init_probability: float = 1.0
    tau_p: float = 0.2  # meta-mutation rate of logit p
    logit_max: float = 12.0
    order: str = "decoupled"
    frozen: bool = False  # "fixed mutation" baseline: never mutate sigma or p
    # How sigma itself mutates: "lognormal" steps log sigma by tau * N(0,1); "additive" steps
    # sigma by tau_add * N(0,1), so a steady drift of sigma is linear in sigma, not in log sigma.
    sigma_update: str = "lognormal"
    tau_add: float = 0.0  # meta-mutation rate of sigma itself (additive update only)

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ValueError(f"mutation.order must be one of {ORDERS}, got {self.order!r}")
        if self.sigma_update not in SIGMA_UPDATES:
            raise ValueError(
                f"mutation.sigma_update must be one of {SIGMA_UPDATES}, got {self.sigma_update!r}"
            )
        if self.tau_add < 0:
            raise ValueError(f"mutation.tau_add must be >= 0, got {self.tau_add}")
        if self.sigma_update == "additive" and not self.tau_add > 0:
            raise ValueError("mutation.sigma_update = 'additive' needs mutation.tau_add > 0")
        if not self.init_sigma > 0:
            raise ValueError(f"mutation.init_sigma must be > 0, got {self.init_sigma}")
        if self.tau < 0 or self.tau_p < 0:
            raise ValueError("mutation.tau and mutation.tau_p must be >= 0")
        if not self.log_sigma_min < self.log_sigma_max:
            raise ValueError("mutation.log_sigma_min must be < mutation.log_sigma_max")
        if not 0.0 < self.init_probability <= 1.0:
            raise ValueError(
                f"mutation.init_probability must be in (0, 1], got {self.init_probability}"
            )

    def initial_log_sigma(self, num_modules: int) -> np.ndarray:
        value = np.clip(np.log(self.init_sigma), self.log_sigma_min, self.log_sigma_max)
        return np.full(num_modules, value)

    def initial_logit_p(self, num_modules: int) -> np.ndarray:
        p = min(self.init_probability, 1.0 - 1e-6)
        value = np.clip(np.log(p) - np.log1p(-p), -self.logit_max, self.logit_max)
        return np.full(num_modules, value)


def mutate_meta(
    log_sigma: np.ndarray, logit_p: np.ndarray, config: MutationConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Self-adaptation of sigma (log-normal or additive) and of p in logit space."""
    noise_sigma = rng.standard_normal(log_sigma.shape)
    noise_p = rng.standard_normal(logit_p.shape)
    return _meta_update(log_sigma, logit_p, noise_sigma, noise_p, config)


def _meta_update(
    log_sigma: np.ndarray,
    logit_p: np.ndarray,
    noise_sigma: np.ndarray,
    noise_p: np.ndarray,
    config: MutationConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mutate_meta` with its draws given; elementwise, so rows may be many children."""
    if config.frozen:
        return log_sigma.copy(), logit_p.copy()
    if config.sigma_update == "additive":
        new_log_sigma = _additive_log_sigma(log_sigma, noise_sigma, config)
    else:
        new_log_sigma = np.clip(
            log_sigma + config.tau * noise_sigma, config.log_sigma_min, config.log_sigma_max
        )
    new_logit_p = logit_p.copy()
    if config.use_probability:
        new_logit_p = np.clip(logit_p + config.tau_p * noise_p, -config.logit_max, config.logit_max)
    return new_log_sigma, new_logit_p


def _additive_log_sigma(
    log_sigma: np.ndarray, noise: np.ndarray, config: MutationConfig
) -> np.ndarray:
    """log of clip(sigma + tau_add * noise) to the same floor and ceiling as the log-normal
    update; a step below the floor lands on it (sigma stays positive, as a radius must)."""
    floor, ceiling = np.exp(config.log_sigma_min), np.exp(config.log_sigma_max)
    sigma = np.clip(np.exp(log_sigma) + config.tau_add * noise, floor, ceiling)
    return np.clip(np.log(sigma), config.log_sigma_min, config.log_sigma_max)


def perturb(
    params: np.ndarray,
    layout: ModuleLayout,
    log_sigma: np.ndarray,
    logit_p: np.ndarray,
    config: MutationConfig,
    rng: np.random.Generator,
    sigma_scale: float = 1.0,
) -> np.ndarray:
    """Gaussian perturbation with one radius per module; modules may skip mutation."""
    noise = rng.standard_normal(params.shape)
    uniforms = rng.random(layout.num_modules)
    return _perturbation(params, layout, log_sigma, logit_p, noise, uniforms, config, sigma_scale)


def _perturbation(
    params: np.ndarray,
    layout: ModuleLayout,
    log_sigma: np.ndarray,
    logit_p: np.ndarray,
    noise: np.ndarray,
    uniforms: np.ndarray,
    config: MutationConfig,
    sigma_scale: float | np.ndarray = 1.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`perturb` with its draws given; ``noise`` is scaled in place, and the result goes
    into ``out`` if given (it may be ``params`` itself). Leading axes are children
    (``sigma_scale`` then has shape (k, 1)); each number is computed as for one child alone."""
    sigma = np.exp(log_sigma) * sigma_scale
    if config.use_probability:
        sigma = sigma * (uniforms < 1.0 / (1.0 + np.exp(-logit_p)))
    for k, (offset, size) in enumerate(zip(layout.offsets, layout.sizes, strict=True)):
        noise[..., offset : offset + size] *= sigma[..., k : k + 1]  # sigma_k * N(0, 1)
    return np.add(params, noise, out=out)


def reproduce(
    parent: Genome, config: MutationConfig, rng: np.random.Generator, sigma_scale: float = 1.0
) -> Genome:
    """One child of one parent, in the configured order."""
    child_log_sigma, child_logit_p = mutate_meta(parent.log_sigma, parent.logit_p, config, rng)
    if config.order == "decoupled":
        used_sigma, used_p = parent.log_sigma, parent.logit_p
    else:
        used_sigma, used_p = child_log_sigma, child_logit_p
    params = perturb(parent.params, parent.layout, used_sigma, used_p, config, rng, sigma_scale)
    return Genome(parent.layout, params, child_log_sigma, child_logit_p)


def reproduce_many(
    parents: tuple[np.ndarray, np.ndarray, np.ndarray],
    layout: ModuleLayout,
    config: MutationConfig,
    rngs: Iterable[np.random.Generator],
    sigma_scale: np.ndarray,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Child j of ``parents[.][j]`` (params (k, D), log_sigma and logit_p (k, M)) from its own
    stream ``rngs[j]``: bit for bit what :func:`reproduce` gives each child alone.

    Only the draws run per child, into rows of one array, in :func:`reproduce`'s order (meta
    noise, parameter noise, module uniforms); the arithmetic then runs on a block of children
    at once. ``sigma_scale`` is (k,); the children's parameters are written into ``out`` if
    given (it may be ``parents[0]`` itself).
    """
    params, log_sigma, logit_p = parents
    k, m, d = params.shape[0], layout.num_modules, layout.num_params
    out = np.empty_like(params) if out is None else out
    child_log_sigma, child_logit_p = np.empty_like(log_sigma), np.empty_like(logit_p)
    scale = np.asarray(sigma_scale, dtype=np.float64)[:, None]
    # One block's draws at a time: a scratch array reused block after block, not a (k, D)
    # array of noise (at 4,096 children of 6,000 parameters that is 190 MB to fault in).
    normals = np.empty((min(k, _BLOCK), 2 * m + d))
    uniforms = np.empty((min(k, _BLOCK), m))
    streams = iter(rngs)
    for start in range(0, k, _BLOCK):
        rows = slice(start, min(start + _BLOCK, k))
        n = rows.stop - start
        for row in range(n):
            rng = next(streams)
            # one call of 2M + D normals draws what mutate_meta's and perturb's three calls
            # draw: the stream fills the numbers in order
            rng.standard_normal(out=normals[row])
            rng.random(out=uniforms[row])
        new_sigma, new_p = _meta_update(
            log_sigma[rows], logit_p[rows], normals[:n, :m], normals[:n, m : 2 * m], config
        )
        child_log_sigma[rows], child_logit_p[rows] = new_sigma, new_p
        if config.order == "decoupled":
            used_sigma, used_p = log_sigma[rows], logit_p[rows]
        else:
            used_sigma, used_p = new_sigma, new_p
        block_noise = normals[:n, 2 * m :]
        _perturbation(
            params[rows], layout, used_sigma, used_p, block_noise, uniforms[:n], config,
            scale[rows], out[rows],
        )  # fmt: skip
    return out, child_log_sigma, child_logit_p


_BLOCK = 256  # children drawn and bred together by reproduce_many
