"""The locks in requirements/ agree with pyproject.toml, and the README and CI install from them.

What a fresh install gets must not change overnight (a release of the SDK once turned CI red), so
the README's commands, CI and the bundle install pinned, hashed versions; pyproject.toml keeps the
ranges. These tests fail when the two drift apart: a range moved without a new lock, a lock edited
by hand, or two locks that pin one package at different versions.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# Each lock and what it must hold: pyproject's dependencies, these extras, these .in files.
LOCKS = {
    "app": ((), ("build.in",)),
    "test": (("test",), ("build.in",)),
    "clients": (("test", "clients"), ("build.in",)),
    "bundle": ((), ("build.in", "bundle.in")),
}

# Where the app is installed: Linux (x86_64 and arm64) on 3.11 and a newer Python, macOS, Windows.
PLATFORMS = [
    ("linux", "Linux", "x86_64", "posix", "3.11.7"),
    ("linux", "Linux", "aarch64", "posix", "3.13.1"),
    ("darwin", "Darwin", "arm64", "posix", "3.12.4"),
    ("win32", "Windows", "AMD64", "nt", "3.11.9"),
]


def environments() -> list[dict[str, str]]:
    out = []
    for sys_platform, system, machine, os_name, version in PLATFORMS:
        env = dict(default_environment())
        env.update(
            sys_platform=sys_platform,
            platform_system=system,
            platform_machine=machine,
            os_name=os_name,
            python_full_version=version,
            python_version=".".join(version.split(".")[:2]),
            implementation_name="cpython",
            platform_python_implementation="CPython",
        )
        out.append(env)
    return out


def pins(name: str) -> list[tuple[Requirement, list[str]]]:
    """A lock's entries: each requirement line with its hashes (continuation lines joined)."""
    text = (ROOT / "requirements" / f"{name}.txt").read_text(encoding="utf-8")
    entries = []
    for logical in re.sub(r"\\\n", " ", text).splitlines():
        line = logical.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *hashes = re.split(r"\s+--hash=", line)
        entries.append((Requirement(spec.strip()), hashes))
    return entries


def pinned_in(name: str, env: dict[str, str]) -> dict[str, str]:
    """What the lock installs in one environment: package name to version."""
    out: dict[str, str] = {}
    for req, _ in pins(name):
        if req.marker is None or req.marker.evaluate(env):
            key = canonicalize_name(req.name)
            assert key not in out, f"{name}.txt pins {req.name} twice for {env['sys_platform']}"
            out[key] = next(iter(req.specifier)).version
    return out


def wanted(extras: tuple[str, ...], inputs: tuple[str, ...]) -> list[Requirement]:
    project = PYPROJECT["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    for name in inputs:
        text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
        lines += [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    return [Requirement(line) for line in lines if line]


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_entry_is_pinned_to_one_version_with_its_hashes(lock):
    entries = pins(lock)
    assert len(entries) > 20
    for req, hashes in entries:
        (spec,) = req.specifier
        assert spec.operator == "==", f"{lock}.txt: {req} is not pinned"
        assert hashes and all(h.startswith("sha256:") for h in hashes), f"{lock}.txt: {req}"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_satisfies_every_range_of_pyproject(lock):
    extras, inputs = LOCKS[lock]
    for env in environments():
        have = pinned_in(lock, env)
        for req in wanted(extras, inputs):
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            where = f"{lock}.txt on {env['sys_platform']} {env['python_full_version']}"
            key = canonicalize_name(req.name)
            assert key in have, f"{where} lacks {req.name}: run bash requirements/lock.sh"
            assert req.specifier.contains(have[key], prereleases=True), (
                f"{where} pins {req.name}=={have[key]}, outside {req.specifier}: "
                "run bash requirements/lock.sh"
            )


def test_the_build_backend_the_locks_pin_is_the_one_pyproject_asks_for():
    for req in map(Requirement, PYPROJECT["build-system"]["requires"]):
        for lock in LOCKS:
            have = pinned_in(lock, environments()[0])
            assert req.specifier.contains(have[canonicalize_name(req.name)]), (lock, req)


def test_a_package_in_two_locks_has_one_version():
    for env in environments():
        seen: dict[str, tuple[str, str]] = {}
        for lock in LOCKS:
            for name, version in pinned_in(lock, env).items():
                first = seen.setdefault(name, (lock, version))
                assert first[1] == version, f"{name}: {first} but {lock}.txt has {version}"


def test_the_readme_ci_and_the_bundle_install_from_the_locks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [ln.strip() for ln in readme.splitlines() if ln.startswith("    python3 -m venv")]
    assert len(commands) == 2, commands
    start, tests = commands
    assert "pip install -r requirements/app.txt" in start and start.endswith("cachescope")
    assert "pip install -r requirements/test.txt" in tests and "pytest" in tests
    # CI runs the README's test command as written, then the clients' lock.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci and "requirements/clients.txt" in ci
    build = (ROOT / "packaging" / "build.sh").read_text(encoding="utf-8")
    assert "requirements/bundle.txt" in build
