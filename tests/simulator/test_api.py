"""The real aioesphomeapi client against the simulator: identity, entities, states, errors."""

from __future__ import annotations

import asyncio

import pytest
from aioesphomeapi import (
    APIClient,
    APIConnectionError,
    ButtonInfo,
    EntityCategory,
    InvalidEncryptionKeyAPIError,
    RequiresEncryptionAPIError,
    SensorInfo,
    SensorState,
    SwitchInfo,
    TextSensorInfo,
    TextSensorState,
)
from aioesphomeapi.core import EncryptionPlaintextAPIError

from simulator import METRICS, fnv1_hash

from .conftest import KEY_A, KEY_B, ClientFactory, Collector, DeviceFactory

IDENTITY = {
    "name": "esp-ident",
    "friendly_name": "ESP Ident",
    "mac": "02:ab:cd:00:00:07",
    "project_name": "acme.env_sensor",
    "project_version": "2.6.3",
    "esphome_version": "2025.4.0",
    "model": "esp32dev",
}


def collect_states(client: APIClient) -> Collector:
    states = Collector()
    client.subscribe_states(states)
    return states


@pytest.mark.parametrize("noise_psk", [None, KEY_A], ids=["plaintext", "noise"])
async def test_device_info(
    make_device: DeviceFactory, make_client: ClientFactory, noise_psk: str | None
) -> None:
    dev = await make_device(noise_psk=noise_psk, **IDENTITY)
    client = await make_client(dev, noise_psk=noise_psk)
    info = await client.device_info()
    assert info.name == "esp-ident"
    assert info.friendly_name == "ESP Ident"
    assert info.mac_address == "02:AB:CD:00:00:07"
    assert info.manufacturer == "Espressif"
    assert info.model == "esp32dev"
    assert info.esphome_version == "2025.4.0"
    assert info.project_name == "acme.env_sensor"
    assert info.project_version == "2.6.3"
    assert info.compilation_time
    if hasattr(info, "api_encryption_supported"):
        assert info.api_encryption_supported is (noise_psk is not None)
    await dev.wait_for_clients(1)
    assert dev.client_count == 1


async def test_entity_list(make_device: DeviceFactory, make_client: ClientFactory) -> None:
    dev = await make_device()
    client = await make_client(dev)
    entities, _services = await client.list_entities_services()
    by_id = {entity.object_id: entity for entity in entities}
    assert set(by_id) == {*METRICS, "reset_reason", "restart", "safe_mode"}
    for entity in entities:
        assert entity.key == fnv1_hash(entity.object_id)
    sensors = {e.object_id: e for e in entities if isinstance(e, SensorInfo)}
    assert set(sensors) == set(METRICS)
    assert sensors["wifi_signal"].device_class == "signal_strength"
    assert sensors["wifi_signal"].unit_of_measurement == "dBm"
    assert sensors["uptime"].device_class == "duration"
    assert sensors["uptime"].unit_of_measurement == "s"
    assert sensors["internal_temperature"].unit_of_measurement == "°C"
    assert sensors["internal_temperature"].device_class == "temperature"
    for metric in ("heap_free", "heap_max_block", "heap_min_free"):
        assert sensors[metric].device_class == "data_size"
        assert sensors[metric].unit_of_measurement == "B"
    assert sensors["loop_time"].unit_of_measurement == "ms"
    assert all(s.entity_category == EntityCategory.DIAGNOSTIC for s in sensors.values())
    assert isinstance(by_id["reset_reason"], TextSensorInfo)
    for button in ("restart", "safe_mode"):
        assert isinstance(by_id[button], ButtonInfo)
        assert by_id[button].device_class == "restart"
        assert by_id[button].entity_category == EntityCategory.CONFIG


@pytest.mark.parametrize("noise_psk", [None, KEY_A], ids=["plaintext", "noise"])
async def test_states_initial_and_pushed(
    make_device: DeviceFactory, make_client: ClientFactory, noise_psk: str | None
) -> None:
    dev = await make_device(noise_psk=noise_psk, seed=5)
    client = await make_client(dev, noise_psk=noise_psk)
    states = collect_states(client)
    await dev.wait_for_subscribers(1)
    # Initial states on subscribe: 7 sensors + reset reason.
    await states.wait_for_count(8)
    keys = {fnv1_hash(metric): metric for metric in METRICS}
    first = {keys[s.key]: s.state for s in states.items[:8] if isinstance(s, SensorState)}
    assert first == pytest.approx(dev.values)
    reason = [s for s in states.items if isinstance(s, TextSensorState)]
    assert reason[0].state == dev.reset_reason == "Power on"

    dev.advance(3600.0)
    await dev.push_states()
    await states.wait_for_count(16)
    pushed = {keys[s.key]: s.state for s in states.items[8:16] if isinstance(s, SensorState)}
    assert pushed["uptime"] == 3600.0
    assert pushed == pytest.approx(dev.values)


