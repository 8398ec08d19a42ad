"""Linear probes of frozen vectors, shared by the held-out and the folder evaluation."""
from __future__ import annotations

import numpy as np


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    """Accuracy of a logistic-regression probe on frozen, standardised features (scikit-learn is imported here,
    on first use: it costs a second at start for every command that never fits a probe)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    probe.fit(train_x, train_y)
    return float(probe.score(test_x, test_y))
