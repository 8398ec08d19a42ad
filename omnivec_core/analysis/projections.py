"""2D/3D maps of embeddings: PCA, t-SNE (scikit-learn) and UMAP (umap-learn), each with a fixed seed."""
from __future__ import annotations

import numpy as np

METHODS = ("pca", "tsne", "umap")


def project(features: np.ndarray, method: str = "pca", dims: int = 2, seed: int = 0, perplexity: float = 30.0,
            iterations: int = 500, neighbours: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """(N, d) features -> (N, dims) coordinates. t-SNE runs on a 50-d PCA first (much faster, same picture)."""
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) < 3:
        raise ValueError(f"a map needs at least 3 points with feature vectors, got shape {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError("features contain NaN or inf")
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    if method == "pca":
        from sklearn.decomposition import PCA
        return PCA(n_components=dims, random_state=seed).fit_transform(features)
    if method == "tsne":
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE
        reduced = PCA(n_components=min(50, *features.shape), random_state=seed).fit_transform(features)
        perplexity = min(perplexity, (len(features) - 1) / 3)
        return TSNE(n_components=dims, perplexity=perplexity, max_iter=max(250, iterations), init="pca",
                    random_state=seed).fit_transform(reduced)
    if method == "umap":
        import umap
        # 200 epochs (umap-learn's choice for large sets) instead of its 500 for small ones: the same
        # picture at 3,000 points in well under half the time
        return umap.UMAP(n_components=dims, n_neighbors=min(neighbours, len(features) - 1), min_dist=min_dist,
                         n_epochs=200, random_state=seed, n_jobs=1).fit_transform(features)
    raise ValueError(f"unknown map method {method!r}; choose one of {METHODS}")


def other_modality_share(coordinates: np.ndarray, modalities: list[str], k: int = 10) -> float:
    """Share of each point's k nearest neighbours that belong to another modality: near 0 when the
    modalities sit in separate islands, near (M-1)/M when the space mixes them by meaning."""
    from sklearn.neighbors import NearestNeighbors

    _, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(coordinates).kneighbors(coordinates)
    modalities = np.asarray(modalities)
    return float((modalities[neighbours[:, 1:]] != modalities[:, None]).mean())
