"""Run the product end to end: a simulated ESP32 fleet and a real Home Assistant watching it.

Started by ``scripts/demo``. It starts the simulator CLI and ``hass`` as child processes,
creates the demo account through Home Assistant's onboarding API, adds every simulated
device through the integration's real config flow, then either keeps running for the
browser (default) or prints a fleet table every 10 s (``--headless``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO / ".demo"
CONFIG_DIR = DEMO_DIR / "config"
DOMAIN = "predictive_maintenance"
CLIENT_ID = "http://127.0.0.1:{port}/"
DEMO_USER = "demo"
# A throwaway local account; the script prints it for the user.
DEMO_PASSWORD = "demo-fleet-2026"
TABLE_SENSORS = ("health_score", "risk_level", "anomaly_count", "failure_probability")
RECOVERY_EVENT = "predictive_maintenance_recovery"
# The demo fleet lives about 60x faster than real time (hours of a leak in minutes), so
# its limits are scaled too: the product defaults are a 30 min cooldown and 3 a day.
SELF_HEAL_OPTIONS = {
    "auto_recover": True,
    "auto_recover_risk": "high",
    "cooldown_minutes": 2,
    "max_attempts_per_day": 24,
}

CONFIGURATION_YAML = """\
# Written by scripts/demo. Only local integrations: no cloud, no zeroconf.
homeassistant:
  name: Predictive Maintenance demo
  unit_system: metric
  time_zone: UTC
  latitude: 52.37
  longitude: 4.89
  elevation: 0
  currency: EUR
  country: NL
http:
  server_host: 127.0.0.1
  server_port: {port}
frontend:
config:
history:
logbook:
recorder:
  purge_keep_days: 1
  commit_interval: 5
logger:
  default: warning
  logs:
    custom_components.predictive_maintenance: info
