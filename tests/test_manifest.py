"""Offline checks of what hassfest and the HACS action would reject.

They read the integration's files (manifest, hacs.json, strings, services, icons, sources)
and cross-check them, so a new step, error, entity or exception without a string fails here
long before a user sees a raw translation key. No sockets, no Home Assistant instance.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import Platform
from homeassistant.helpers.entity import EntityDescription
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "custom_components" / "predictive_maintenance"
DOMAIN = "predictive_maintenance"

REQUIRED_MANIFEST_KEYS = {
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "iot_class",
    "issue_tracker",
    "requirements",
    "version",
}
KNOWN_MANIFEST_KEYS = REQUIRED_MANIFEST_KEYS | {
    "after_dependencies",
    "bluetooth",
    "dependencies",
    "dhcp",
    "disabled",
    "homekit",
    "import_executor",
    "integration_type",
    "loggers",
    "mqtt",
    "quality_scale",
    "single_config_entry",
    "ssdp",
    "usb",
    "zeroconf",
}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system"}
QUALITY_SCALES = {"bronze", "silver", "gold", "platinum", "custom", "internal", "legacy"}
ESPHOME_ZEROCONF_TYPE = "_esphomelib._tcp.local."
HACS_KEYS = {
    "content_in_root",
    "country",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "name",
    "persistent_directory",
    "render_readme",
    "zip_release",
}
HACS_MIN_HA = "2025.4.0"

TRANSLATION_KEY = re.compile(r"^(?!.*[_-]{2})(?![_-])[a-z0-9_-]+(?<![_-])$")
HTML_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
QUOTED_PLACEHOLDER = re.compile(r"'\{\w+\}'")
KEY_REFERENCE = "[%key:"

STEP_KEYS = {
    "title",
    "description",
    "data",
    "data_description",
    "menu_options",
    "menu_option_descriptions",
    "sections",
    "submit",
}
FLOW_KEYS = {
    "flow_title",
    "step",
    "error",
    "abort",
    "progress",
    "create_entry",
    "entry_type",
    "initiate_flow",
}
TOP_LEVEL_KEYS = {
    "title",
    "config",
    "config_subentries",
    "options",
    "device",
    "device_automation",
    "entity",
    "entity_component",
    "exceptions",
    "issues",
    "selector",
    "services",
    "system_health",
}

EXCEPTION_CALL_NAMES = {
    "ConfigEntryAuthFailed",
    "ConfigEntryError",
    "ConfigEntryNotReady",
    "HomeAssistantError",
    "IntegrationError",
    "PlatformNotReady",
    "ServiceNotFound",
    "ServiceValidationError",
    "UpdateFailed",
}


# ---------------------------------------------------------------- file access


@cache
def _json(relative: str) -> dict[str, Any]:
    path = ROOT / relative
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{relative} is not a JSON object"
    return data


def _manifest() -> dict[str, Any]:
    return _json("custom_components/predictive_maintenance/manifest.json")


def _strings() -> dict[str, Any]:
    return _json("custom_components/predictive_maintenance/strings.json")


def _modules() -> Iterator[Path]:
    yield from sorted(PACKAGE.rglob("*.py"))


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _dig(data: dict[str, Any], *keys: str) -> Any:
    node: Any = data
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _constant_str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _strings_in(node: ast.AST) -> set[str]:
    return {
        child.value
        for child in ast.walk(node)
        if isinstance(child, ast.Constant) and isinstance(child.value, str)
    }


def _module_assignments(tree: ast.Module) -> dict[str, ast.expr]:
    assignments: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assignments[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            assignments[node.target.id] = node.value
    return assignments


def _resolve(node: ast.expr | None, assignments: dict[str, ast.expr]) -> ast.expr | None:
    """Follow a module-level name to the expression it was assigned."""
    seen: set[str] = set()
    while isinstance(node, ast.Name) and node.id in assignments and node.id not in seen:
        seen.add(node.id)
        node = assignments[node.id]
    return node


# ---------------------------------------------------------------- manifest


def test_manifest_key_order() -> None:
    """hassfest wants domain, name, then the other keys in alphabetical order."""
    keys = list(_manifest())
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_fields() -> None:
    """Every field hassfest and HACS require is there and well formed."""
    manifest = _manifest()
    assert set(manifest) >= REQUIRED_MANIFEST_KEYS, REQUIRED_MANIFEST_KEYS - set(manifest)
    assert set(manifest) <= KNOWN_MANIFEST_KEYS, set(manifest) - KNOWN_MANIFEST_KEYS
    assert manifest["domain"] == DOMAIN == PACKAGE.name
    assert manifest["name"].strip()
    assert manifest["codeowners"]
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    for key in ("documentation", "issue_tracker"):
        assert manifest[key].startswith("https://"), key
    assert manifest["iot_class"] == "local_push"
    assert manifest["config_flow"] is True
    assert manifest.get("integration_type", "hub") in INTEGRATION_TYPES
    if "quality_scale" in manifest:
        assert manifest["quality_scale"] in QUALITY_SCALES


def test_manifest_version() -> None:
    """HA refuses to load a custom integration without a valid version."""
    version = AwesomeVersion(
        _manifest()["version"],
        ensure_strategy=[
            AwesomeVersionStrategy.CALVER,
            AwesomeVersionStrategy.SEMVER,
            AwesomeVersionStrategy.SIMPLEVER,
            AwesomeVersionStrategy.BUILDVER,
            AwesomeVersionStrategy.PEP440,
        ],
    )
    assert version.strategy is not AwesomeVersionStrategy.UNKNOWN


def test_manifest_zeroconf() -> None:
    """ESPHome devices announce themselves as _esphomelib._tcp."""
    types = [
        entry if isinstance(entry, str) else entry["type"]
        for entry in _manifest().get("zeroconf", [])
    ]
    assert ESPHOME_ZEROCONF_TYPE in types


def test_manifest_requirements_are_loose() -> None:
    """Pins would fight HA's own pins (its esphome integration pins aioesphomeapi)."""
    requirements = [Requirement(line) for line in _manifest()["requirements"]]
    for requirement in requirements:
        operators = {spec.operator for spec in requirement.specifier}
        assert not operators & {"==", "===", "~="}, f"{requirement} is pinned"
        installed = metadata.version(requirement.name)
        assert requirement.specifier.contains(installed, prereleases=True), (
            f"{requirement} is not satisfied by the installed {installed}"
        )
    by_name = {requirement.name: requirement for requirement in requirements}
    assert "aioesphomeapi" in by_name
    assert by_name["aioesphomeapi"].specifier.contains("29.9.0")
    assert not by_name["aioesphomeapi"].specifier.contains("29.8.0")


