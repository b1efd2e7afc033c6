"""Synthetic task pairs of controlled relatedness (Ma et al., KDD 2018, section 5.1).

Two regression tasks on inputs ``x ~ N(0, I_d)``. Two orthonormal vectors ``u1, u2`` give the
weights ``w1 = c u1`` and ``w2 = c (p u1 + sqrt(1 - p^2) u2)``, whose cosine similarity is the
requested correlation ``p``; the labels are

    y_k = w_k.x + sum_i sin(alpha_i w_k.x + beta_i) + eps_k,   eps_k ~ N(0, noise_std^2).

The paper leaves ``alpha_i, beta_i`` open (Google Research's generator for it takes
``alpha_i = i``, ``beta_i = (i-1)^2``: frequencies up to 10); here they are drawn once from
``N(0, sine_scale^2)`` with the data's seed. Because of the sine
terms the labels' Pearson correlation is not ``p`` itself: ``expected_label_correlation`` gives
it in closed form (Gaussian identities), and the tests hold the generated data to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TaskPair:
    """Inputs ``x (N, d)``, labels ``y (N, 2)`` and the generating weights and sine terms."""

    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray  # (2, d)
    alphas: np.ndarray
    betas: np.ndarray


def sine_terms(terms: int, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``alpha_i, beta_i`` of the sine terms, drawn once from ``N(0, scale^2)``."""
    rng = np.random.default_rng([seed, 1])
    return rng.normal(0.0, scale, terms), rng.normal(0.0, scale, terms)


def task_weights(correlation: float, dim: int, scale: float, seed: int) -> np.ndarray:
    """``w1, w2`` of norm ``scale`` whose cosine similarity is ``correlation``."""
    if not -1.0 <= correlation <= 1.0 or dim < 2:
        raise ValueError(f"correlation {correlation} must lie in [-1, 1], dim {dim} ≥ 2")
    basis, _ = np.linalg.qr(np.random.default_rng([seed, 2]).normal(size=(dim, 2)))
    u1, u2 = basis.T
    other = correlation * u1 + np.sqrt(max(0.0, 1.0 - correlation**2)) * u2
    return scale * np.stack([u1, other])


def labels_of(projections: np.ndarray, alphas: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """``z + sum_i sin(alpha_i z + beta_i)`` of each projection ``z``, noise-free."""
    waves = np.sin(projections[..., None] * alphas + betas).sum(-1)
    return projections + waves


def generate_pair(
    correlation: float,
    rows: int,
    dim: int = 100,
    scale: float = 1.0,
    terms: int = 10,
    sine_scale: float = 1.0,
    noise_std: float = 0.01,
    seed: int = 0,
) -> TaskPair:
    """``rows`` inputs and their two labels; the same ``seed`` gives the same weights and
    sine terms for every ``rows`` (train, validation and test come from one call)."""
    weights = task_weights(correlation, dim, scale, seed)
    alphas, betas = sine_terms(terms, sine_scale, seed)
    rng = np.random.default_rng([seed, 3])
    x = rng.normal(size=(rows, dim))
    y = labels_of(x @ weights.T, alphas, betas) + rng.normal(0.0, noise_std, (rows, 2))
    return TaskPair(x.astype(np.float32), y.astype(np.float32), weights, alphas, betas)


def expected_label_correlation(
    correlation: float, scale: float, alphas: np.ndarray, betas: np.ndarray, noise_std: float
) -> float:
    """The Pearson correlation of the two labels, in closed form.

    With ``z1, z2 ~ N(0, scale^2)`` of correlation ``p``: ``E[sin(a z + b)] = sin b e^{-a²s²/2}``,
    ``E[z1 sin(a z2 + b)] = p s² a cos b e^{-a²s²/2}`` (Stein) and
    ``E[sin A sin B] = (E[cos(A-B)] - E[cos(A+B)]) / 2``.
    """
    s2, p = scale**2, correlation
    a, b = alphas[:, None], betas[:, None]
    a2, b2 = alphas[None, :], betas[None, :]
    mean_sin = np.sin(betas) * np.exp(-0.5 * alphas**2 * s2)

    def second_moment(rho: float) -> float:
        minus = np.cos(b - b2) * np.exp(-0.5 * s2 * (a**2 + a2**2 - 2 * rho * a * a2))
        plus = np.cos(b + b2) * np.exp(-0.5 * s2 * (a**2 + a2**2 + 2 * rho * a * a2))
        waves = 0.5 * (minus - plus).sum() - mean_sin.sum() ** 2
        cross = 2 * rho * s2 * (alphas * np.cos(betas) * np.exp(-0.5 * alphas**2 * s2)).sum()
        return rho * s2 + cross + waves

    covariance = second_moment(p)
    variance = second_moment(1.0) + noise_std**2
    return float(covariance / variance)
