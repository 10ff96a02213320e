"""Command line: serve a fleet of simulated ESP32 devices until SIGINT/SIGTERM.

python -m simulator --devices 6 --base-port 16053 [--seed N] [--encrypt] [--time-scale X]
                    [--push-interval S] [--reboot-delay S] [--host H]
                    [--ota | --no-ota] [--ota-password PW] [--catalogue DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from .demo_catalogue import DemoRelease, write_demo_catalogue
from .fleet import DEMO_TIME_SCALE, Fleet


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=7, help="number of devices (default 7)")
    parser.add_argument("--base-port", type=int, default=16053, help="first port; 0 = ephemeral")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--encrypt", action="store_true", help="Noise encryption, key per device")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEMO_TIME_SCALE,
        help=f"simulated seconds per real second (default {DEMO_TIME_SCALE:g})",
    )
    parser.add_argument("--push-interval", type=float, default=1.0, help="real s between pushes")
    parser.add_argument("--reboot-delay", type=float, default=3.0)
    parser.add_argument(
        "--ota",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve ESPHome OTA on base-port + 1000 + index (default on)",
    )
    parser.add_argument("--ota-password", default=None, help="OTA password (default none)")
    parser.add_argument(
        "--catalogue",
        type=Path,
        default=None,
        metavar="DIR",
        help="write a firmware catalogue for the devices to DIR (current, security, bad build)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.devices < 1:
        parser.error("--devices must be at least 1")
    return args


def format_table(fleet: Fleet) -> str:
    # name, port, key first: scripts read those three columns.
    rows = [("name", "port", "key", "scenario", "ota_port", "version")]
    rows.extend(
        (
            dev.name,
            str(dev.port),
            dev.noise_psk or "-",
            dev.scenario,
            "-" if dev.ota_port is None else str(dev.ota_port),
            dev.firmware_version,
        )
        for dev in fleet
    )
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def format_catalogue(folder: Path, releases: list[DemoRelease]) -> str:
    """One line: where the catalogue is, and what it holds."""
    held = ", ".join(f"{r.project_name} {r.version} ({r.kind})" for r in releases)
    return f"catalogue: {folder.resolve()}  {held}"


async def serve(args: argparse.Namespace) -> None:
    fleet = Fleet.demo(
        base_port=args.base_port,
        seed=args.seed,
        time_scale=args.time_scale,
        devices=args.devices,
        encrypt=args.encrypt,
        push_interval=args.push_interval,
        reboot_delay=args.reboot_delay,
        host=args.host,
        ota=args.ota,
        ota_password=args.ota_password,
    )
    catalogue_line = None
    if args.catalogue is not None:
        releases = await asyncio.to_thread(write_demo_catalogue, args.catalogue, fleet)
        catalogue_line = format_catalogue(args.catalogue, releases)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await fleet.start()
        print(format_table(fleet), flush=True)
        if catalogue_line is not None:
            print(catalogue_line, flush=True)
        print("serving; Ctrl-C or SIGTERM to stop", flush=True)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await fleet.stop()
    print("stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("simulator").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        asyncio.run(serve(args))
    except OSError as err:
        print(f"simulator: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