def test_no_hard_dependency_on_esphome() -> None:
    """Reusing the ESPHome integration's devices must not require that integration."""
    manifest = _manifest()
    assert "esphome" not in manifest.get("dependencies", [])
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("homeassistant.components.esphome"), path
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("homeassistant.components.esphome"), path


# hassfest lets any integration use these without declaring a dependency.
ALWAYS_ALLOWED_COMPONENTS = {platform.value for platform in Platform} | {
    "alert",
    "automation",
    "conversation",
    "device_automation",
    "frontend",
    "group",
    "hassio",
    "homeassistant",
    "input_boolean",
    "input_button",
    "input_datetime",
    "input_number",
    "input_select",
    "input_text",
    "media_source",
    "onboarding",
    "panel_custom",
    "persistent_notification",
    "person",
    "script",
    "shopping_list",
    "sun",
    "system_health",
    "system_log",
    "timer",
    "webhook",
    "websocket_api",
    "zone",
}
DISCOVERY_KEYS = ("bluetooth", "dhcp", "homekit", "mqtt", "ssdp", "usb", "zeroconf")


def _referenced_components() -> dict[str, set[Path]]:
    found: dict[str, set[Path]] = {}
    for path in _modules():
        for node in ast.walk(_tree(path)):
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
                if node.module == "homeassistant.components":
                    modules = [f"homeassistant.components.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            for module in modules:
                parts = module.split(".")
                if parts[:2] == ["homeassistant", "components"] and len(parts) > 2:
                    found.setdefault(parts[2], set()).add(path.relative_to(PACKAGE))
    return found


def test_used_components_are_declared() -> None:
    """hassfest: using another integration needs it in dependencies or after_dependencies."""
    manifest = _manifest()
    allowed = (
        ALWAYS_ALLOWED_COMPONENTS
        | set(manifest.get("dependencies", []))
        | set(manifest.get("after_dependencies", []))
        | {key for key in DISCOVERY_KEYS if key in manifest}
    )
    for component, paths in _referenced_components().items():
        # A platform module may import the integration it is a platform of (diagnostics.py).
        if component in allowed or all(path.stem == component for path in paths):
            continue
        raise AssertionError(f"{sorted(map(str, paths))} use {component} without declaring it")


def test_discovery_has_a_flow_step() -> None:
    """hassfest: a discovery matcher in the manifest needs its step in the config flow."""
    flow = PACKAGE / "config_flow.py"
    assert flow.is_file()
    methods = {
        node.name
        for node in ast.walk(_tree(flow))
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
    }
    for source in DISCOVERY_KEYS:
        if source in _manifest():
            assert f"async_step_{source}" in methods, source


# ---------------------------------------------------------------- hacs.json


def test_hacs_json() -> None:
    """HACS only knows a fixed set of keys; the minimum HA version is the one we test on."""
    hacs = _json("hacs.json")
    assert set(hacs) <= HACS_KEYS, set(hacs) - HACS_KEYS
    assert hacs["name"].strip()
    assert hacs["homeassistant"] == HACS_MIN_HA
    assert AwesomeVersion(hacs["homeassistant"]).strategy is AwesomeVersionStrategy.CALVER
    assert not hacs.get("content_in_root", False)
    assert not hacs.get("zip_release", False)


def test_hacs_repository_layout() -> None:
    """HACS installs the single integration folder and shows the README it renders."""
    folders = [path for path in (ROOT / "custom_components").iterdir() if path.is_dir()]
    folders = [path for path in folders if not path.name.startswith(("_", "."))]
    assert [path.name for path in folders] == [DOMAIN]
    if _json("hacs.json").get("render_readme"):
        assert (ROOT / "README.md").is_file()


def test_readme_documents_every_service() -> None:
    """Each action in services.yaml has its own section in the README, with an example call."""
    services = yaml.safe_load(
        (ROOT / "custom_components" / DOMAIN / "services.yaml").read_text(encoding="utf-8")
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for service in services:
        assert f"`{DOMAIN}.{service}`" in readme, service
        assert f"action: {DOMAIN}.{service}" in readme, service


# ---------------------------------------------------------------- strings files


def test_strings_match_english_translation() -> None:
    """HA loads translations/en.json at runtime; strings.json is what people edit."""
    assert _strings() == _json("custom_components/predictive_maintenance/translations/en.json")


def _leaves(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, f"{path}.{key}" if path else key)
    else:
        yield path, data


def test_strings_values() -> None:
    """Mirror of hassfest's translation value rules, plus: no [%key:] references."""
    for path, value in _leaves(_strings()):
        assert isinstance(value, str), f"{path} is not a string"
        assert value, f"{path} is empty"
        assert value == value.strip(), f"{path} has leading or trailing spaces"
        assert not HTML_TAG.search(value), f"{path} contains HTML"
        assert not QUOTED_PLACEHOLDER.search(value), f"{path} quotes a placeholder"
        assert KEY_REFERENCE not in value, f"{path}: custom integrations cannot use references"


def test_strings_structure() -> None:
    """Only sections and keys that HA's translation schema knows."""
    strings = _strings()
    assert set(strings) <= TOP_LEVEL_KEYS, set(strings) - TOP_LEVEL_KEYS
    for flow in ("config", "options"):
        if flow not in strings:
            continue
        assert set(strings[flow]) <= FLOW_KEYS, set(strings[flow]) - FLOW_KEYS
        for step_id, step in strings[flow].get("step", {}).items():
            assert TRANSLATION_KEY.match(step_id), step_id
            assert set(step) <= STEP_KEYS, f"{flow}.step.{step_id}: {set(step) - STEP_KEYS}"
            extra = set(step.get("data_description", {})) - set(step.get("data", {}))
            assert not extra, f"{flow}.step.{step_id}: descriptions without a label: {extra}"
        for section in ("error", "abort"):
            for key in strings[flow].get(section, {}):
                assert TRANSLATION_KEY.match(key), f"{flow}.{section}.{key}"


# ---------------------------------------------------------------- config flow strings


class _FlowUsage:
    """What config_flow.py shows: steps, menus, errors and abort reasons."""

    def __init__(self, path: Path) -> None:
        tree = _tree(path)
        self._assignments = _module_assignments(tree)
        self.steps: set[str] = set()
        self.menus: dict[str, set[str]] = {}
        self.errors: set[str] = set()
        self.aborts: set[str] = set()
        self.methods: set[str] = set()
        self.called: set[str] = set()

        for name, value in self._assignments.items():
            # Tables of error keys, e.g. an exception -> error key mapping.
            if "ERROR" in name.upper():
                self.errors |= _strings_in(value)

        for node in ast.walk(tree):
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
                self.methods.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "errors"
                    ):
                        self.errors |= _strings_in(node.value)
            elif isinstance(node, ast.Call):
                self._visit_call(node)

        # async_update_reload_and_abort picks its reason from the flow's source.
        if "async_update_reload_and_abort" in self.called:
            if "async_step_reauth" in self.methods:
                self.aborts.add("reauth_successful")
            if "async_step_reconfigure" in self.methods:
                self.aborts.add("reconfigure_successful")

    def _visit_call(self, call: ast.Call) -> None:
        name = _call_name(call)
        self.called.add(name)
        step_id = _constant_str(_keyword(call, "step_id"))
        if name == "async_show_form" and step_id:
            self.steps.add(step_id)
            errors = _resolve(_keyword(call, "errors"), self._assignments)
            if isinstance(errors, ast.Dict):
                self.errors |= _strings_in(ast.Tuple(elts=list(errors.values)))
        elif name == "async_show_menu" and step_id:
            self.steps.add(step_id)
            options = _resolve(_keyword(call, "menu_options"), self._assignments)
            if isinstance(options, ast.Dict):
                options = ast.Tuple(elts=[key for key in options.keys if key is not None])
            assert isinstance(options, ast.List | ast.Tuple | ast.Set), (
                f"menu_options of step {step_id} must be a literal or a module constant"
            )
            self.menus[step_id] = _strings_in(options)
        elif name == "async_abort":
            reason = _constant_str(_keyword(call, "reason"))
            assert reason, "async_abort reasons must be string literals"
            self.aborts.add(reason)
        elif name in ("_abort_if_unique_id_configured", "_async_abort_entries_match"):
            self.aborts.add(_constant_str(_keyword(call, "error")) or "already_configured")
        elif name == "_abort_if_unique_id_mismatch":
            self.aborts.add(_constant_str(_keyword(call, "reason")) or "unique_id_mismatch")
        elif name == "async_update_reload_and_abort":
            if reason := _constant_str(_keyword(call, "reason")):
                self.aborts.add(reason)
        elif name == "async_set_unique_id":
            raise_on_progress = _keyword(call, "raise_on_progress")
            if not (isinstance(raise_on_progress, ast.Constant) and not raise_on_progress.value):
                self.aborts.add("already_in_progress")


@pytest.fixture(name="flow_usage")
def flow_usage_fixture() -> _FlowUsage:
    """Parse config_flow.py once per test."""
    return _FlowUsage(PACKAGE / "config_flow.py")


def test_config_flow_steps_have_strings(flow_usage: _FlowUsage) -> None:
    """Every step the flow shows has a title (or a description) in strings.json."""
    steps = _dig(_strings(), "config", "step") or {}
    assert flow_usage.steps, "no steps found in config_flow.py"
    for step_id in flow_usage.steps:
        assert step_id in steps, f"config.step.{step_id} is missing"
        assert steps[step_id].get("title") or steps[step_id].get("description"), step_id
        assert f"async_step_{step_id}" in flow_usage.methods, step_id


def test_config_flow_menus_have_strings(flow_usage: _FlowUsage) -> None:
    """Every menu option has a label, and a step method to go to."""
    for step_id, options in flow_usage.menus.items():
        labels = _dig(_strings(), "config", "step", step_id, "menu_options") or {}
        assert options, step_id
        for option in options:
            assert option in labels, f"config.step.{step_id}.menu_options.{option} is missing"
            assert f"async_step_{option}" in flow_usage.methods, option


def test_config_flow_errors_have_strings(flow_usage: _FlowUsage) -> None:
    """Every error key the flow can set is translated."""
    errors = _dig(_strings(), "config", "error") or {}
    assert flow_usage.errors, "no errors found in config_flow.py"
    missing = {error for error in flow_usage.errors if error not in errors}
    # Strings that are not error keys (e.g. the "base" field name) show up in the tables too.
    missing -= {"base"}
    assert not missing, f"config.error is missing {sorted(missing)}"


def test_config_flow_aborts_have_strings(flow_usage: _FlowUsage) -> None:
    """Every abort reason, including the implicit ones of HA's helpers, is translated."""
    aborts = _dig(_strings(), "config", "abort") or {}
    missing = sorted(reason for reason in flow_usage.aborts if reason not in aborts)
    assert not missing, f"config.abort is missing {missing}"


def test_config_strings_are_used(flow_usage: _FlowUsage) -> None:
    """No leftover strings for steps or errors the flow no longer has."""
    config = _strings().get("config", {})
    assert set(config.get("step", {})) <= flow_usage.steps
    assert set(config.get("error", {})) <= flow_usage.errors


# ---------------------------------------------------------------- services


def test_services_have_strings() -> None:
    """Every service and field in services.yaml has a name and description."""
    path = PACKAGE / "services.yaml"
    if not path.is_file():
        pytest.skip("no services.yaml yet")
    services = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    strings = _strings().get("services", {})
    for service, schema in services.items():
        assert service in strings, f"services.{service} is missing"
        assert strings[service].get("name"), f"services.{service}.name"
        assert strings[service].get("description"), f"services.{service}.description"
        fields = dict((schema or {}).get("fields", {}))
        # Collapsible sections hold their own fields.
        for field, spec in list(fields.items()):
            if isinstance(spec, dict) and "fields" in spec:
                fields.pop(field)
                fields.update(spec["fields"])
                assert _dig(strings, service, "sections", field, "name"), (
                    f"services.{service}.sections.{field}.name"
                )
        for field in fields:
            for key in ("name", "description"):
                assert _dig(strings, service, "fields", field, key), (
                    f"services.{service}.fields.{field}.{key}"
                )
    assert set(strings) <= set(services), "strings for services that do not exist"


# ---------------------------------------------------------------- entities


PLATFORMS = {platform.value for platform in Platform}


def _is_exception_or_issue(call: ast.Call) -> bool:
    name = _call_name(call)
    return (
        _keyword(call, "translation_domain") is not None
        or name in EXCEPTION_CALL_NAMES
        or name.endswith(("Error", "Exception"))
        or name == "async_create_issue"
    )


def _entity_translation_keys() -> dict[str, set[str]]:
    """Return platform -> translation keys found in that platform's module(s)."""
    found: dict[str, set[str]] = {}
    for path in _modules():
        platform = path.stem
        if platform not in PLATFORMS:
            continue
        keys = found.setdefault(platform, set())
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call) and not _is_exception_or_issue(node):
                if key := _constant_str(_keyword(node, "translation_key")):
                    keys.add(key)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    name = target.attr if isinstance(target, ast.Attribute) else None
                    name = target.id if isinstance(target, ast.Name) else name
                    if name in ("_attr_translation_key", "translation_key") and (
                        key := _constant_str(node.value)
                    ):
                        keys.add(key)
    return found


