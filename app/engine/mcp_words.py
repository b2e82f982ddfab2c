"""What the app says about an MCP server that misbehaves: one sentence per failure with the
server's own words (only what it wrote during the call that failed), and lines that are not MCP
counted, never logged one by one.

The MCP SDK logs every line it cannot parse with a traceback (``mcp.client.stdio``): a server
writing garbage before its handshake produced 36,788 tracebacks, 33.7 MB, in 15 s (issue 40).
Those records are dropped here (``quiet_sdk_parse_errors``); the hub logs the first such line of
each server and, when the server ends, how many more there were.
"""

from __future__ import annotations

import json
import logging

from app.engine.child_output import OutputTail

log = logging.getLogger(__name__)
SDK_PARSE_FAILURE = "Failed to parse JSONRPC message from server"
SAID_CHARS = 200
REQUEST_TIMEOUT = -32001  # JSON-RPC codes the MCP SDK raises for a request that timed out
CONNECTION_CLOSED = -32000  # ... and for a connection that closed under a request
TOO_SLOW = "a result of many megabytes is read that slowly: ask the tool for less"
ELICITATION = (
    " The tool asked for input while it ran (an MCP elicitation), which Cachescope cannot "
    "answer: call it with everything it needs, or use a tool that does not ask."
)


class _DropSdkParseFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != SDK_PARSE_FAILURE


_DROP = _DropSdkParseFailures()


def quiet_sdk_parse_errors() -> None:
    """The SDK's traceback per unparsable line goes; the hub says it once per server."""
    sdk = logging.getLogger("mcp.client.stdio")
    if _DROP not in sdk.filters:
        sdk.addFilter(_DROP)


def leaf(exc: BaseException) -> BaseException:
    """The first real error inside task-group wrappers ("unhandled errors in a TaskGroup")."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def not_mcp_line(problem: BaseException) -> str:
    """The line a server wrote that is not MCP, as it wrote it (cut), from the SDK's error."""
    problem = leaf(problem)
    errors = getattr(problem, "errors", None)
    found = None
    if callable(errors):
        try:
            found = (errors() or [{}])[0].get("input")
        except Exception:  # noqa: BLE001 - any other error: its text below
            found = None
    if isinstance(found, str):
        text = found
    elif found is not None:
        text = json.dumps(found, default=str)
    else:
        text = str(problem)
    return text[:120]


class NotMcpLines:
    """Per server: the first line that is not MCP is logged, the others counted; ``ended`` logs
    how many repeated and starts the count again."""

    def __init__(self, server: str):
        self.server = server
        self.count = 0
        self.first = ""

    def seen(self, problem: BaseException) -> str:
        """Count one; the sentence for the server's error (set once, by the first)."""
        self.count += 1
        if self.count == 1:
            self.first = not_mcp_line(problem)
            log.warning(
                "MCP server %r wrote a line that is not MCP on its output: %r",
                self.server,
                self.first,
            )
        return (
            f"wrote a line that is not MCP on its output: {self.first!r} (an MCP stdio server"
            " writes only MCP there; its own messages go to stderr)"
        )

    def ended(self) -> None:
        if self.count > 1:
            log.warning(
                "MCP server %r: the line that is not MCP repeated %s times",
                self.server,
                f"{self.count - 1:,}",
            )
        self.count, self.first = 0, ""


def said_since(output: OutputTail | None, mark: int) -> str:
    """`` (it said: ...)`` with the last line the server wrote on stderr since byte ``mark`` of
    its output, or "" when it wrote nothing since (an older line is no explanation)."""
    if output is None:
        return ""
    lines = output.since(mark)[-2000:].strip().splitlines()
    return f" (it said: {lines[-1].strip()[:SAID_CHARS]})" if lines else ""


def describe_failure(
    exc: BaseException, command: str, output: OutputTail | None, mark: int, late: str
) -> str:
    """What went wrong with a server, in words (``late``: what to say when it timed out), and
    what it said about it."""
    exc = leaf(exc)
    code = getattr(getattr(exc, "error", None), "code", None)
    text = str(exc)[:300] or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {command}"
    if code == REQUEST_TIMEOUT or isinstance(exc, TimeoutError) or "timed out" in text:
        text = late
    elif code == CONNECTION_CLOSED or "Connection closed" in text or isinstance(exc, EOFError):
        text = "the server process ended"
    return text + said_since(output, mark)


def refused_call(server: str, message: str, output: OutputTail | None, mark: int) -> str:
    """The server answered the call with an error of its own (it keeps running)."""
    hint = ELICITATION if "elicitation" in message.lower() else ""
    said = said_since(output, mark)
    words = message[:300].rstrip(". ") or "no reason given"
    return f"MCP server {server!r} answered the call with an error: {words}{said}.{hint}"
