"""Config flow tests against simulated ESP32s speaking the real native API on 127.0.0.1.

The flow and the probe are never mocked; the device answers for real. Most tests keep the
integration's runtime from starting (async_setup_entry patched) because the flow is under
test; a few run the real runtime end to end (setup after the flow, reauth it asks for).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from aioesphomeapi.api_pb2 import DisconnectRequest, HelloResponse
from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_USER,
    SOURCE_ZEROCONF,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import format_mac
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    mock_integration,
)

from custom_components.predictive_maintenance.const import (
    CONF_DEVICE_NAME,
    CONF_NOISE_PSK,
    DOMAIN,
)
from custom_components.predictive_maintenance.device import probe
from custom_components.predictive_maintenance.device.probe import (
    CannotConnectError,
    DeviceNotEncryptedError,
    InvalidKeyError,
    RequiresKeyError,
    async_probe_device,
)
from simulator import SimulatedDevice

from .conftest import EntryFactory, SimDeviceFactory
from .helpers import wait_for

STRINGS = json.loads(
    (
        Path(__file__).resolve().parents[2]
        / "custom_components"
        / "predictive_maintenance"
        / "translations"
        / "en.json"
    ).read_text(encoding="utf-8")
)

MAC = "02:00:00:00:00:51"
OTHER_MAC = "02:00:00:00:00:52"
KEY = base64.b64encode(bytes(range(32))).decode()
NEW_KEY = base64.b64encode(bytes(range(100, 132))).decode()
WRONG_KEY = base64.b64encode(b"\x07" * 32).decode()
HOST = "127.0.0.1"
STALE_HOST = "192.0.2.10"  # TEST-NET-1: never answers
SETUP_ENTRY = "custom_components.predictive_maintenance.async_setup_entry"
UNLOAD_ENTRY = "custom_components.predictive_maintenance.async_unload_entry"
ESPHOME = "esphome"
PROBE_IN_FLOW = "custom_components.predictive_maintenance.config_flow.async_probe_device"

type DeviceFactory = Callable[..., Awaitable[SimulatedDevice]]
type EsphomeEntryFactory = Callable[..., MockConfigEntry]


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def make_device(sim_device: SimDeviceFactory) -> DeviceFactory:
    """Start simulated devices (the runtime's fixture) with this file's defaults."""

    async def _make(
        *,
        mac: str = MAC,
        name: str = "esp-flow",
        friendly_name: str = "ESP Flow",
        noise_psk: str | None = None,
        password: str | None = None,
    ) -> SimulatedDevice:
        return await sim_device(
            mac=mac,
            name=name,
            friendly_name=friendly_name,
            noise_psk=noise_psk,
            password=password,
        )

    return _make


@pytest.fixture
async def device(make_device: DeviceFactory) -> SimulatedDevice:
    """A plaintext device."""
    return await make_device()


@pytest.fixture
async def encrypted_device(make_device: DeviceFactory) -> SimulatedDevice:
    """A device with API encryption."""
    return await make_device(noise_psk=KEY)


@pytest.fixture
async def mock_setup_entry(hass: HomeAssistant) -> AsyncIterator[AsyncMock]:
    """Keep the runtime from starting when an entry is created or reloaded."""
    with (
        patch(SETUP_ENTRY, return_value=True) as mock,
        patch(UNLOAD_ENTRY, return_value=True),
    ):
        yield mock
        # Unload while the patches hold; HA's shutdown would call the real unload.
        for entry in hass.config_entries.async_entries(DOMAIN):
            if entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture
def add_esphome_entry(hass: HomeAssistant) -> EsphomeEntryFactory:
    """Add entries of a stand-in ESPHome integration, so the real one is never imported."""
    mock_integration(
        hass,
        MockModule(
            ESPHOME,
            async_setup_entry=AsyncMock(return_value=True),
            async_unload_entry=AsyncMock(return_value=True),
        ),
    )

    def _add(
        device: SimulatedDevice,
        *,
        noise_psk: str = "",
        mac: str = MAC,
        title: str = "ESP Flow",
        state: ConfigEntryState = ConfigEntryState.LOADED,
    ) -> MockConfigEntry:
        entry = MockConfigEntry(
            domain=ESPHOME,
            title=title,
            unique_id=format_mac(mac),
            data={
                CONF_HOST: device.host,
                CONF_PORT: device.port,
                "noise_psk": noise_psk,
                "password": "",
                "device_name": "esp-flow",
            },
        )
        entry.add_to_hass(hass)
        entry.mock_state(hass, state)
        return entry

    return _add


@pytest.fixture
async def free_port(socket_enabled: None) -> int:
    """A local port nothing listens on."""
    server = await asyncio.start_server(lambda r, w: None, HOST, 0)
    port: int = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return port


def _entry(
    hass: HomeAssistant,
    *,
    host: str = HOST,
    port: int,
    noise_psk: str = "",
    mac: str = MAC,
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="ESP Flow",
        unique_id=format_mac(mac),
        data={CONF_HOST: host, CONF_PORT: port, CONF_NOISE_PSK: noise_psk},
    )
    entry.add_to_hass(hass)
    return entry


# ---------------------------------------------------------------- flow helpers


def _check_translated(result: ConfigFlowResult) -> None:
    """Fail on anything the user would see as a raw key, like HA core's own test harness."""
    config = STRINGS["config"]
    if result["type"] is FlowResultType.FORM:
        step = config["step"][result["step_id"]]
        for error in (result.get("errors") or {}).values():
            assert error in config["error"], f"config.error.{error} is missing"
        provided = set(result.get("description_placeholders") or {})
        for text in (step.get("title", ""), step.get("description", "")):
            needed = set(re.findall(r"\{(\w+)\}", text))
            assert needed <= provided, f"{result['step_id']}: placeholders {needed - provided}"
        if (schema := result.get("data_schema")) is not None:
            for key in schema.schema:
                assert str(key) in step.get("data", {}), f"{result['step_id']}.data.{key}"
                # Quality scale (Bronze): every field explains itself.
                assert str(key) in step.get("data_description", {}), (
                    f"{result['step_id']}.data_description.{key}"
                )
    elif result["type"] is FlowResultType.MENU:
        labels = config["step"][result["step_id"]]["menu_options"]
        for option in result["menu_options"]:
            assert option in labels, f"menu option {option} is missing"
    elif result["type"] is FlowResultType.ABORT:
        assert result["reason"] in config["abort"], f"config.abort.{result['reason']}"


async def _start(
    hass: HomeAssistant, source: str = SOURCE_USER, data: Any = None
) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": source}, data=data
    )
    _check_translated(result)
    return result


