"""The MCP servers of ``mcp.json`` as the workspace keeps them: read at launch, the ones not
disabled started in the background, restarted when the user edits them, stopped at quit; the
engine's toolbox calls the running ones, asking the user through ``approve``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from app.engine.engine import Engine
from app.engine.mcp_hub import SEPARATOR, ConfigError, McpHub, parse_servers
from app.engine.tools import BUILT_IN

MCP_FILE = "mcp.json"


class ToolServers:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.hub = McpHub([])
        self.text = ""  # mcp.json as the user wrote it
        self.folder: Path | None = None

    def install(
        self,
        folder: Path | None,
        approve=None,
        always: dict[str, set[str]] | None = None,
        remember: Callable[[dict[str, set[str]]], None] | None = None,
    ) -> str:
        """The servers of ``folder/mcp.json`` (none when missing); returns what went wrong in a
        sentence ("" when nothing did). ``approve`` asks before a call, ``always`` holds what
        needs no asking, ``remember`` keeps a new "always"."""
        self.folder = folder
        problem, text = "", ""
        if folder is not None and (folder / MCP_FILE).is_file():
            try:
                text = (folder / MCP_FILE).read_text("utf-8")
            except OSError as exc:
                problem = f"MCP servers not read: {exc.strerror or exc}."
        self.text = text
        try:
            configs = parse_servers(text)
        except ConfigError as exc:
            configs = []
            problem = f"{MCP_FILE}: {exc} No MCP server was started."
        self.hub = McpHub(configs)
        self.engine.use_tools(self.hub, approve=approve, always=always, remember=remember)
        return problem

    async def start_enabled(self) -> str:
        """At launch: the servers that are not disabled start, so the tools a conversation
        sends are there before it calls one. Returns which did not start, in a sentence."""
        if not self.hub.servers:
            return ""
        states = await self.hub.start_enabled()
        failed = [f"{s.config.name} ({s.error})" for s in states if s.status != "running"]
        return "MCP servers that did not start: " + "; ".join(failed) + "." if failed else ""

    def save(self, text: str) -> str:
        """Check and keep the servers' JSON (in mcp.json when there is a folder): "" or what is
        wrong with it; the servers are restarted by ``restart``."""
        try:
            parse_servers(text)
        except ConfigError as exc:
            return str(exc)
        if self.folder is not None:
            try:
                (self.folder / MCP_FILE).write_text(text, "utf-8")
            except OSError as exc:
                return f"{MCP_FILE} not saved: {exc.strerror or exc}."
        self.text = text
        return ""

    async def restart(self) -> None:
        """Stop every server and start the ones the JSON now lists."""
        await self.stop()
        configs = parse_servers(self.text)
        self.hub = McpHub(configs)
        self.engine.use_tools(self.hub)
        await asyncio.gather(*(self.hub.start(c.name) for c in configs))

    async def stop(self) -> None:
        await self.hub.stop_all()
        await asyncio.to_thread(self.hub.close)

    def offered(self, sent: tuple) -> list:
        """The definitions a conversation may choose from: the built-in tools, the running
        servers' tools, and the tools of a configured server the conversation sends while that
        server is not running (its definition is still sent: it stays offered, shown checked)."""
        mcp = [t.definition() for t in self.hub.tools()]
        names = {t.name for t in mcp}
        prefixes = tuple(f"{name}{SEPARATOR}" for name in self.hub.servers)
        kept = [t for t in sent if prefixes and t.name.startswith(prefixes) and t.name not in names]
        return [t.definition for t in BUILT_IN.values()] + mcp + kept

    def status(self) -> str:
        """How each server is, one line each."""
        lines = [
            f"{s.config.name}: {s.status}"
            + (f", {len(s.tools)} tools" if s.tools else "")
            + (f" ({s.error})" if s.error else "")
            for s in self.hub.servers.values()
        ]
        return "\n".join(lines) or "No MCP server is configured."
