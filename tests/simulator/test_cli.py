"""`python -m simulator` prints its table (and catalogue), serves, exits cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from aioesphomeapi import APIClient

REPO_ROOT = Path(__file__).resolve().parents[2]
OTA_MAGIC = bytes((0x6C, 0x26, 0xF7, 0x5C, 0x45))


async def ota_hello(port: int) -> bytes:
    """The device's answer to the OTA magic: 00 <protocol version>."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(OTA_MAGIC)
        async with asyncio.timeout(10):
            return await reader.readexactly(2)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_cli_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    catalogue = tmp_path / "firmware"
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
        "--catalogue",
        str(catalogue),
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
        header, *rows, catalogue_line = lines[:-1]
        assert header.split() == ["name", "port", "key", "scenario", "ota_port", "version"]
        table = {row.split()[0]: row.split() for row in rows}
        assert len(table) == 6
        assert "esp-replay" in table
        name, port, key, scenario, ota_port, version = table["esp-leak"]
        assert key != "-"
        assert scenario == "memory_leak"
        assert version == "1.0.0"
        assert await ota_hello(int(ota_port)) == b"\x00\x02"

        assert catalogue_line.split()[:2] == ["catalogue:", str(catalogue.resolve())]
        assert "1.0.1 (security)" in catalogue_line
        assert "1.1.0 (bad)" in catalogue_line
        manifests = sorted(p.relative_to(catalogue).as_posix() for p in catalogue.rglob("*.json"))
        assert manifests == [
            f"acme.env_sensor/{v}/manifest.json" for v in ("1.0.0", "1.0.1", "1.1.0")
        ]

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


async def test_cli_plaintext_keys_and_no_ota_are_dashes() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--devices",
        "2",
        "--base-port",
        "0",
        "--no-ota",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(30):
            lines = [(await proc.stdout.readline()).decode() for _ in range(4)]
        assert lines[3].startswith("serving")
        assert all(line.split()[2] == "-" for line in lines[1:3])
        assert all(line.split()[4] == "-" for line in lines[1:3])  # no OTA port
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            await proc.communicate()
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