async def _submit(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any] | None = None
) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    _check_translated(result)
    return result


def _address(device: SimulatedDevice, noise_psk: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {CONF_HOST: device.host, CONF_PORT: device.port}
    if noise_psk is not None:
        data[CONF_NOISE_PSK] = noise_psk
    return data


def _zeroconf(
    device: SimulatedDevice, *, mac: str | None = MAC, encrypted: bool = False
) -> ZeroconfServiceInfo:
    properties = {"friendly_name": "ESP Flow", "version": "2025.4.0", "platform": "ESP32"}
    if mac is not None:
        properties["mac"] = mac.replace(":", "").lower()
    if encrypted:
        properties["api_encryption"] = "Noise_NNpsk0_25519_ChaChaPoly_SHA256"
    return ZeroconfServiceInfo(
        ip_address=ip_address(device.host),
        ip_addresses=[ip_address(device.host)],
        hostname="esp-flow.local.",
        name="esp-flow._esphomelib._tcp.local.",
        port=device.port,
        properties=properties,
        type="_esphomelib._tcp.local.",
    )


def _assert_created(
    result: ConfigFlowResult, device: SimulatedDevice, noise_psk: str = "", mac: str = MAC
) -> None:
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "ESP Flow"
    assert result["data"] == {
        CONF_HOST: HOST,
        CONF_PORT: device.port,
        CONF_NOISE_PSK: noise_psk,
        CONF_DEVICE_NAME: device.name,
    }
    assert result["result"].unique_id == format_mac(mac)


# ---------------------------------------------------------------- probe


async def test_probe_reads_identity(hass: HomeAssistant, encrypted_device: SimulatedDevice) -> None:
    """The probe reports what the device says about itself, MAC normalised."""
    identity = await async_probe_device(HOST, encrypted_device.port, KEY)
    assert identity.mac == MAC.upper()
    assert identity.name == "esp-flow"
    assert identity.friendly_name == "ESP Flow"
    assert identity.title == "ESP Flow"
    assert identity.project_name == "acme.env_sensor"
    assert identity.uses_encryption is True
    # The probe hangs up again; a real ESP32 has only a few connection slots.
    await encrypted_device.wait_for_clients(0, timeout=10)


@pytest.mark.parametrize(
    ("key", "error"),
    [
        (None, RequiresKeyError),
        (WRONG_KEY, InvalidKeyError),
        ("not base64!", InvalidKeyError),
        (base64.b64encode(b"short").decode(), InvalidKeyError),
    ],
)
async def test_probe_key_errors(
    hass: HomeAssistant,
    encrypted_device: SimulatedDevice,
    key: str | None,
    error: type[Exception],
) -> None:
    """Key problems map to the probe's own errors."""
    with pytest.raises(error):
        await async_probe_device(HOST, encrypted_device.port, key)


async def test_probe_key_to_plaintext_device(hass: HomeAssistant, device: SimulatedDevice) -> None:
    """A key given to a plaintext device is reported as such, not as a wrong key."""
    with pytest.raises(DeviceNotEncryptedError):
        await async_probe_device(HOST, device.port, KEY)
    identity = await async_probe_device(HOST, device.port, "")
    assert identity.uses_encryption is False


async def test_probe_nothing_listening(hass: HomeAssistant, free_port: int) -> None:
    """A refused connection is a connection problem."""
    with pytest.raises(CannotConnectError):
        await async_probe_device(HOST, free_port, None)


async def test_probe_silent_device_times_out(
    hass: HomeAssistant, socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device that accepts TCP but never answers does not hang the flow."""
    held: list[asyncio.StreamWriter] = []

    async def _accept_and_hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(_accept_and_hold, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(probe, "PROBE_TIMEOUT", 0.5)
    try:
        with pytest.raises(CannotConnectError):
            await async_probe_device(HOST, port, None)
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def _plaintext_frame(msg_type: int, payload: bytes) -> bytes:
    def varuint(value: int) -> bytes:
        out = bytearray()
        while value > 0x7F:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
        return bytes(out)

    return b"\x00" + varuint(len(payload)) + varuint(msg_type) + payload


async def test_probe_goodbye_during_handshake(hass: HomeAssistant, socket_enabled: None) -> None:
    """A device that reboots in the middle of the handshake is a connection error, not a crash.

    The goodbye arrives in the same packet as the hello answer; aioesphomeapi 29.x then
    reports the torn-down connection as connected, and using it would crash the interpreter.
    """
    hello = HelloResponse(api_version_major=1, api_version_minor=10, name="esp-flow")
    packet = _plaintext_frame(2, hello.SerializeToString()) + _plaintext_frame(
        5, DisconnectRequest().SerializeToString()
    )
    writers: list[asyncio.StreamWriter] = []

    async def _hello_then_goodbye(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writers.append(writer)
        await reader.read(1024)
        writer.write(packet)
        await writer.drain()

    server = await asyncio.start_server(_hello_then_goodbye, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        for _ in range(3):
            with pytest.raises(CannotConnectError):
                await async_probe_device(HOST, port, None)
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


# ---------------------------------------------------------------- user step


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_plaintext(hass: HomeAssistant, device: SimulatedDevice) -> None:
    """Without ESPHome entries the user goes straight to the address form."""
    result = await _start(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "manual"
    assert result["errors"] == {}

    result = await _submit(hass, result, _address(device))
    _assert_created(result, device)


async def test_user_encrypted(
    hass: HomeAssistant, encrypted_device: SimulatedDevice, mock_setup_entry: AsyncMock
) -> None:
    """A key copied with quotes and spaces from YAML is cleaned up and stored."""
    result = await _start(hass)
    result = await _submit(hass, result, _address(encrypted_device, f' "{KEY}" '))
    _assert_created(result, encrypted_device, noise_psk=KEY)
    await hass.async_block_till_done()
    assert mock_setup_entry.call_count == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_cannot_connect_then_recovers(
    hass: HomeAssistant, device: SimulatedDevice
) -> None:
    """An offline device shows cannot_connect; once it is back, the same input works."""
    await device.go_offline()
    result = await _start(hass)
    result = await _submit(hass, result, _address(device))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "manual"
    assert result["errors"] == {"base": "cannot_connect"}

    await device.come_back()
    result = await _submit(hass, result, _address(device))
    _assert_created(result, device)


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("bad_key", [WRONG_KEY, "definitely not a key"])
async def test_user_invalid_key_then_recovers(
    hass: HomeAssistant, encrypted_device: SimulatedDevice, bad_key: str
) -> None:
    """A wrong or malformed key shows invalid_key; the right key then works."""
    result = await _start(hass)
    result = await _submit(hass, result, _address(encrypted_device, bad_key))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_key"}

    result = await _submit(hass, result, _address(encrypted_device, KEY))
    _assert_created(result, encrypted_device, noise_psk=KEY)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_requires_key_then_recovers(
    hass: HomeAssistant, encrypted_device: SimulatedDevice
) -> None:
    """No key for an encrypted device shows requires_key; adding the key then works."""
    result = await _start(hass)
    result = await _submit(hass, result, _address(encrypted_device))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "requires_key"}

    result = await _submit(hass, result, _address(encrypted_device, KEY))
    _assert_created(result, encrypted_device, noise_psk=KEY)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_key_for_plaintext_device_then_recovers(
    hass: HomeAssistant, device: SimulatedDevice
) -> None:
    """A key for a plaintext device is refused (no silent downgrade); an empty key works."""
    result = await _start(hass)
    result = await _submit(hass, result, _address(device, KEY))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "device_not_encrypted"}

    result = await _submit(hass, result, _address(device, ""))
    _assert_created(result, device)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_unknown_error_then_recovers(
    hass: HomeAssistant, device: SimulatedDevice, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected exception shows unknown and is logged; the next try works."""
    result = await _start(hass)
    with patch(PROBE_IN_FLOW, side_effect=RuntimeError("boom")):
        result = await _submit(hass, result, _address(device))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error" in caplog.text

    result = await _submit(hass, result, _address(device))
    _assert_created(result, device)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_legacy_password_then_recovers(
    hass: HomeAssistant, make_device: DeviceFactory
) -> None:
    """A device with the removed API password is refused before a broken entry exists."""
    device = await make_device(password="hunter2")
    result = await _start(hass)
    result = await _submit(hass, result, _address(device))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "password_not_supported"}

    # The user re-flashed the device without `api: password:`.
    device.config.password = None
    result = await _submit(hass, result, _address(device))
    _assert_created(result, device)


async def test_user_flow_starts_monitoring(hass: HomeAssistant, device: SimulatedDevice) -> None:
    """Without any patching the created entry sets up and connects to the device."""
    result = await _start(hass)
    result = await _submit(hass, result, _address(device))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    await device.wait_for_subscribers(1, timeout=30)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await device.wait_for_clients(0, timeout=30)


async def test_user_already_configured_updates_address(
    hass: HomeAssistant, device: SimulatedDevice, mock_setup_entry: AsyncMock
) -> None:
    """Adding a monitored device again aborts and moves the entry to the new address."""
    entry = _entry(hass, host=STALE_HOST, port=1234)
    result = await _start(hass)
    result = await _submit(hass, result, _address(device))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == {CONF_HOST: HOST, CONF_PORT: device.port, CONF_NOISE_PSK: ""}
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_adds_ignored_device(
    hass: HomeAssistant, add_esphome_entry: EsphomeEntryFactory, device: SimulatedDevice
) -> None:
    """A device whose discovery was ignored can still be picked and added by hand."""
    MockConfigEntry(domain=DOMAIN, source=SOURCE_IGNORE, unique_id=format_mac(MAC)).add_to_hass(
        hass
    )
    source = add_esphome_entry(device)
    result = await _start(hass)
    assert result["type"] is FlowResultType.MENU
    result = await _submit(hass, result, {"next_step_id": "esphome"})
    result = await _submit(hass, result, {"esphome_entry": source.entry_id})
    _assert_created(result, device)
    entries = hass.config_entries.async_entries(DOMAIN)
    assert [entry.source for entry in entries] == [SOURCE_USER]


async def test_key_never_logged(
    hass: HomeAssistant,
    encrypted_device: SimulatedDevice,
    mock_setup_entry: AsyncMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Neither a wrong nor the right key appears in the log, even at debug level."""
    caplog.set_level(logging.DEBUG)
    result = await _start(hass)
    result = await _submit(hass, result, _address(encrypted_device, WRONG_KEY))
    assert result["errors"] == {"base": "invalid_key"}
    result = await _submit(hass, result, _address(encrypted_device, KEY))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert KEY not in caplog.text
    assert WRONG_KEY not in caplog.text


# ---------------------------------------------------------------- zeroconf


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zeroconf_new_device(hass: HomeAssistant, device: SimulatedDevice) -> None:
    """A discovered plaintext device is confirmed and added."""
    result = await _start(hass, SOURCE_ZEROCONF, _zeroconf(device))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "discovery_confirm"
    assert result["description_placeholders"] == {"name": "ESP Flow", "host": HOST}

    result = await _submit(hass, result, {})
    _assert_created(result, device)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zeroconf_without_mac(hass: HomeAssistant, device: SimulatedDevice) -> None:
    """Old firmware announces no MAC; the probe supplies it."""
    result = await _start(hass, SOURCE_ZEROCONF, _zeroconf(device, mac=None))
    assert result["step_id"] == "discovery_confirm"
    result = await _submit(hass, result, {})
    _assert_created(result, device)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zeroconf_announced_encryption_asks_for_key(
    hass: HomeAssistant, encrypted_device: SimulatedDevice
) -> None:
    """A device announcing encryption gets the key step; a wrong key there can be fixed."""
    result = await _start(hass, SOURCE_ZEROCONF, _zeroconf(encrypted_device, encrypted=True))
    result = await _submit(hass, result, {})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "encryption_key"
    assert result["errors"] == {}

    result = await _submit(hass, result, {})
    assert result["step_id"] == "encryption_key"
    assert result["errors"] == {"base": "requires_key"}

    result = await _submit(hass, result, {CONF_NOISE_PSK: WRONG_KEY})
    assert result["step_id"] == "encryption_key"
    assert result["errors"] == {"base": "invalid_key"}

    result = await _submit(hass, result, {CONF_NOISE_PSK: KEY})
    _assert_created(result, encrypted_device, noise_psk=KEY)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zeroconf_announced_encryption_but_plaintext(
    hass: HomeAssistant, device: SimulatedDevice
) -> None:
    """An announcement that overstates encryption: a key is refused, an empty key is accepted."""
    result = await _start(hass, SOURCE_ZEROCONF, _zeroconf(device, encrypted=True))
    result = await _submit(hass, result, {})
    assert result["step_id"] == "encryption_key"
    result = await _submit(hass, result, {CONF_NOISE_PSK: KEY})
    assert result["errors"] == {"base": "device_not_encrypted"}
    result = await _submit(hass, result, {})
    _assert_created(result, device)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zeroconf_unannounced_encryption_asks_for_key(
    hass: HomeAssistant, encrypted_device: SimulatedDevice
) -> None:
    """When the TXT record does not say so, the device's refusal leads to the key step."""
    result = await _start(hass, SOURCE_ZEROCONF, _zeroconf(encrypted_device))
    result = await _submit(hass, result, {})
    assert result["step_id"] == "encryption_key"
    result = await _submit(hass, result, {CONF_NOISE_PSK: KEY})
    _assert_created(result, encrypted_device, noise_psk=KEY)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zeroconf_device_offline_then_back(
    hass: HomeAssistant, device: SimulatedDevice
) -> None:
    """A device that vanished after announcing itself can be confirmed again later."""
    result = await _start(hass, SOURCE_ZEROCONF, _zeroconf(device))
    await device.go_offline()
    result = await _submit(hass, result, {})
    assert result["step_id"] == "discovery_confirm"
    assert result["errors"] == {"base": "cannot_connect"}

    await device.come_back()
    result = await _submit(hass, result, {})
    _assert_created(result, device)


async def test_zeroconf_already_configured_updates_host(
    hass: HomeAssistant, device: SimulatedDevice
) -> None:
    """A known device announcing a new address aborts and updates the entry."""
    entry = _entry(hass, host=STALE_HOST, port=1234, noise_psk=KEY)
    result = await _start(hass, SOURCE_ZEROCONF, _zeroconf(device))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == {CONF_HOST: HOST, CONF_PORT: device.port, CONF_NOISE_PSK: KEY}


async def test_zeroconf_without_mac_already_configured(
    hass: HomeAssistant, device: SimulatedDevice
) -> None:
    """Without a MAC in the announcement, a known address is enough to stop the discovery."""
    _entry(hass, port=device.port)
    result = await _start(hass, SOURCE_ZEROCONF, _zeroconf(device, mac=None))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_zeroconf_twice_is_in_progress(hass: HomeAssistant, device: SimulatedDevice) -> None:
    """A second announcement while the first discovery is open does not open another."""
    await _start(hass, SOURCE_ZEROCONF, _zeroconf(device))
    result = await _start(hass, SOURCE_ZEROCONF, _zeroconf(device))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_in_progress"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_wins_over_open_discovery(
    hass: HomeAssistant, device: SimulatedDevice
) -> None:
    """Adding the device by hand while its discovery is open finishes the discovery too."""
    await _start(hass, SOURCE_ZEROCONF, _zeroconf(device))
    result = await _start(hass)
    result = await _submit(hass, result, _address(device))
    _assert_created(result, device)
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


# ---------------------------------------------------------------- reauth


async def _reauth_flow(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    """Start reauth the way the coordinator does and return the flow's first step."""
    entry.async_start_reauth(hass)
    await hass.async_block_till_done()
    flows = [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == "reauth"
    ]
    assert len(flows) == 1
    # Showing the step again returns the full form result, not just the progress summary.
    return await _submit(hass, {"flow_id": flows[0]["flow_id"]})  # type: ignore[typeddict-item]


async def test_reauth_new_key(
    hass: HomeAssistant, encrypted_device: SimulatedDevice, mock_setup_entry: AsyncMock
) -> None:
    """The device's key changed: a wrong key is refused, the new one is stored and reloaded."""
    entry = _entry(hass, port=encrypted_device.port, noise_psk=KEY)
    encrypted_device.set_noise_psk(NEW_KEY)

    result = await _reauth_flow(hass, entry)
    assert result["step_id"] == "reauth_confirm"

    result = await _submit(hass, result, {CONF_NOISE_PSK: KEY})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_key"}
    assert result["description_placeholders"] == {"name": "ESP Flow", "host": HOST}

    result = await _submit(hass, result, {})
    assert result["errors"] == {"base": "requires_key"}

    result = await _submit(hass, result, {CONF_NOISE_PSK: NEW_KEY})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == {
        CONF_HOST: HOST,
        CONF_PORT: encrypted_device.port,
        CONF_NOISE_PSK: NEW_KEY,
        CONF_DEVICE_NAME: "esp-flow",
    }
    await hass.async_block_till_done()
    assert mock_setup_entry.call_count == 1
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_started_by_runtime(
    hass: HomeAssistant, encrypted_device: SimulatedDevice, setup_entry: EntryFactory
) -> None:
    """End to end: the key changes, monitoring raises its repair, reauth still restores it.

    Monitoring raises a repair issue with its own fix flow instead of starting reauth (see
    README, "Repairs"); the reauth steps keep working when a reauth is started.
    """
    entry = await setup_entry(encrypted_device, noise_psk=KEY)
    # Fully connected first: a reboot in the middle of the runtime's handshake is another test.
    await encrypted_device.wait_for_subscribers(1, timeout=30)

    encrypted_device.set_noise_psk(NEW_KEY)
    await encrypted_device.restart()

    def _reauth_flows() -> list[Any]:
        return [
            flow
            for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
            if flow["context"]["source"] == "reauth"
        ]

    issue_id = f"encryption_key_{entry.entry_id}"
    await wait_for(
        lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None,
        hass=hass,
        fire_timers=True,
        what="key repair issue",
    )
    assert _reauth_flows() == []
    entry.async_start_reauth(hass)
    await wait_for(lambda: bool(_reauth_flows()), hass=hass, what="reauth")
    result = await _submit(hass, {"flow_id": _reauth_flows()[0]["flow_id"]})  # type: ignore[typeddict-item]
    assert result["step_id"] == "reauth_confirm"

    result = await _submit(hass, result, {CONF_NOISE_PSK: NEW_KEY})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_NOISE_PSK] == NEW_KEY
    assert entry.state is ConfigEntryState.LOADED
    await wait_for(
        lambda: encrypted_device.subscriber_count >= 1,
        hass=hass,
        fire_timers=True,
        what="monitoring with the new key",
    )


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_encryption_removed(
    hass: HomeAssistant, encrypted_device: SimulatedDevice
) -> None:
    """Encryption turned off: the user is told so and confirms the downgrade explicitly."""
    entry = _entry(hass, port=encrypted_device.port, noise_psk=KEY)
    encrypted_device.set_noise_psk(None)

    result = await _reauth_flow(hass, entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_encryption_removed"
    assert entry.data[CONF_NOISE_PSK] == KEY

    await encrypted_device.go_offline()
    result = await _submit(hass, result, {})
    assert result["step_id"] == "reauth_encryption_removed"
    assert result["errors"] == {"base": "cannot_connect"}

    await encrypted_device.come_back()
    result = await _submit(hass, result, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_NOISE_PSK] == ""


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_encryption_back_before_confirming(
    hass: HomeAssistant, encrypted_device: SimulatedDevice
) -> None:
    """Encryption came back (with a new key) while the downgrade question was open."""
    entry = _entry(hass, port=encrypted_device.port, noise_psk=KEY)
    encrypted_device.set_noise_psk(None)
    result = await _reauth_flow(hass, entry)
    assert result["step_id"] == "reauth_encryption_removed"

    encrypted_device.set_noise_psk(NEW_KEY)
    result = await _submit(hass, result, {})
    assert result["step_id"] == "reauth_confirm"
    result = await _submit(hass, result, {CONF_NOISE_PSK: NEW_KEY})
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_NOISE_PSK] == NEW_KEY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_key_for_plaintext_device(
    hass: HomeAssistant, device: SimulatedDevice
) -> None:
    """On the key form, a key for a device without encryption is refused; empty is accepted."""
    entry = _entry(hass, port=device.port, noise_psk=KEY)
    # Offline when reauth starts, so the flow cannot tell yet that encryption is gone.
    await device.go_offline()
    result = await _reauth_flow(hass, entry)
    assert result["step_id"] == "reauth_confirm"
    await device.come_back()

    result = await _submit(hass, result, {CONF_NOISE_PSK: KEY})
    assert result["errors"] == {"base": "device_not_encrypted"}
    result = await _submit(hass, result, {CONF_NOISE_PSK: ""})
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_NOISE_PSK] == ""