"""


@dataclass(frozen=True)
class SimulatedEndpoint:
    """One device the simulator CLI announced."""

    name: str
    port: int
    key: str | None
    ota_port: int | None = None


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__)
    parser.add_argument("--headless", action="store_true", help="no browser: print tables")
    parser.add_argument("--minutes", type=float, default=None, help="stop after N minutes")
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant HTTP port")
    parser.add_argument("--base-port", type=int, default=16053, help="first simulator port")
    parser.add_argument("--devices", type=int, default=7, help="number of simulated devices")
    parser.add_argument("--time-scale", type=float, default=None, help="simulated s per real s")
    parser.add_argument(
        "--plaintext",
        dest="encrypt",
        action="store_false",
        help="devices without API encryption (default: a Noise key per device)",
    )
    parser.add_argument("--encrypt", dest="encrypt", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--self-heal",
        action="store_true",
        help="turn on automatic recovery for every device (through the options flow)",
    )
    args = parser.parse_args()
    if args.headless and args.minutes is None:
        args.minutes = 3.0
    return args


def reset_if_mode_changed(encrypt: bool) -> None:
    """Start a fresh config dir when switching between encrypted and plaintext devices.

    Entries keep the key they were added with, so a switch would leave every device
    refusing its stored settings.
    """
    mode = "encrypted" if encrypt else "plaintext"
    marker = DEMO_DIR / "mode"
    # Config dirs from before the marker existed were made by the plaintext-only demo.
    previous = marker.read_text(encoding="utf-8").strip() if marker.exists() else "plaintext"
    if previous is not None and previous != mode and CONFIG_DIR.exists():
        print(f"demo devices are now {mode}: starting a fresh {CONFIG_DIR.name}/", flush=True)
        shutil.rmtree(CONFIG_DIR)
    marker.write_text(mode, encoding="utf-8")


def prepare_config_dir(http_port: int) -> None:
    """Write configuration.yaml, link the integration, pre-mark non-user onboarding steps."""
    (CONFIG_DIR / "custom_components").mkdir(parents=True, exist_ok=True)
    (CONFIG_DIR / "configuration.yaml").write_text(
        CONFIGURATION_YAML.format(port=http_port), encoding="utf-8"
    )
    link = CONFIG_DIR / "custom_components" / DOMAIN
    target = REPO / "custom_components" / DOMAIN
    if (link.is_symlink() or link.exists()) and link.resolve() != target:
        link.unlink()
    if not link.exists():
        link.symlink_to(target, target_is_directory=True)
    storage = CONFIG_DIR / ".storage"
    storage.mkdir(exist_ok=True)
    onboarding = storage / "onboarding"
    if not onboarding.exists():
        # The core_config step would start cloud-backed integrations (weather, radio);
        # marking it done keeps the demo offline. The user step runs for real below.
        onboarding.write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["core_config", "analytics", "integration"]},
                }
            ),
            encoding="utf-8",
        )


def start_simulator(
    args: argparse.Namespace,
) -> tuple[subprocess.Popen[str], list[SimulatedEndpoint]]:
    """Start the simulator CLI and read the devices it announces."""
    command = [
        sys.executable,
        "-m",
        "simulator",
        "--devices",
        str(args.devices),
        "--base-port",
        str(args.base_port),
        "--seed",
        str(args.seed),
        "--push-interval",
        "1",
    ]
    if args.time_scale is not None:
        command += ["--time-scale", str(args.time_scale)]
    if args.encrypt:
        command.append("--encrypt")
    # The demo catalogue (current build, a security patch, a bad build) in HA's config dir.
    command += ["--catalogue", str(CONFIG_DIR / "predictive_maintenance" / "firmware")]
    log = (DEMO_DIR / "simulator.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1
    )
    assert process.stdout is not None
    endpoints: list[SimulatedEndpoint] = []
    deadline = time.monotonic() + 30
    while len(endpoints) < args.devices and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        endpoint = parse_endpoint(line)
        if endpoint is not None:
            endpoints.append(endpoint)
    if len(endpoints) < args.devices:
        process.terminate()
        raise SystemExit(f"simulator announced {len(endpoints)} devices; see .demo/simulator.log")
    return process, endpoints


def parse_endpoint(line: str) -> SimulatedEndpoint | None:
    """Read one 'name port key' row of the simulator's table; headers and rules give None."""
    fields = line.split()
    if len(fields) < 3 or not fields[1].isdigit():
        return None
    key = None if fields[2] in {"-", "none", "None"} else fields[2]
    ota_port = int(fields[4]) if len(fields) > 4 and fields[4].isdigit() else None
    return SimulatedEndpoint(name=fields[0], port=int(fields[1]), key=key, ota_port=ota_port)


