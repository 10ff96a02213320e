"""Firmware update entity: one per device, fed by the firmware catalogue."""

from __future__ import annotations

from typing import Any

from homeassistant.components.update import (
    UpdateDeviceClass,
    UpdateEntity,
    UpdateEntityDescription,
    UpdateEntityFeature,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import DeviceCoordinator, PredictiveMaintenanceConfigEntry
from .entity import PredictiveMaintenanceEntity
from .firmware import FirmwareRelease
from .firmware_ha import DATA_FIRMWARE, FirmwareManager, Outcome
from .firmware_ha.manager import SIGNAL_CATALOGUE, signal_progress
from .firmware_ha.target import target_of

# Installs are serialised per device by the manager, not by the platform.
PARALLEL_UPDATES = 0

FIRMWARE_UPDATE = UpdateEntityDescription(
    key="firmware",
    translation_key="firmware",
    device_class=UpdateDeviceClass.FIRMWARE,
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PredictiveMaintenanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the firmware update entity of one monitored device."""
    manager = hass.data.get(DATA_FIRMWARE)
    if manager is None:
        return
    async_add_entities([FirmwareUpdateEntity(entry.runtime_data, manager)])


def release_notes(release: FirmwareRelease, chip_family: str) -> str:
    """Markdown notes from a release's manifest fields."""
    build = release.build_for(chip_family)
    lines = [f"## {release.project} {release.version}"]
    if release.patch_type is not None:
        lines.append(f"**Type:** {release.patch_type} · **Priority:** {release.priority}")
    if build is not None and build.summary:
        lines.append(build.summary)
    if release.fixes:
        lines.append("**Fixes:** " + ", ".join(release.fixes))
    if release.min_version:
        lines.append(f"Installs over {release.min_version} or newer.")
    if build is not None and build.release_url:
        lines.append(f"[Release page]({build.release_url})")
    return "\n\n".join(lines)


class FirmwareUpdateEntity(PredictiveMaintenanceEntity, UpdateEntity):
    """Installed version from the device, latest from the catalogue, install with progress."""

    _attr_supported_features = (
        UpdateEntityFeature.INSTALL
        | UpdateEntityFeature.PROGRESS
        | UpdateEntityFeature.SPECIFIC_VERSION
        | UpdateEntityFeature.RELEASE_NOTES
    )

    def __init__(self, coordinator: DeviceCoordinator, manager: FirmwareManager) -> None:
        """Attach to the device and the manager."""
        super().__init__(coordinator, FIRMWARE_UPDATE)
        self._manager = manager
        self._refresh()

    @property
    def available(self) -> bool:
        """Stay available during an install: the device reboots in the middle of it."""
        return super().available or self._manager.is_busy(self.coordinator.config_entry.entry_id)

    async def async_added_to_hass(self) -> None:
        """Follow the catalogue and the install progress."""
        await super().async_added_to_hass()
        entry_id = self.coordinator.config_entry.entry_id
        self.async_on_remove(
            async_dispatcher_connect(self.hass, SIGNAL_CATALOGUE, self._async_changed)
        )
        self.async_on_remove(
            async_dispatcher_connect(self.hass, signal_progress(entry_id), self._async_changed)
        )

    @callback
    def _async_changed(self) -> None:
        self._refresh()
        self.async_write_ha_state()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._refresh()
        super()._handle_coordinator_update()

    def _release(self) -> FirmwareRelease | None:
        if self.coordinator.data.details is None:
            return None
        return self._manager.latest_for(target_of(self.coordinator))

    def _refresh(self) -> None:
        coordinator = self.coordinator
        entry_id = coordinator.config_entry.entry_id
        target = target_of(coordinator)
        self._attr_installed_version = target.version
        release = self._release()
        self._attr_latest_version = target.version if release is None else release.version
        build = None if release is None else release.build_for(target.chip_family)
        self._attr_release_summary = None if build is None else build.summary
        self._attr_release_url = None if build is None else build.release_url
        self._attr_title = target.project or None
        busy = self._manager.is_busy(entry_id)
        self._attr_in_progress = busy
        self._attr_update_percentage = self._manager.progress.get(entry_id) if busy else None

    async def async_release_notes(self) -> str | None:
        """Return the notes of the offered release."""
        release = self._release()
        if release is None:
            return None
        return release_notes(release, target_of(self.coordinator).chip_family)

    async def async_install(self, version: str | None, backup: bool, **kwargs: Any) -> None:
        """Install the latest (or the given) version, validated, with automatic rollback."""
        result = await self._manager.async_apply(
            self.coordinator, version=version, auto_rollback=True, trigger="update_entity"
        )
        if result.outcome is not Outcome.SUCCEEDED:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="firmware_update_failed",
                translation_placeholders={
                    "name": self.coordinator.config_entry.title,
                    "reason": result.reason,
                },
            )