def _enum_states() -> dict[tuple[str, str], set[str]]:
    """Return (platform, translation key) -> option literals given next to it."""
    states: dict[tuple[str, str], set[str]] = {}
    for path in _modules():
        if path.stem not in PLATFORMS:
            continue
        assignments = _module_assignments(_tree(path))
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Call):
                continue
            key = _constant_str(_keyword(node, "translation_key"))
            options = _resolve(_keyword(node, "options"), assignments)
            if key and isinstance(options, ast.List | ast.Tuple | ast.Set):
                states.setdefault((path.stem, key), set()).update(_strings_in(options))
    return states


def test_entities_have_names() -> None:
    """Every entity translation key in a platform module has entity.<platform>.<key>.name."""
    entity = _strings().get("entity", {})
    for platform, keys in _entity_translation_keys().items():
        for key in keys:
            assert _dig(entity, platform, key, "name"), f"entity.{platform}.{key}.name"


def _module_descriptions() -> Iterator[tuple[str, EntityDescription]]:
    """Yield (platform, description) for descriptions defined at a platform module's top level.

    Importing catches what the source does not spell out, e.g. options built from an enum.
    """
    for path in _modules():
        if path.stem not in PLATFORMS or path.parent != PACKAGE:
            continue
        module = importlib.import_module(f"custom_components.{DOMAIN}.{path.stem}")
        for value in vars(module).values():
            items = value if isinstance(value, tuple | list) else (value,)
            for item in items:
                if isinstance(item, EntityDescription):
                    yield path.stem, item


