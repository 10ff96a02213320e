"""`python -m simulator` prints its table, serves, and exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from aioesphomeapi import APIClient

REPO_ROOT = Path(__file__).resolve().parents[2]


async def test_cli_serves_and_stops_on_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--devices",
        "6",
        "--base-port",
        "0",
        "--encrypt",
        "--seed",
        "4",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        lines: list[str] = []
        async with asyncio.timeout(30):
            while not lines or not lines[-1].startswith("serving"):
                line = await proc.stdout.readline()
                assert line, "simulator exited early"
                lines.append(line.decode().rstrip())
        header, *rows = lines[:-1]
        assert header.split() == ["name", "port", "key", "scenario"]
        table = {row.split()[0]: row.split() for row in rows}
        assert len(table) == 6
        assert "esp-replay" in table
        name, port, key, scenario = table["esp-leak"]
        assert key != "-"
        assert scenario == "memory_leak"

        client = APIClient("127.0.0.1", int(port), None, noise_psk=key)
        try:
            async with asyncio.timeout(10):
                await client.connect(login=True)
            assert (await client.device_info()).name == name
        finally:
            await client.disconnect(force=True)

        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            out, _err = await proc.communicate()
        assert proc.returncode == 0
        assert out.decode().strip().endswith("stopped")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_cli_plaintext_keys_are_dashes() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--devices",
        "2",
        "--base-port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(30):
            lines = [(await proc.stdout.readline()).decode() for _ in range(4)]
        assert lines[3].startswith("serving")
        assert all(line.split()[2] == "-" for line in lines[1:3])
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            await proc.communicate()
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