async def test_reauth_stored_key_works_again(
    hass: HomeAssistant, encrypted_device: SimulatedDevice, mock_setup_entry: AsyncMock
) -> None:
    """If the stored key works by the time reauth starts, the entry is just reloaded."""
    entry = _entry(hass, port=encrypted_device.port, noise_psk=KEY)
    entry.async_start_reauth(hass)
    await hass.async_block_till_done()
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert entry.data[CONF_NOISE_PSK] == KEY
    assert mock_setup_entry.call_count == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_device_offline_then_back(
    hass: HomeAssistant, encrypted_device: SimulatedDevice
) -> None:
    """A device that is offline during reauth can be retried."""
    entry = _entry(hass, port=encrypted_device.port, noise_psk=KEY)
    encrypted_device.set_noise_psk(NEW_KEY)
    await encrypted_device.go_offline()

    result = await _reauth_flow(hass, entry)
    result = await _submit(hass, result, {CONF_NOISE_PSK: NEW_KEY})
    assert result["errors"] == {"base": "cannot_connect"}

    await encrypted_device.come_back()
    result = await _submit(hass, result, {CONF_NOISE_PSK: NEW_KEY})
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_NOISE_PSK] == NEW_KEY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_other_device(hass: HomeAssistant, encrypted_device: SimulatedDevice) -> None:
    """Another board answering with the new key is not taken for this entry."""
    entry = _entry(hass, port=encrypted_device.port, noise_psk=KEY)
    encrypted_device.set_noise_psk(NEW_KEY)
    encrypted_device.set_mac(OTHER_MAC)

    result = await _reauth_flow(hass, entry)
    result = await _submit(hass, result, {CONF_NOISE_PSK: NEW_KEY})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert entry.data[CONF_NOISE_PSK] == KEY


