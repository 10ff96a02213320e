"""Run the detector over one NAB-format file: python benchmarks/nab_detect.py IN.csv OUT.csv."""

from __future__ import annotations

import argparse
from pathlib import Path

from nab_io import detect, epoch_seconds, read_series, write_scores


def main() -> None:
    """Read timestamp,value; write timestamp,value,anomaly_score (one pass, no look-ahead)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    stamps, values = read_series(args.input)
    scores = detect(values, epoch_seconds(stamps))
    write_scores(args.output, stamps, values, scores)
    print(f"{args.input.name}: {values.size} rows -> {args.output}")


if __name__ == "__main__":
    main()