def start_hass() -> subprocess.Popen[bytes]:
    """Start Home Assistant on the demo config dir."""
    hass = Path(sys.executable).with_name("hass")
    log = (DEMO_DIR / "hass.stdout.log").open("wb")
    return subprocess.Popen(
        [str(hass), "-c", str(CONFIG_DIR), "--skip-pip", "--log-file", str(DEMO_DIR / "hass.log")],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


class HomeAssistantClient:
    """The few REST and websocket calls the demo needs."""

    def __init__(self, session: aiohttp.ClientSession, port: int) -> None:
        self._session = session
        self._base = f"http://127.0.0.1:{port}"
        self._client_id = CLIENT_ID.format(port=port)
        self._token = ""
        self._refresh_token = ""
        self._token_expires = 0.0
        self.entry_ids: dict[str, str] = {}

    async def wait_until_up(self, process: subprocess.Popen[bytes], limit: float) -> None:
        """Wait for the HTTP API: /api/ answers 401 without a token once it is up."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit("Home Assistant exited; see .demo/hass.log")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self._session.get(f"{self._base}/api/") as response:
                    if response.status in {HTTPStatus.OK, HTTPStatus.UNAUTHORIZED}:
                        return
            await asyncio.sleep(1)
        raise SystemExit("Home Assistant did not come up; see .demo/hass.log")

    async def log_in(self) -> None:
        """Create the demo owner on first run, otherwise log in with its password."""
        # Once onboarding is complete Home Assistant no longer serves its API (404).
        async with self._session.get(f"{self._base}/api/onboarding") as response:
            steps = {}
            if response.status == HTTPStatus.OK:
                steps = {step["step"]: step["done"] for step in await response.json()}
        if not steps.get("user", True):
            payload = {
                "name": "Demo",
                "username": DEMO_USER,
                "password": DEMO_PASSWORD,
                "client_id": self._client_id,
                "language": "en",
            }
            async with self._session.post(
                f"{self._base}/api/onboarding/users", json=payload
            ) as response:
                response.raise_for_status()
                code = (await response.json())["auth_code"]
        else:
            code = await self._login_flow()
        await self._exchange({"grant_type": "authorization_code", "code": code})

    async def _login_flow(self) -> str:
        async with self._session.post(
            f"{self._base}/auth/login_flow",
            json={
                "client_id": self._client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self._client_id,
            },
        ) as response:
            response.raise_for_status()
            flow_id = (await response.json())["flow_id"]
        async with self._session.post(
            f"{self._base}/auth/login_flow/{flow_id}",
            json={"client_id": self._client_id, "username": DEMO_USER, "password": DEMO_PASSWORD},
        ) as response:
            result = await response.json()
        if result.get("type") != "create_entry":
            raise SystemExit("could not log in as the demo user; delete .demo/ and retry")
        return str(result["result"])

    async def _exchange(self, grant: dict[str, str]) -> None:
        async with self._session.post(
            f"{self._base}/auth/token", data={**grant, "client_id": self._client_id}
        ) as response:
            response.raise_for_status()
            tokens = await response.json()
        self._token = tokens["access_token"]
        self._refresh_token = tokens.get("refresh_token", self._refresh_token)
        self._token_expires = time.monotonic() + float(tokens["expires_in"]) - 60

    async def _headers(self) -> dict[str, str]:
        if time.monotonic() > self._token_expires:
            await self._exchange(
                {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
            )
        return {"Authorization": f"Bearer {self._token}"}

    async def add_device(self, endpoint: SimulatedEndpoint) -> str:
        """Run the integration's config flow for one device; return how it ended."""
        headers = await self._headers()
        async with self._session.post(
            f"{self._base}/api/config/config_entries/flow",
            json={"handler": DOMAIN, "show_advanced_options": False},
            headers=headers,
        ) as response:
            response.raise_for_status()
            step = await response.json()
        if step.get("type") == "menu":
            async with self._session.post(
                f"{self._base}/api/config/config_entries/flow/{step['flow_id']}",
                json={"next_step_id": "manual"},
                headers=headers,
            ) as response:
                step = await response.json()
        if step.get("type") != "form":
            return str(step.get("reason", step.get("type")))
        user_input: dict[str, Any] = {"host": "127.0.0.1", "port": endpoint.port}
        if endpoint.key:
            user_input["noise_psk"] = endpoint.key
        async with self._session.post(
            f"{self._base}/api/config/config_entries/flow/{step['flow_id']}",
            json=user_input,
            headers=headers,
        ) as response:
            result = await response.json()
        if result.get("type") == "create_entry":
            self.entry_ids[endpoint.name] = str(result["result"]["entry_id"])
            return "added"
        if result.get("type") == "abort":
            return str(result.get("reason"))
        return f"form errors {result.get('errors')}"

    async def set_ota_port(self, endpoint: SimulatedEndpoint) -> bool:
        """Store the device's OTA port (ESPHome does not report it) through the options flow."""
        if endpoint.ota_port is None:
            return False
        headers = await self._headers()
        entry_id = self.entry_ids.get(endpoint.name)
        if entry_id is None:  # added by an earlier run: find it by its title
            async with self._session.get(
                f"{self._base}/api/config/config_entries/entry",
                params={"domain": DOMAIN},
                headers=headers,
            ) as response:
                response.raise_for_status()
                entries = await response.json()
            entry_id = next(
                (
                    str(e["entry_id"])
                    for e in entries
                    if e["title"].lower().replace(" ", "-") == endpoint.name
                ),
                None,
            )
        if entry_id is None:
            return False
        async with self._session.post(
            f"{self._base}/api/config/config_entries/options/flow",
            json={"handler": entry_id},
            headers=headers,
        ) as response:
            response.raise_for_status()
            step = await response.json()
        async with self._session.post(
            f"{self._base}/api/config/config_entries/options/flow/{step['flow_id']}",
            json={"ota_port": endpoint.ota_port},
            headers=headers,
        ) as response:
            result = await response.json()
        return result.get("type") == "create_entry"

    async def set_self_heal(self, enabled: bool) -> list[str]:
        """Turn the recovery policy of every entry on or off through the options flow.

        Options persist in .demo/, so a run without --self-heal turns it off again.
        """
        headers = await self._headers()
        async with self._session.get(
            f"{self._base}/api/config/config_entries/entry",
            params={"domain": DOMAIN},
            headers=headers,
        ) as response:
            response.raise_for_status()
            entries = await response.json()
        changed: list[str] = []
        for entry in entries:
            async with self._session.post(
                f"{self._base}/api/config/config_entries/options/flow",
                json={"handler": entry["entry_id"]},
                headers=headers,
            ) as response:
                response.raise_for_status()
                step = await response.json()
            async with self._session.post(
                f"{self._base}/api/config/config_entries/options/flow/{step['flow_id']}",
                json={**SELF_HEAL_OPTIONS, "auto_recover": enabled},
                headers=headers,
            ) as response:
                result = await response.json()
            if result.get("type") == "create_entry":
                changed.append(entry["title"])
        return changed

    async def follow_recoveries(self) -> None:
        """Print one line per recovery event the integration fires on the bus."""
        headers = await self._headers()
        async with self._session.ws_connect(
            f"{self._base}/api/websocket", timeout=aiohttp.ClientWSTimeout(ws_close=10)
        ) as socket:
            await socket.receive_json()
            await socket.send_json({"type": "auth", "access_token": headers["Authorization"][7:]})
            if (await socket.receive_json()).get("type") != "auth_ok":
                raise SystemExit("websocket authentication failed")
            await socket.send_json(
                {"id": 1, "type": "subscribe_events", "event_type": RECOVERY_EVENT}
            )
            async for message in socket:
                data = json.loads(message.data).get("event", {}).get("data")
                if data:
                    print(recovery_line(data), flush=True)

    async def websocket_calls(self, *calls: dict[str, Any]) -> list[Any]:
        """Send websocket commands in one session and return their results in order."""
        headers = await self._headers()
        results: list[Any] = []
        async with self._session.ws_connect(f"{self._base}/api/websocket") as socket:
            await socket.receive_json()
            await socket.send_json({"type": "auth", "access_token": headers["Authorization"][7:]})
            if (await socket.receive_json()).get("type") != "auth_ok":
                raise SystemExit("websocket authentication failed")
            for number, call in enumerate(calls, start=1):
                await socket.send_json({"id": number, **call})
                while True:
                    message = await socket.receive_json()
                    if message.get("id") == number and message.get("type") == "result":
                        results.append(message.get("result"))
                        break
        return results


async def fleet_table(client: HomeAssistantClient) -> str:
    """Render one table of every monitored device from the live state machine."""
    entities, devices, states = await client.websocket_calls(
        {"type": "config/entity_registry/list"},
        {"type": "config/device_registry/list"},
        {"type": "get_states"},
    )
    state_by_id = {state["entity_id"]: state for state in states}
    device_names = {
        device["id"]: device.get("name_by_user") or device["name"] for device in devices
    }
    rows: dict[str, dict[str, str]] = {}
    for entity in entities:
        if entity.get("platform") != DOMAIN or entity.get("device_id") is None:
            continue
        row = rows.setdefault(device_names.get(entity["device_id"], "?"), {})
        current = state_by_id.get(entity["entity_id"], {})
        if entity["entity_id"].startswith("event."):
            # The recovery event entity: its last event type, e.g. recovery_succeeded.
            row["recovery"] = current.get("attributes", {}).get("event_type") or "-"
            continue
        key = sensor_key(entity)
        if key is None:
            continue
        row[key] = current.get("state", "unknown")
    header = (
        f"{'device':<22}{'online':<8}{'health':>8}  {'risk':<10}{'anomalies':>10}{'fail prob':>11}"
        f"  {'last recovery':<20}"
    )
    lines = [time.strftime("%H:%M:%S"), header, "-" * len(header)]
    for name in sorted(rows):
        # An unavailable or unknown state would not fit its column; "online" says why.
        row = {
            key: "-" if value in {"unavailable", "unknown"} else value
            for key, value in rows[name].items()
        }
        online = "no" if row.get("health_score") in {"-", None} else "yes"
        lines.append(
            f"{name:<22}{online:<8}{row.get('health_score', '-'):>8}  "
            f"{row.get('risk_level', '-'):<10}{row.get('anomaly_count', '-'):>10}"
            f"{row.get('failure_probability', '-'):>11}  {row.get('recovery', '-'):<20}"
        )
    return "\n".join(line.rstrip() for line in lines)


def recovery_line(data: dict[str, Any]) -> str:
    """One line for a predictive_maintenance_recovery event."""
    details = f": {data['details']}" if data.get("details") else ""
    return (
        f"{time.strftime('%H:%M:%S')} recovery {data.get('device_name')} "
        f"{data.get('issue_type')}/{data.get('subtype')} {data.get('action')} "
        f"{data.get('phase')} (by {data.get('trigger')}){details}"
    )


def sensor_key(entity: dict[str, Any]) -> str | None:
    """Which table column an entity of ours fills, from its translation key or unique id."""
    candidates = (entity.get("translation_key") or "", entity.get("unique_id") or "")
    for key in TABLE_SENSORS:
        if any(candidate == key or candidate.endswith(f"_{key}") for candidate in candidates):
            return key
    return None


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """Ask a child to stop, then insist."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def run(args: argparse.Namespace) -> int:
    """Start everything, wire it together, show the fleet, stop cleanly."""
    DEMO_DIR.mkdir(exist_ok=True)
    reset_if_mode_changed(args.encrypt)
    prepare_config_dir(args.port)
    simulator, endpoints = start_simulator(args)
    hass = start_hass()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None

    def on_signal() -> None:
        # While starting up there is nothing to finish: abandon the start and clean up.
        if not stop.is_set() and not monitoring:
            main_task.cancel()
        stop.set()

    monitoring = False
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            client = HomeAssistantClient(session, args.port)
            await client.wait_until_up(hass, limit=300)
            await client.log_in()
            for endpoint in endpoints:
                outcome = await client.add_device(endpoint)
                if await client.set_ota_port(endpoint):
                    outcome += f", OTA port {endpoint.ota_port}"
                print(f"{endpoint.name:<22} 127.0.0.1:{endpoint.port:<6} {outcome}", flush=True)
            print(
                f"\nHome Assistant: http://127.0.0.1:{args.port}  "
                f"login: {DEMO_USER} / {DEMO_PASSWORD}\n",
                flush=True,
            )
            follower = asyncio.create_task(client.follow_recoveries())
            changed = await client.set_self_heal(args.self_heal)
            if args.self_heal:
                print(f"self-healing on for {len(changed)} devices\n", flush=True)
            monitoring = True
            started = time.monotonic()
            deadline = None if args.minutes is None else started + args.minutes * 60
            while not stop.is_set():
                if args.headless:
                    print(await fleet_table(client), "\n", flush=True)
                if deadline is not None and time.monotonic() >= deadline:
                    break
                wait = 10.0 if deadline is None else min(10.0, deadline - time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(wait, 0.1))
            if args.headless:
                print(await fleet_table(client), flush=True)
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await follower
    except asyncio.CancelledError:
        print("interrupted", flush=True)
        return 130
    finally:
        stop_process(hass, timeout=60)
        stop_process(simulator, timeout=15)
    return 0


def main() -> None:
    """Entry point."""
    args = parse_args()
    os.chdir(REPO)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
