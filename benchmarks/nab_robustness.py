"""How much of the NAB score is the detector and how much is luck of the chosen point.

python benchmarks/nab_robustness.py [--data DIR --windows FILE] [--set NAME=VALUE ...]

Prints the three profiles on the whole subset, on the real files only, and on two folds
(fold A: files at even positions of the sorted list, fold B: odd positions), then the
standard score averaged over 18 settings around the defaults (z threshold 2.9/3.0/3.1 x
suppression 170/200/230 x peak ratio 0.55/0.65). One event more or less changes the
cooldowns that follow, so neighbouring settings differ by points; a change to the detector
is a gain when it lifts this neighbourhood mean, on both folds.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import _analytics_path  # noqa: F401
import analytics  # type: ignore[import-not-found]
import numpy as np
from nab_io import detect
from nab_score import DEFAULT_NAB, load_corpus
from nab_scoring import PROFILES, optimise

NEIGHBOURHOOD = {
    "z_threshold": (2.9, 3.0, 3.1),
    "suppress_samples": (170, 200, 230),
    "peak_ratio": (0.55, 0.65),
}


def parse_overrides(pairs: list[str]) -> dict[str, float]:
    """NAME=VALUE pairs as DetectorConfig keyword arguments."""
    out: dict[str, float] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        out[name] = float(value) if "." in value or "e" in value else int(value)
    return out


def main() -> None:
    """Print subset, real-file and fold scores, then the neighbourhood mean."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_NAB / "data")
    parser.add_argument("--windows", type=Path, default=DEFAULT_NAB / "windows.json")
    parser.add_argument("--set", nargs="*", default=[], help="DetectorConfig NAME=VALUE")
    args = parser.parse_args()
    names, values, times, labels = load_corpus(args.data, args.windows)
    subsets = {
        "all": list(range(len(names))),
        "real": [i for i, name in enumerate(names) if name.startswith("real")],
        "fold A": list(range(0, len(names), 2)),
        "fold B": list(range(1, len(names), 2)),
    }
    base = parse_overrides(args.set)

    def scores(overrides: dict[str, float]) -> dict[str, list[float]]:
        config = analytics.DetectorConfig(**{**base, **overrides})
        rows = [detect(v, t, config) for v, t in zip(values, times, strict=True)]
        return {
            subset: [
                optimise([rows[i] for i in idx], [labels[i] for i in idx], weights).score
                for weights in PROFILES.values()
            ]
            for subset, idx in subsets.items()
        }

    point = scores({})
    print(f"{'':8} " + "  ".join(f"{p:>14}" for p in PROFILES))
    for subset, row in point.items():
        print(f"{subset:8} " + "  ".join(f"{v:14.1f}" for v in row))
    grid = [
        dict(zip(NEIGHBOURHOOD, combo, strict=True))
        for combo in itertools.product(*NEIGHBOURHOOD.values())
    ]
    standard = np.array([[row[0] for row in scores(g).values()] for g in grid])
    mean = standard.mean(axis=0)
    print(
        f"neighbourhood mean, standard ({len(grid)} settings): "
        + ", ".join(f"{s} {m:.1f}" for s, m in zip(subsets, mean, strict=True))
        + f" (all: min {standard[:, 0].min():.1f}, max {standard[:, 0].max():.1f})"
    )


if __name__ == "__main__":
    main()