# ---------------------------------------------------------------- reconfigure


async def test_reconfigure_new_port(
    hass: HomeAssistant,
    encrypted_device: SimulatedDevice,
    free_port: int,
    mock_setup_entry: AsyncMock,
) -> None:
    """Move the entry to where the device now is; a dead address first shows an error."""
    entry = _entry(hass, host=STALE_HOST, port=1234, noise_psk=KEY)
    result = await entry.start_reconfigure_flow(hass)
    _check_translated(result)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await _submit(hass, result, {CONF_HOST: HOST, CONF_PORT: free_port})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    result = await _submit(hass, result, {CONF_HOST: HOST, CONF_PORT: encrypted_device.port})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_HOST: HOST,
        CONF_PORT: encrypted_device.port,
        CONF_NOISE_PSK: KEY,
        CONF_DEVICE_NAME: "esp-flow",
    }
    await hass.async_block_till_done()
    assert mock_setup_entry.call_count == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_other_device(
    hass: HomeAssistant, device: SimulatedDevice, make_device: DeviceFactory
) -> None:
    """An address where a different device answers is refused and nothing changes."""
    other = await make_device(mac=OTHER_MAC, name="esp-other", friendly_name="ESP Other")
    entry = _entry(hass, port=device.port)
    result = await entry.start_reconfigure_flow(hass)

    result = await _submit(hass, result, {CONF_HOST: HOST, CONF_PORT: other.port})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert entry.data[CONF_PORT] == device.port


