"""The fitted prerequisite model: logistic regression over ``kg.prereqs.features``.

The weights are learnt, not set by hand: ``kg train-prereqs`` fits them
(``kg.prereqs.training``) and writes ``prerequisite_model.json`` beside this module,
which ships with the package. Applying the model needs numpy only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from kg.errors import KGError
from kg.prereqs.features import FEATURES

#: The model that ships with the package.
MODEL_PATH = Path(__file__).resolve().parent / "prerequisite_model.json"

# How each feature reads as a reason when it speaks for the edge (see kg.prereqs.features).
_REASONS = {
    "uses_c": "the concept's definition uses it",
    "first_c": "named in the concept's first sentence",
    "genus_c": "named as the concept's genus (a kind of it)",
    "part_c": "named as a part of the concept",
    "base_c": "named as the concept's base (built on it)",
    "fixes_c": "named as what the concept addresses",
    "derived_c": "the concept is computed from it",
    "role_obj_c": "the concept's definition acts on it (Xを, uses X)",
    "example_p": "its own definition gives the concept as an example",
    "listed_p": "its own definition names the concept as an item of a list",
    "named_p": "its own definition names the concept as a part",
    "here_p": "its own definition says the concept is derived from it",
    "label_c": "the concept's label contains its label",
    "broader_c": "broader concept",
    "general": "used by more definitions",
    "refd": "the concept's references point to it (RefD)",
}


@dataclass(frozen=True)
class PrerequisiteModel:
    """``P(p is learnt before c)`` for a feature row of the ordered pair (p, c)."""

    coef: np.ndarray
    intercept: float
    meta: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, matrix: np.ndarray) -> np.ndarray:
        if matrix.size == 0:
            return np.zeros(len(matrix))
        return 1.0 / (1.0 + np.exp(-(matrix @ self.coef + self.intercept)))

    def reasons(self, row: np.ndarray, limit: int = 4) -> tuple[str, ...]:
        """The features that speak most for the edge, as words, strongest first."""
        return self.reasons_of(row[np.newaxis, :], limit)[0]

    def reasons_of(self, rows: np.ndarray, limit: int = 4) -> list[tuple[str, ...]]:
        """``reasons`` of every row of a feature matrix, in one numpy pass (an edge at a time
        took seconds at 30,000 concepts)."""
        columns = [i for i, name in enumerate(FEATURES) if name in _REASONS]
        names = [FEATURES[i] for i in columns]
        values = rows[:, columns] * self.coef[columns]
        # Strongest first, then the later name first on ties (a descending sort of (value, name)).
        name_rank = np.argsort(np.argsort(names)).astype(np.float64)
        order = np.lexsort((np.broadcast_to(-name_rank, values.shape), -values), axis=-1)[:, :limit]
        strong = np.take_along_axis(values, order, axis=-1) > 0.25
        # Few distinct answers (a row of picks, -1 for a weak one), each put into words once: a
        # Python loop over the rows took 10 s for the 1.1 million of 100,000 concepts. Each row
        # is numbered by its picks so far, column by column (numbers stay below the row count).
        picks = np.where(strong, order, -1)
        which = np.zeros(len(picks), dtype=np.int64)
        for column in picks.T:
            which = np.unique(which * (len(names) + 1) + column + 1, return_inverse=True)[1].ravel()
        first = np.unique(which, return_index=True)[1]
        fallback = ("inferred from the wording of the two definitions",)
        said = [tuple(_REASONS[names[c]] for c in picked if c >= 0) or fallback for picked in picks[first].tolist()]
        return [said[k] for k in which.tolist()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "coef": [round(float(c), 6) for c in self.coef],
            "intercept": round(float(self.intercept), 6),
            "meta": self.meta,
        }

    def save(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "model") -> PrerequisiteModel:
        if list(data.get("features", [])) != list(FEATURES):
            raise KGError(f"{origin} was trained on other features than this version computes; "
                          "retrain it with `kg train-prereqs`")
        return cls(np.asarray(data["coef"], dtype=np.float64), float(data["intercept"]), dict(data.get("meta", {})))


#: ``refit``: how much one of the author's answers weighs, as a share of the glossary's pairs the
#: model labels itself (at least as much as one of them): a lesson, not a new model.
ANSWER_SHARE = 0.01
#: ``refit``: at most this many of the glossary's pairs carry the model's own labels (evenly spaced).
REFIT_ROWS = 20_000


def refit(model: PrerequisiteModel, matrix: np.ndarray, settled: dict[int, int],
          share: float = ANSWER_SHARE) -> PrerequisiteModel:
    """``model`` refitted on the author's answers (``settled``: row of ``matrix`` -> 1 or 0),
    each weighing ``share`` of the glossary's own pairs, which are labelled by the model itself (a
    row counts q as a yes and 1 − q as a no): it stays the model where nobody answered and
    moves towards the answers, and towards them for pairs whose cues resemble theirs. What is
    added to ``model`` is the difference the answers make between two such fits.
    Deterministic (L-BFGS, no sampling: the pairs kept are evenly spaced)."""
    # heavy: scikit-learn (~0.5 s), loaded only when the author has answered something
    from sklearn.linear_model import LogisticRegression

    from kg.prereqs.training import REGULARIZATION

    if not settled or not len(matrix):
        return model
    step = max(1, len(matrix) // REFIT_ROWS)
    own = matrix[::step]
    chance = model.probabilities(own)
    weight = max(1.0, share * len(own))
    answered = np.fromiter(settled, dtype=np.int64, count=len(settled))
    labels = np.fromiter((settled[row] for row in answered.tolist()), dtype=np.float64, count=len(answered))

    def fitted(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
        regression = LogisticRegression(C=REGULARIZATION, max_iter=5000)
        regression.fit(x, y, sample_weight=w)
        return regression.coef_[0], float(regression.intercept_[0])

    # Fitted on a small glossary's own pairs alone, a model drifts from the one that learnt on
    # many: only what the answers add is kept (the fit with them, less the fit without them).
    base = fitted(np.vstack([own, own]), np.concatenate([np.ones(len(own)), np.zeros(len(own))]),
                  np.concatenate([chance, 1.0 - chance]))
    taught = fitted(np.vstack([own, own, matrix[answered]]),
                    np.concatenate([np.ones(len(own)), np.zeros(len(own)), labels]),
                    np.concatenate([chance, 1.0 - chance, np.full(len(answered), weight)]))
    meta = {**model.meta, "refitted_on_answers": len(answered)}
    return PrerequisiteModel(model.coef + (taught[0] - base[0]), model.intercept + (taught[1] - base[1]), meta)


def model_path(settings) -> Path:
    """The model ``settings`` name (``prerequisite_model``), else the one the package ships."""
    return Path(settings.prerequisite_model) if settings.prerequisite_model else MODEL_PATH


@lru_cache(maxsize=4)
def load_model(path: Path | str = MODEL_PATH) -> PrerequisiteModel:
    """The model stored at ``path`` (the packaged one by default).

    Raises:
        KGError: the file is missing, unreadable, or for other features.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KGError(f"cannot read the prerequisite model {path}: {error}; retrain it with `kg train-prereqs`") \
            from error
    return PrerequisiteModel.from_dict(data, origin=str(path))
