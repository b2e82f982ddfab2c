"""Where Claude Code keeps its sessions, and what is there: projects and session files, newest
first. Nothing here writes, creates or renames anything: every folder is only listed and read.

The layout (public descriptions: ccusage's ``src/data-loader.ts`` ``getClaudePaths``, the
research notes of copilot-lens ``docs/research/claude-code-sessions.md``; see docs/agents.md):

    <config>/projects/<project path, "/" as "-">/<session id>.jsonl
    <config>/projects/<project>/<session id>/subagents/agent-<agent id>.jsonl

with ``<config>`` each folder of ``CLAUDE_CONFIG_DIR`` (a comma-separated list), then
``~/.config/claude`` and ``~/.claude``.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

CONFIG_ENV = "CLAUDE_CONFIG_DIR"
DEFAULT_CONFIGS = ("~/.config/claude", "~/.claude")
HEAD_BYTES = 256 * 1024  # what is read of a session's start to title it
TITLE_CHARS = 80


def config_dirs(environ: dict | None = None) -> list[Path]:
    """The folders that may hold a ``projects`` folder: ``CLAUDE_CONFIG_DIR``'s first, then the
    two defaults; each once, only those whose ``projects`` exists."""
    env = os.environ if environ is None else environ
    wanted = [p.strip() for p in (env.get(CONFIG_ENV) or "").split(",") if p.strip()]
    wanted += [os.path.expanduser(p) for p in DEFAULT_CONFIGS]
    out: list[Path] = []
    for raw in wanted:
        folder = Path(raw).expanduser().resolve()
        if folder not in out and (folder / "projects").is_dir():
            out.append(folder)
    return out


@dataclass(frozen=True)
class SessionFile:
    path: Path
    size: int
    modified: float
    subagents: tuple[Path, ...]

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def files(self) -> tuple[Path, ...]:
        """The session's own file, then its subagents'."""
        return (self.path, *self.subagents)


@dataclass(frozen=True)
class Project:
    folder: Path
    modified: float  # the newest session's

    @property
    def name(self) -> str:
        """The project's path as Claude Code encoded it ("-home-me-src-app" for
        /home/me/src/app; a "-" in a folder name cannot be told from a "/")."""
        name = self.folder.name
        return name.replace("-", "/") if name.startswith("-") else name


def _regular(path: Path) -> os.stat_result | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def subagent_files(session: Path) -> tuple[Path, ...]:
    """``<session id>/subagents/agent-*.jsonl`` beside the session's file, by name."""
    folder = session.with_suffix("") / "subagents"
    try:
        found = sorted(folder.glob("agent-*.jsonl"))
    except OSError:
        return ()
    return tuple(p for p in found if _regular(p) is not None)


def sessions(project: Path) -> list[SessionFile]:
    """A project folder's sessions, the most recently written first."""
    out = []
    try:
        candidates = list(project.glob("*.jsonl"))
    except OSError:
        return []
    for path in candidates:
        info = _regular(path)
        if info is None or path.name.startswith("agent-"):
            continue
        agents = subagent_files(path)
        newest = max([info.st_mtime, *(p.stat().st_mtime for p in agents if _regular(p))])
        out.append(SessionFile(path, info.st_size, newest, agents))
    return sorted(out, key=lambda s: -s.modified)


def projects(configs: list[Path] | None = None) -> list[Project]:
    """Every project folder under each config folder's ``projects``, the most recently used
    first (a project with no session file is left out)."""
    out = []
    for config in config_dirs() if configs is None else configs:
        try:
            folders = [p for p in (config / "projects").iterdir() if p.is_dir()]
        except OSError:
            continue
        for folder in folders:
            found = sessions(folder)
            if found:
                out.append(Project(folder, found[0].modified))
    return sorted(out, key=lambda p: -p.modified)


def title_of(path: Path) -> str:
    """A session's title: its ``summary`` line, else its first prompt (from the first 256 KB,
    read once; a line that is not JSON is passed over)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError:
        return ""
    prompt = ""
    for raw in head.split(b"\n"):
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(line, dict):
            continue
        if line.get("type") == "summary" and isinstance(line.get("summary"), str):
            return line["summary"][:TITLE_CHARS]
        if not prompt and line.get("type") == "user" and not line.get("isMeta"):
            prompt = _prompt_text((line.get("message") or {}).get("content"))
    return prompt[:TITLE_CHARS]


def _prompt_text(content) -> str:
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = " ".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    else:
        return ""
    text = " ".join(text.split())
    return "" if text.startswith("<") else text