# ---------------------------------------------------------------- reuse from ESPHome


@pytest.mark.usefixtures("mock_setup_entry")
async def test_esphome_reuse(
    hass: HomeAssistant, add_esphome_entry: EsphomeEntryFactory, encrypted_device: SimulatedDevice
) -> None:
    """Pick a device of the ESPHome integration: its host, port and key are reused."""
    source = add_esphome_entry(encrypted_device, noise_psk=KEY)

    result = await _start(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert set(result["menu_options"]) == {"esphome", "manual"}

    result = await _submit(hass, result, {"next_step_id": "esphome"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "esphome"
    options = result["data_schema"].schema["esphome_entry"].config["options"]
    assert options == [{"value": source.entry_id, "label": f"ESP Flow ({HOST})"}]

    result = await _submit(hass, result, {"esphome_entry": source.entry_id})
    _assert_created(result, encrypted_device, noise_psk=KEY)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_esphome_menu_manual(
    hass: HomeAssistant, add_esphome_entry: EsphomeEntryFactory, device: SimulatedDevice
) -> None:
    """The menu's manual option leads to the address form."""
    add_esphome_entry(device)
    result = await _start(hass)
    result = await _submit(hass, result, {"next_step_id": "manual"})
    assert result["step_id"] == "manual"
    result = await _submit(hass, result, _address(device))
    _assert_created(result, device)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_esphome_reuse_device_offline_then_back(
    hass: HomeAssistant, add_esphome_entry: EsphomeEntryFactory, device: SimulatedDevice
) -> None:
    """A picked device that does not answer shows cannot_connect and can be retried."""
    source = add_esphome_entry(device)
    result = await _start(hass)
    result = await _submit(hass, result, {"next_step_id": "esphome"})
    await device.go_offline()
    result = await _submit(hass, result, {"esphome_entry": source.entry_id})
    assert result["step_id"] == "esphome"
    assert result["errors"] == {"base": "cannot_connect"}

    await device.come_back()
    result = await _submit(hass, result, {"esphome_entry": source.entry_id})
    _assert_created(result, device)


async def test_esphome_only_unmonitored_loaded_entries(
    hass: HomeAssistant,
    add_esphome_entry: EsphomeEntryFactory,
    device: SimulatedDevice,
    make_device: DeviceFactory,
) -> None:
    """Devices already monitored, and ESPHome entries that are not loaded, are not offered."""
    other = await make_device(mac=OTHER_MAC, name="esp-other", friendly_name="ESP Other")
    _entry(hass, port=device.port)
    add_esphome_entry(device)
    add_esphome_entry(other, mac=OTHER_MAC, title="ESP Other", state=ConfigEntryState.SETUP_RETRY)

    result = await _start(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "manual"


async def test_esphome_step_without_candidates_aborts(
    hass: HomeAssistant, add_esphome_entry: EsphomeEntryFactory, device: SimulatedDevice
) -> None:
    """If the offered device went away before it was picked, the flow says so."""
    source = add_esphome_entry(device)
    result = await _start(hass)
    source.mock_state(hass, ConfigEntryState.NOT_LOADED)
    result = await _submit(hass, result, {"next_step_id": "esphome"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_esphome_devices"


async def test_esphome_picked_device_gone(
    hass: HomeAssistant,
    add_esphome_entry: EsphomeEntryFactory,
    device: SimulatedDevice,
    make_device: DeviceFactory,
) -> None:
    """A device unloaded between showing and picking gets an error, not a crash."""
    other = await make_device(mac=OTHER_MAC, name="esp-other", friendly_name="ESP Other")
    source = add_esphome_entry(device)
    add_esphome_entry(other, mac=OTHER_MAC, title="ESP Other")
    result = await _start(hass)
    result = await _submit(hass, result, {"next_step_id": "esphome"})
    source.mock_state(hass, ConfigEntryState.NOT_LOADED)
    result = await _submit(hass, result, {"esphome_entry": source.entry_id})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "esphome_device_unavailable"}
