"""OTA upload throughput over loopback: our client against the simulator's OTA server.

Run from the repository root: ``.venv/bin/python -m benchmarks.ota [--runs N] [--size B]``.
Prints the throughput of each configuration and the median time per stage.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custom_components.predictive_maintenance.firmware import OTAClient, OTAResult, parse_image
from simulator.firmware_images import build_image
from simulator.ota import OTAAuth, OTAServer

STAGES = ("connect_auth", "prepare", "md5", "data", "end")
CONFIGS: tuple[tuple[str, str | None, OTAAuth], ...] = (
    ("no password", None, OTAAuth.SHA256),
    ("sha256 auth", "bench-password", OTAAuth.SHA256),
    ("md5 auth", "bench-password", OTAAuth.MD5),
)


async def _run(image: bytes, runs: int, password: str | None, auth: OTAAuth) -> list[OTAResult]:
    results = []
    async with OTAServer(password=password, auth=auth) as server:
        client = OTAClient("127.0.0.1", server.port, password=password)
        for _ in range(runs):
            results.append(await client.upload(image))
        await server.wait_idle()
        if any(received.data != image for received in server.images):
            raise SystemExit("the server received different bytes")
    return results


async def main(runs: int, size: int) -> None:
    image = build_image(project_name="bench.ota", version="1.0.0", size=size)
    info = parse_image(image)
    print(f"image: {info.project_name} {info.version}, {len(image):,} B, {runs} runs each")
    header = "".join(f"{stage:>14}" for stage in STAGES)
    print(f"{'config':<14}{'MB/s':>8}{'total ms':>10}{header}  (median ms)")
    for name, password, auth in CONFIGS:
        results = await _run(image, runs, password, auth)
        total = statistics.median(r.duration for r in results)
        data = statistics.median(r.stages["data"] for r in results)
        stages = "".join(
            f"{1000 * statistics.median(r.stages[s] for r in results):>14.2f}" for s in STAGES
        )
        print(f"{name:<14}{len(image) / total / 1e6:>8.1f}{1000 * total:>10.1f}{stages}")
        print(f"{'':<14}data phase alone: {len(image) / data / 1e6:.1f} MB/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--size", type=int, default=1_572_864)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.size))
