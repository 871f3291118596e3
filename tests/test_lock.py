"""requirements.lock pins every package the install resolves to (`./dev` installs with
`pip install -c requirements.lock -e '.[test]'`; `./dev lock` writes it again)."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"


def read_lock(text: str) -> dict[str, list[Requirement]]:
    """The lock's pins by canonical name (a universal lock may pin a name twice, under
    exclusive markers)."""
    pins: dict[str, list[Requirement]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pin = Requirement(line)
        assert len(pin.specifier) == 1 and next(iter(pin.specifier)).operator == "==", line
        pins.setdefault(canonicalize_name(pin.name), []).append(pin)
    return pins


def declared(pyproject: str) -> list[Requirement]:
    """pyproject's dependencies and those of each of its extras."""
    project = tomllib.loads(pyproject)["project"]
    lines = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return [Requirement(line) for line in lines]


def unpinned(pyproject: str, lock: str) -> list[str]:
    """What of pyproject's dependencies the lock does not pin, or pins at a version the
    dependency does not allow."""
    pins = read_lock(lock)
    problems = []
    for req in declared(pyproject):
        found = pins.get(canonicalize_name(req.name), [])
        if not found:
            problems.append(f"{req} is not pinned")
        for pin in found:
            version = next(iter(pin.specifier)).version
            if not req.specifier.contains(version, prereleases=True):
                problems.append(f"{req} does not allow the pinned {pin}")
    return problems


def test_every_dependency_in_pyproject_is_pinned_in_the_lock() -> None:
    assert LOCK.is_file(), "requirements.lock is missing: run ./dev lock"
    assert unpinned(PYPROJECT.read_text(), LOCK.read_text()) == []
    assert "./dev lock" in LOCK.read_text().splitlines()[1]  # says how to write it again


def test_the_check_finds_a_dependency_added_to_pyproject_without_a_new_lock() -> None:
    pyproject = PYPROJECT.read_text().replace(
        '"orjson>=3.9",', '"orjson>=3.9",\n    "a-package-never-locked>=0.18",', 1)
    assert "a-package-never-locked" in pyproject
    assert unpinned(pyproject, LOCK.read_text()) == [
        "a-package-never-locked>=0.18 is not pinned"]
    narrowed = PYPROJECT.read_text().replace('"aiohttp>=3.9"', '"aiohttp<3.9"', 1)
    assert [p for p in unpinned(narrowed, LOCK.read_text()) if p.startswith("aiohttp<3.9")]


def test_every_package_installed_for_the_project_is_the_locked_version() -> None:
    """Walks the project's requirements (with the test extra and the extras they ask for)
    through the installed packages' metadata: each one reached is pinned in the lock, at
    the version installed. Fails when a dependency (direct or not) escaped the lock."""
    pins = read_lock(LOCK.read_text())
    environment = {k: str(v) for k, v in default_environment().items()}
    todo = [(req, "test") for req in declared(PYPROJECT.read_text())]
    seen: set[tuple[str, str]] = set()
    problems = []
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**environment, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        for wanted in sorted(req.extras) or [""]:
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            installed = Version(metadata.version(req.name))
            locked = [Version(next(iter(p.specifier)).version) for p in pins.get(name, [])
                      if p.marker is None or p.marker.evaluate(environment)]
            if locked != [installed]:
                problems.append(f"{name} {installed} installed, locked: {locked}")
            todo += [(Requirement(r), wanted) for r in metadata.requires(req.name) or []]
    assert ("hiredis", "") in seen  # reached through redis[hiredis]
    assert problems == []
