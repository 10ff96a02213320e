"""A group of simulated devices, and the demo fleet with one device per scenario."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterable, Iterator
from types import TracebackType

from .device import DeviceConfig, SimulatedDevice

DEMO_TIME_SCALE = 60.0
# Order matters: with 6 devices the second healthy one is left out, never a fault.
DEMO_MIX: tuple[tuple[str, str], ...] = (
    ("healthy", "esp-healthy-1"),
    ("memory_leak", "esp-leak"),
    ("overheating", "esp-overheat"),
    ("wifi_degradation", "esp-wifi"),
    ("crash_loop", "esp-crashloop"),
    ("replay", "esp-replay"),
    ("healthy", "esp-healthy-2"),
)
DEMO_MIN_DEVICES = 6
# Device i's OTA port is base_port + OTA_PORT_OFFSET + i.
OTA_PORT_OFFSET = 1000


def demo_key(seed: int, name: str) -> str:
    """A stable API encryption key per (seed, device name), so demo configs survive restarts."""
    return base64.b64encode(hashlib.sha256(f"simulator/{seed}/{name}".encode()).digest()).decode()


def _friendly(name: str) -> str:
    return " ".join(part.capitalize() for part in name.removeprefix("esp-").split("-")).join(
        ("ESP ", "")
    )


def demo_layout(count: int) -> list[tuple[str, str]]:
    """(scenario, name) per device: the demo mix from 6 devices on, healthy ones below that."""
    if count < DEMO_MIN_DEVICES:
        return [("healthy", f"esp-sim-{i + 1}") for i in range(count)]
    layout = list(DEMO_MIX[:count])
    if count == DEMO_MIN_DEVICES:
        layout = [entry for entry in DEMO_MIX if entry[1] != "esp-healthy-2"]
    layout.extend(("healthy", f"esp-healthy-{i}") for i in range(3, count - len(DEMO_MIX) + 3))
    return layout


class Fleet:
    """Starts and stops a set of devices together."""

    def __init__(self, devices: Iterable[SimulatedDevice]) -> None:
        self.devices: list[SimulatedDevice] = list(devices)

    @classmethod
    def demo(
        cls,
        base_port: int = 16053,
        seed: int = 1,
        time_scale: float = DEMO_TIME_SCALE,
        *,
        devices: int = len(DEMO_MIX),
        encrypt: bool = False,
        push_interval: float | None = 1.0,
        reboot_delay: float = 3.0,
        host: str = "127.0.0.1",
        ota: bool = True,
        ota_password: str | None = None,
        boot_is_good_after: float = 60.0,
    ) -> Fleet:
        """The demo fleet: 2 healthy, memory_leak, overheating, wifi_degradation, crash_loop and
        a device replaying the NAB machine temperature trace. base_port 0 = ephemeral ports.

        With `ota` every device serves ESPHome OTA on base_port + 1000 + its index (ephemeral
        with base_port 0); all run acme.env_sensor 1.0.0 (see `write_demo_catalogue`)."""
        built = []
        for index, (scenario, name) in enumerate(demo_layout(devices)):
            ota_port = (base_port + OTA_PORT_OFFSET + index if base_port else 0) if ota else None
            built.append(
                SimulatedDevice(
                    DeviceConfig(
                        name=name,
                        friendly_name=_friendly(name),
                        mac=f"02:00:00:00:{(index + 1) >> 8:02X}:{(index + 1) & 0xFF:02X}",
                        host=host,
                        port=base_port + index if base_port else 0,
                        noise_psk=demo_key(seed, name) if encrypt else None,
                        scenario=scenario,
                        seed=seed * 1000 + index,
                        push_interval=push_interval,
                        time_scale=time_scale,
                        reboot_delay=reboot_delay,
                        ota_port=ota_port,
                        ota_password=ota_password,
                        boot_is_good_after=boot_is_good_after,
                    )
                )
            )
        return cls(built)

    def __iter__(self) -> Iterator[SimulatedDevice]:
        return iter(self.devices)

    def __len__(self) -> int:
        return len(self.devices)

    def device(self, name: str) -> SimulatedDevice:
        """The device called `name`; KeyError if there is none."""
        for dev in self.devices:
            if dev.name == name:
                return dev
        raise KeyError(name)

    async def start(self) -> None:
        """Start every device; if one fails, the ones already started are stopped again."""
        try:
            for dev in self.devices:
                await dev.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await asyncio.gather(*(dev.stop() for dev in self.devices))

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