def test_described_entities_have_names() -> None:
    """Every entity description's translation key has a name (however it was built)."""
    entity = _strings().get("entity", {})
    for platform, description in _module_descriptions():
        if (key := description.translation_key) is not None:
            assert _dig(entity, platform, key, "name"), f"entity.{platform}.{key}.name"


def test_enum_states_have_strings() -> None:
    """Every state of an enum entity is translated."""
    entity = _strings().get("entity", {})
    states = _enum_states()
    for platform, description in _module_descriptions():
        options = getattr(description, "options", None)
        if description.translation_key is not None and options:
            states.setdefault((platform, description.translation_key), set()).update(
                str(option) for option in options
            )
    for (platform, key), options in states.items():
        for option in options:
            assert _dig(entity, platform, key, "state", option), (
                f"entity.{platform}.{key}.state.{option}"
            )


# ---------------------------------------------------------------- exceptions and issues


def _exception_translation_keys() -> set[str]:
    keys: set[str] = set()
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if (
                isinstance(node, ast.Call)
                and _call_name(node) != "async_create_issue"
                and _is_exception_or_issue(node)
                and (key := _constant_str(_keyword(node, "translation_key")))
            ):
                keys.add(key)
    return keys


def test_exceptions_have_messages() -> None:
    """Every translated exception raised anywhere in the package has a message."""
    exceptions = _strings().get("exceptions", {})
    for key in _exception_translation_keys():
        assert _dig(exceptions, key, "message"), f"exceptions.{key}.message"


PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_exception_placeholders_are_given() -> None:
    """A translated exception passes every placeholder its message uses."""
    exceptions = _strings().get("exceptions", {})
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if not (
                isinstance(node, ast.Call)
                and _call_name(node) != "async_create_issue"
                and _is_exception_or_issue(node)
                and (key := _constant_str(_keyword(node, "translation_key")))
            ):
                continue
            needed = set(PLACEHOLDER.findall(_dig(exceptions, key, "message") or ""))
            given = _keyword(node, "translation_placeholders")
            if given is not None and (
                not isinstance(given, ast.Dict) or any(k is None for k in given.keys)
            ):
                continue  # built at runtime; nothing to check statically
            provided = {_constant_str(k) for k in given.keys} if given is not None else set()
            assert needed <= provided, f"{path.name}: {key} needs placeholders {needed - provided}"


def test_issues_have_strings() -> None:
    """Every repair issue created with a translation key has a title."""
    issues = _strings().get("issues", {})
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call) and _call_name(node) == "async_create_issue":
                key = _constant_str(_keyword(node, "translation_key"))
                if key:
                    assert _dig(issues, key, "title"), f"issues.{key}.title"


# ---------------------------------------------------------------- icons


def test_icons_match_translation_keys() -> None:
    """icons.json only names entity translation keys and services that exist."""
    path = PACKAGE / "icons.json"
    if not path.is_file():
        pytest.skip("no icons.json yet")
    icons = json.loads(path.read_text(encoding="utf-8"))
    used = _entity_translation_keys()
    for platform, description in _module_descriptions():
        if description.translation_key is not None:
            used.setdefault(platform, set()).add(description.translation_key)
    entity_strings = _strings().get("entity", {})
    for platform, keys in icons.get("entity", {}).items():
        assert platform in PLATFORMS, platform
        extra = set(keys) - used.get(platform, set())
        assert not extra, f"icons.json entity.{platform}: no such translation keys {extra}"
        for key, icon in keys.items():
            values = [icon.get("default", "mdi:"), *icon.get("state", {}).values()]
            assert all(value.startswith("mdi:") for value in values), f"{platform}.{key}"
            unknown = set(icon.get("state", {})) - set(
                _dig(entity_strings, platform, key, "state") or {}
            )
            assert not unknown, f"icons.json entity.{platform}.{key}: unknown states {unknown}"
    services_path = PACKAGE / "services.yaml"
    services = (
        yaml.safe_load(services_path.read_text(encoding="utf-8")) or {}
        if services_path.is_file()
        else {}
    )
    extra_services = set(icons.get("services", {})) - set(services)
    assert not extra_services, f"icons.json services without a service: {extra_services}"