async def test_periodic_push(make_device: DeviceFactory, make_client: ClientFactory) -> None:
    dev = await make_device(push_interval=0.05, time_scale=1.0)
    client = await make_client(dev)
    states = collect_states(client)
    await states.wait_for_count(8 * 3)


async def test_wrong_key_raises_invalid_encryption_key(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device(noise_psk=KEY_A)
    with pytest.raises(InvalidEncryptionKeyAPIError):
        await make_client(dev, noise_psk=KEY_B)
    assert dev.handshake_failures == 1
    assert dev.client_count == 0


async def test_plaintext_client_to_encrypted_device(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device(noise_psk=KEY_A)
    with pytest.raises(RequiresEncryptionAPIError):
        await make_client(dev)


async def test_noise_client_to_plaintext_device(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device()
    with pytest.raises(EncryptionPlaintextAPIError):
        await make_client(dev, noise_psk=KEY_A)


async def test_key_change_applies_to_new_connections(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device(noise_psk=KEY_A)
    await make_client(dev, noise_psk=KEY_A)
    dev.set_noise_psk(KEY_B)
    with pytest.raises(InvalidEncryptionKeyAPIError):
        await make_client(dev, noise_psk=KEY_A)
    await make_client(dev, noise_psk=KEY_B)
    dev.set_noise_psk(None)
    await make_client(dev)
    assert dev.client_count == 3


async def test_set_mac_changes_identity(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device()
    dev.set_mac("02:00:00:00:99:aa")
    client = await make_client(dev)
    assert (await client.device_info()).mac_address == "02:00:00:00:99:AA"


async def test_set_firmware_changes_device_info(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device(project_version="2.6.3")
    dev.set_firmware(project_version="2.6.4", compilation_time="Jun  1 2026, 08:00:00")
    info = await (await make_client(dev)).device_info()
    assert info.project_version == "2.6.4"
    assert info.compilation_time == "Jun  1 2026, 08:00:00"
    assert info.esphome_version == "2025.4.0"


async def test_max_five_connections(make_device: DeviceFactory, make_client: ClientFactory) -> None:
    dev = await make_device()
    for _ in range(5):
        await make_client(dev)
    await dev.wait_for_clients(5)
    with pytest.raises(APIConnectionError):
        await make_client(dev)
    assert dev.client_count == 5


async def test_legacy_password(make_device: DeviceFactory) -> None:
    """29.x waits for the answer and raises; 46.x only sees the device hang up."""
    from aioesphomeapi import InvalidAuthAPIError

    dev = await make_device(password="secret")
    client = APIClient(dev.host, dev.port, "wrong")
    stopped = asyncio.Event()

    async def on_stop(_expected: bool) -> None:
        stopped.set()

    try:
        async with asyncio.timeout(10):
            await client.connect(on_stop=on_stop, login=True)
            await stopped.wait()
    except InvalidAuthAPIError:
        pass
    finally:
        await client.disconnect(force=True)
    await dev.wait_for_clients(0)


async def test_device_pings_and_client_answers(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device(ping_interval=0.3)
    await make_client(dev)
    await dev.wait_for(lambda: dev.pongs_received >= 2)
    assert dev.client_count == 1


async def test_client_pings_are_answered(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    """The client's keepalive pings every 0.2 s and would hang up without answers."""
    dev = await make_device()
    await make_client(dev, keepalive=0.2)
    await dev.wait_for(lambda: dev.pings_received >= 3)
    assert dev.client_count == 1


async def test_client_disconnect_is_seen(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device()
    client = await make_client(dev)
    await dev.wait_for_clients(1)
    await client.disconnect()
    await dev.wait_for_clients(0)


async def test_switch_command(make_device: DeviceFactory, make_client: ClientFactory) -> None:
    dev = await make_device(switches=("relay",))
    client = await make_client(dev)
    entities, _ = await client.list_entities_services()
    relay = next(e for e in entities if isinstance(e, SwitchInfo))
    client.switch_command(relay.key, True)
    await dev.wait_for(lambda: dev.switch_commands == [("relay", True)])
    assert dev.switch_states == {"relay": True}


async def test_unknown_messages_are_ignored(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device()
    client = await make_client(dev)
    client.subscribe_logs(lambda _msg: None)
    client.subscribe_home_assistant_states(lambda *_args: None)
    info = await client.device_info()
    assert info.name == dev.name
