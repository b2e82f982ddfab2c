"""MCP tool servers, through the official ``mcp`` SDK: configured in the ``mcpServers`` JSON shape
(a stdio ``command`` with ``args`` and ``env``, or a streamable HTTP ``url``), started and stopped
by the app, their tools listed and called.

Every server lives in one task of the hub's own event loop, on its own thread, so a server that
hangs, floods or dies never blocks the window's loop; the caller awaits a future with a time
limit. A call that fails for any reason (crash, hang, garbage, a refused argument) comes back as
``(message, True)``: the text the model gets as an error result.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from app.conversation.blocks import ToolDefinition
from app.engine.child_env import child_environment
from app.engine.child_guard import guarded
from app.engine.child_output import OutputTail
from app.engine.mcp_words import (
    CONNECTION_CLOSED,
    REQUEST_TIMEOUT,
    TOO_SLOW,
    NotMcpLines,
    describe_failure,
    quiet_sdk_parse_errors,
    refused_call,
)

log = logging.getLogger(__name__)
NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_RESULT_CHARS = 100_000
SEPARATOR = "__"  # server__tool: the name the API sees (at most 64 characters)


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ServerConfig:
    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str = ""
    disabled: bool = False  # "disabled": true in mcp.json: kept, not started at launch

    @property
    def where(self) -> str:
        return self.url or " ".join((self.command, *self.args))


def parse_servers(text: str) -> list[ServerConfig]:
    """The servers of an ``{"mcpServers": {...}}`` document (an empty text: none), sorted by
    name; a clear ``ConfigError`` for anything else."""
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"Not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ConfigError('Expected {"mcpServers": {"name": {"command": ...}}}.')
    out = []
    for name, entry in servers.items():
        if not NAME.match(name):
            raise ConfigError(f"Server name {name!r}: use letters, digits, - and _ (at most 32).")
        if not isinstance(entry, dict):
            raise ConfigError(f"Server {name!r}: expected an object.")
        command, url = entry.get("command", ""), entry.get("url", "")
        if not isinstance(command, str) or not isinstance(url, str) or bool(command) == bool(url):
            raise ConfigError(f"Server {name!r}: give either a command or a url.")
        args, env = entry.get("args", []), entry.get("env", {})
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ConfigError(f"Server {name!r}: args must be a list of strings.")
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise ConfigError(f"Server {name!r}: env must map names to strings.")
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"Server {name!r}: the url must start with http:// or https://.")
        disabled = entry.get("disabled", False)
        if not isinstance(disabled, bool):
            raise ConfigError(f"Server {name!r}: disabled must be true or false.")
        env_items = tuple(sorted(env.items()))
        out.append(ServerConfig(name, command, tuple(args), env_items, url, disabled))
    return sorted(out, key=lambda c: c.name)


def add_server(text: str, name: str, target: str, args: str = "", env: str = "") -> str:
    """The servers' JSON with one more: a stdio server (``target`` a command, ``args`` as a
    shell would split them, ``env`` as ``NAME=value`` separated by spaces or commas) or an
    HTTP one (``target`` a URL). The result is checked as the file is; ``ConfigError`` says
    what is wrong, and the text given is left as it was."""
    parse_servers(text)  # the JSON as it stands must already be valid
    data = json.loads(text) if text.strip() else {"mcpServers": {}}
    servers = data.setdefault("mcpServers", {})
    name, target = name.strip(), target.strip()
    if name in servers:
        raise ConfigError(f"A server named {name!r} is already configured.")
    if target.startswith(("http://", "https://")):
        entry: dict = {"url": target}
    else:
        try:
            words = shlex.split(f"{target} {args}")
        except ValueError as exc:
            raise ConfigError(f"Command and arguments: {exc}.") from None
        if not words:
            raise ConfigError("Give a command to start the server, or its URL.")
        entry = {"command": words[0], "args": words[1:]}
        pairs = [p for p in re.split(r"[,\s]+", env.strip()) if p]
        if any("=" not in p for p in pairs):
            raise ConfigError("Environment: write NAME=value pairs.")
        if pairs:
            entry["env"] = dict(p.split("=", 1) for p in pairs)
    servers[name] = entry
    out = json.dumps(data, indent=2)
    parse_servers(out)  # the new entry is checked as the file is
    return out


@dataclass(frozen=True)
class McpTool:
    server: str
    name: str  # the server's own name for it
    description: str
    schema_json: str  # canonical JSON of the input schema
    api_name: str = ""  # the name the API sees: unique among every server's tools

    def __post_init__(self):
        if not self.api_name:
            object.__setattr__(self, "api_name", api_name(self.server, self.name))

    def definition(self) -> ToolDefinition:
        schema = json.loads(self.schema_json)
        plain = self.api_name == f"{self.server}{SEPARATOR}{self.name}"
        where = self.server if plain else f"{self.server}: {self.name}"
        return ToolDefinition.create(self.api_name, f"[{where}] {self.description}".strip(), schema)


def api_name(server: str, tool: str, always_mark: bool = False) -> str:
    """The name a server's tool has in ``tools`` (the API allows [A-Za-z0-9_-]{1,64}). A name
    that had to change (characters replaced, cut at 64) ends in a short hash of the original, so
    ``a/b`` and ``a_b`` stay two tools; the same tool gets the same name every time."""
    raw = f"{server}{SEPARATOR}{tool}"
    name = re.sub(r"[^A-Za-z0-9_-]", "_", raw)
    if name == raw and len(name) <= 64 and not always_mark:
        return name
    mark = hashlib.sha256(f"{server}\0{tool}".encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{name[:57]}_{mark}"


def unique_names(tools: list[McpTool]) -> list[McpTool]:
    """Every tool with an API name of its own: two that still meet (``a__`` + ``b`` and ``a`` +
    ``_b``) both get the hashed form. Sorted by that name."""
    seen: dict[str, int] = {}
    for tool in tools:
        seen[tool.api_name] = seen.get(tool.api_name, 0) + 1
    out = [
        replace(t, api_name=api_name(t.server, t.name, always_mark=True))
        if seen[t.api_name] > 1
        else t
        for t in tools
    ]
    return sorted(out, key=lambda t: t.api_name)


@dataclass
class ServerState:
    config: ServerConfig
    status: str = "stopped"  # stopped, starting, running, failed
    error: str = ""
    tools: tuple[McpTool, ...] = ()
    session: object = None
    stop: asyncio.Event | None = None
    task: asyncio.Task | None = None
    log: OutputTail | None = None  # the end of the server's stderr, for the message when it dies
    mark: int = 0  # how much of it was written before the operation under way (start, a call)
    not_mcp: NotMcpLines | None = None  # its lines that are not MCP, counted

    def __post_init__(self):
        self.not_mcp = self.not_mcp or NotMcpLines(self.config.name)


@dataclass
class McpHub:
    """The configured servers; ``start``/``stop``/``call`` are awaited from any event loop."""

    configs: list[ServerConfig]
    start_timeout_s: float = 30.0
    call_timeout_s: float = 60.0
    on_change: Callable[[str], None] | None = None  # called (on the hub's thread) with a name
    servers: dict[str, ServerState] = field(default_factory=dict)

    def __post_init__(self):
        self.servers = {c.name: ServerState(c) for c in self.configs}
        quiet_sdk_parse_errors()  # lines that are not MCP are counted per server instead
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- the hub's own loop ---------------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name="mcp servers", daemon=True
            )
            self._thread.start()
        return self._loop

    async def _on_hub(self, coro, timeout: float):
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure_loop())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        finally:
            future.cancel()

    def _changed(self, name: str) -> None:
        if self.on_change is not None:
            self.on_change(name)

    # -- what the app asks ----------------------------------------------------------------------
    def tools(self) -> list[McpTool]:
        return unique_names([t for s in self.servers.values() for t in s.tools])

    def find(self, api_tool_name: str) -> McpTool | None:
        return next((t for t in self.tools() if t.api_name == api_tool_name), None)

    async def start(self, name: str) -> ServerState:
        state = self.servers[name]
        if state.status == "running":
            return state
        try:
            await self._on_hub(self._start(state), self.start_timeout_s + 5)
        except TimeoutError:
            state.status, state.error = "failed", f"did not start in {self.start_timeout_s:.0f} s"
            await self.stop(name)
        return state

    async def start_enabled(self) -> list[ServerState]:
        """Start every server not marked disabled (at launch, and when a conversation calls a
        tool no running server offers); those already running are left as they are."""
        names = [n for n, s in self.servers.items() if not s.config.disabled]
        return list(await asyncio.gather(*(self.start(n) for n in names)))

    async def stop(self, name: str) -> None:
        state = self.servers[name]
        if state.task is None:
            return
        with contextlib.suppress(Exception):
            await self._on_hub(self._stop(state), 15)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(n) for n in self.servers), return_exceptions=True)

    def close(self) -> None:
        """Stop every server (from a thread with no running loop) and end the hub's thread."""
        if self._loop is None:
            return
        for state in self.servers.values():
            if state.task is not None:
                future = asyncio.run_coroutine_threadsafe(self._stop(state), self._loop)
                with contextlib.suppress(Exception):
                    future.result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    async def call(self, server: str, tool: str, arguments: dict) -> tuple[str, bool]:
        """Run one tool; (text, is_error). Starts the server if it is not running."""
        state = self.servers.get(server)
        if state is None:
            return f"No MCP server named {server!r} is configured.", True
        if state.status != "running":
            await self.start(server)
            if state.status != "running":
                return f"MCP server {server!r} could not start: {state.error}", True
        try:
            return await self._on_hub(self._call(state, tool, arguments), self.call_timeout_s + 5)
        except TimeoutError:
            return await self._failed(
                state, f"did not answer in {self.call_timeout_s:.0f} s ({TOO_SLOW})"
            )

    # -- on the hub's loop ----------------------------------------------------------------------
    async def _start(self, state: ServerState) -> None:
        ready = asyncio.get_running_loop().create_future()
        state.status, state.error, state.stop = "starting", "", asyncio.Event()
        self._changed(state.config.name)
        state.task = asyncio.create_task(self._serve(state, ready))
        await ready

    async def _serve(self, state: ServerState, ready: asyncio.Future) -> None:
        from mcp import ClientSession

        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await self._connect(state, stack)
                session = await stack.enter_async_context(
                    ClientSession(read, write, message_handler=self._watch(state))
                )
                try:
                    await asyncio.wait_for(session.initialize(), self.start_timeout_s)
                except TimeoutError:
                    state.error = state.error or (
                        f"did not answer the MCP handshake in {self.start_timeout_s:.0f} s"
                        " (is the command an MCP stdio server?)"
                    )
                    raise
                state.tools = await self._list_tools(state.config.name, session)
                state.session, state.status = session, "running"
                self._changed(state.config.name)
                ready.set_result(None)
                await state.stop.wait()
        except BaseException as exc:  # noqa: BLE001 - whatever a server does, the app goes on
            if state.status != "stopped":
                state.status = "failed"
                state.error = state.error or self._describe(state, exc, starting=True)
                log.warning("MCP server %r failed: %s", state.config.name, state.error)
        finally:
            state.session = None
            state.not_mcp.ended()
            if not ready.done():
                ready.set_result(None)
            self._changed(state.config.name)

    @staticmethod
    def _watch(state: ServerState):
        """The session's message handler: a line on stdout that is not JSON-RPC is counted and
        the first one named in the failure (the session itself would only time out)."""

        async def handle(message) -> None:
            if isinstance(message, Exception):
                said = state.not_mcp.seen(message)
                state.error = state.error or said

        return handle

    async def _connect(self, state: ServerState, stack: contextlib.AsyncExitStack):
        config = state.config
        if config.url:
            from mcp.client.streamable_http import streamable_http_client

            streams = await stack.enter_async_context(streamable_http_client(config.url))
            return streams[0], streams[1]
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        state.log, state.mark = stack.enter_context(OutputTail()), 0
        env = child_environment(dict(config.env))
        command, args = guarded(config.command, list(config.args), env)  # ends with the app
        params = StdioServerParameters(command=command, args=args, env=env)
        return await stack.enter_async_context(stdio_client(params, errlog=state.log.writer))

    async def _list_tools(self, server: str, session) -> tuple[McpTool, ...]:
        from mcp.types import PaginatedRequestParams

        tools, cursor = [], None
        for _ in range(50):  # pages
            params = PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await asyncio.wait_for(session.list_tools(params=params), self.start_timeout_s)
            for tool in page.tools:
                schema = getattr(tool, "input_schema", None) or {"type": "object"}
                text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
                tools.append(McpTool(server, tool.name, tool.description or "", text))
            cursor = page.next_cursor
            if not cursor:
                break
        return tuple(sorted(tools, key=lambda t: t.name))

    async def _stop(self, state: ServerState) -> None:
        task = state.task
        starting = state.session is None  # still in its handshake: nothing to end gently
        if state.status != "failed":  # before the task ends: its ending is then no failure
            state.status = "stopped"
        if state.stop is not None:
            state.stop.set()
        if task is not None:
            if starting:  # the SDK still closes stdin, then ends the process group (shielded)
                task.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(task), 10)
            except BaseException:  # noqa: BLE001 - a server that will not end is cancelled
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        state.task = None
        self._changed(state.config.name)

    async def _call(self, state: ServerState, tool: str, arguments: dict) -> tuple[str, bool]:
        from mcp.shared.exceptions import MCPError

        session = state.session
        if session is None:
            return f"MCP server {state.config.name!r} is not running.", True
        state.mark = state.log.total if state.log is not None else 0  # its words from here on
        try:
            result = await session.call_tool(
                tool, arguments, read_timeout_seconds=self.call_timeout_s
            )
        except MCPError as exc:
            if exc.error.code not in (REQUEST_TIMEOUT, CONNECTION_CLOSED):  # its own answer
                said = refused_call(state.config.name, exc.error.message, state.log, state.mark)
                return said, True
            message = await self._described(state, exc)
            state.status, state.error = "failed", message
            await self._stop(state)
            return f"MCP server {state.config.name!r} failed: {message}; it was stopped.", True
        except Exception as exc:  # noqa: BLE001 - a dead or confused server
            message = await self._described(state, exc)
            state.status, state.error = "failed", message
            await self._stop(state)
            return f"MCP server {state.config.name!r} failed: {message}", True
        return result_text(result)

    async def _failed(self, state: ServerState, why: str) -> tuple[str, bool]:
        state.status, state.error = "failed", why
        await self.stop(state.config.name)
        return f"MCP server {state.config.name!r} {why}; it was stopped.", True

    async def _described(self, state: ServerState, exc: BaseException) -> str:
        """``_describe`` once the server's last words have come through its stderr pipe (a
        reader thread drains it: wait until it has been quiet for 50 ms, at most 0.5 s)."""
        if state.log is not None:
            loop = asyncio.get_running_loop()
            deadline, seen = loop.time() + 0.5, -1
            while seen != state.log.total and loop.time() < deadline:
                seen = state.log.total
                await asyncio.sleep(0.05)
        return self._describe(state, exc)

    def _describe(self, state: ServerState, exc: BaseException, starting: bool = False) -> str:
        if starting:
            late = f"did not answer in {self.start_timeout_s:.0f} s while starting"
        else:
            late = f"did not answer in {self.call_timeout_s:.0f} s ({TOO_SLOW})"
        return describe_failure(exc, state.config.command, state.log, state.mark, late)


def result_text(result) -> tuple[str, bool]:
    """A ``CallToolResult`` as the text of a tool result, and whether it is an error."""
    content = getattr(result, "content", None)
    if content is None:
        return "The MCP server asked for input this app cannot give.", True
    parts = []
    for item in content:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {getattr(item, 'mime_type', '')} left out]")
        else:
            parts.append(f"[{kind or 'unknown'} content left out]")
    text = "\n".join(parts) or "(no output)"
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f"\n[cut at {MAX_RESULT_CHARS:,} characters]"
    return text, bool(getattr(result, "is_error", False))
