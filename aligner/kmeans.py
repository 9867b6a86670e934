"""K-means in plain torch: k-means++ seeding and Lloyd iterations over chunks.

The semantic tokenizer (``aligner.semantic``) quantizes speech-encoder features with
it. Why not a library: scikit-learn is not a dependency of the toolkit, and the whole
algorithm is a few lines; chunking keeps the distance matrix small (``chunk x K``), so
a few hundred thousand frames of 192-dim features fit in a laptop's memory.

Shapes: ``M`` points, ``D`` dimensions, ``K`` clusters.
"""

from __future__ import annotations

import torch


def _sq_distances(x: torch.Tensor, centroids: torch.Tensor, c_sq: torch.Tensor) -> torch.Tensor:
    """``[m, K]`` squared Euclidean distances (``|x|^2 - 2 x.c + |c|^2``, clamped at 0)."""
    return ((x * x).sum(1, keepdim=True) - 2.0 * x @ centroids.T + c_sq[None]).clamp(min=0)


@torch.no_grad()
def assign(x: torch.Tensor, centroids: torch.Tensor, chunk: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centroid of each point: ``(index [M] long, squared distance [M])``.

    Args:
        x: ``[M, D]`` points.
        centroids: ``[K, D]``.
        chunk: points per distance matrix (memory: ``chunk x K`` floats).
    """
    x, centroids = x.float(), centroids.float()
    c_sq = (centroids * centroids).sum(1)
    idx, dist = [], []
    for start in range(0, len(x), chunk):
        d, i = _sq_distances(x[start: start + chunk], centroids, c_sq).min(1)
        idx.append(i)
        dist.append(d)
    if not idx:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0)
    return torch.cat(idx), torch.cat(dist)


@torch.no_grad()
def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding (Arthur and Vassilvitskii, 2007): each next centroid is a point drawn
    with probability proportional to its squared distance to the nearest centroid so far.

    Returns ``[k, D]``. ``x`` should be a sample (cost ``O(M K D)``).
    """
    x = x.float()
    first = int(torch.randint(len(x), (1,), generator=generator))
    centroids = [x[first]]
    nearest = ((x - x[first]) ** 2).sum(1)
    for _ in range(1, k):
        total = float(nearest.sum())
        # All points on centroids already (fewer distinct points than k): any point will do.
        probs = nearest / total if total > 0 else torch.full_like(nearest, 1.0 / len(x))
        pick = int(torch.multinomial(probs, 1, generator=generator))
        centroids.append(x[pick])
        nearest = torch.minimum(nearest, ((x - x[pick]) ** 2).sum(1))
    return torch.stack(centroids)


@torch.no_grad()
def kmeans(x: torch.Tensor, k: int, iterations: int = 30, seed: int = 0, init_sample: int = 20000,
           tol: float = 1e-4, chunk: int = 8192) -> tuple[torch.Tensor, dict]:
    """Fit ``k`` centroids to ``x [M, D]``: k-means++ on a sample, then Lloyd iterations.

    An emptied cluster is re-seeded at the point farthest from its centroid (so all ``k``
    are used). Stops after ``iterations`` or when the mean squared distance improves by
    less than ``tol`` (relative).

    Returns:
        ``(centroids [k, D] float32, info)`` with ``iterations`` run and ``inertia`` (the
        final mean squared distance of a point to its centroid).

    Raises:
        ValueError: fewer points than clusters, or ``k < 2``.
    """
    if k < 2:
        raise ValueError(f"k-means needs at least 2 clusters, got {k}")
    if len(x) < k:
        raise ValueError(f"k-means with {k} clusters needs at least {k} points, got {len(x)}")
    x = x.float()
    g = torch.Generator().manual_seed(seed)
    sample = x[torch.randperm(len(x), generator=g)[: max(init_sample, k)]]
    centroids = kmeans_plus_plus(sample, k, g)
    previous = float("inf")
    done = 0
    inertia = previous
    for done in range(1, iterations + 1):
        idx, dist = assign(x, centroids, chunk)
        inertia = float(dist.mean())
        counts = torch.bincount(idx, minlength=k)
        sums = torch.zeros_like(centroids).index_add_(0, idx, x)
        centroids = sums / counts.clamp(min=1)[:, None].float()
        empty = (counts == 0).nonzero().flatten()
        if len(empty):
            centroids[empty] = x[dist.argsort(descending=True)[: len(empty)]]
        elif previous - inertia < tol * previous:
            break
        previous = inertia
    return centroids, {"iterations": done, "inertia": inertia}
