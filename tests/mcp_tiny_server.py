"""A tiny MCP server (stdio, the official SDK) the tests start as a real process: one tool that
works, one that kills its process, one that never answers, one that writes garbage first, one
that tells its environment, one that floods its stderr, one with a huge result, and two whose
names meet once made API-safe (``a/b`` and ``a_b``)."""

import os
import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("tiny")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def crash() -> str:
    """End the server process at once."""
    os._exit(3)


@server.tool()
def hang() -> str:
    """Never answer."""
    time.sleep(3600)
    return "never"


@server.tool()
def garbage() -> str:
    """Write bytes that are not JSON-RPC to stdout, then never answer properly."""
    sys.stdout.write("this is not json\n{{{\n")
    sys.stdout.flush()
    os._exit(0)


@server.tool()
def environment() -> str:
    """The names of the variables in this process's environment, one per line."""
    return "\n".join(sorted(os.environ))


@server.tool()
def chatter(megabytes: int) -> str:
    """Write this many megabytes to stderr, then answer."""
    line = "chatter " * 127 + "\n"
    for _ in range(megabytes * 1024):
        sys.stderr.write(line)
    sys.stderr.flush()
    return "said it all"


@server.tool()
def huge(megabytes: int) -> str:
    """A result of this many megabytes."""
    return "x" * (megabytes * 1_000_000)


@server.tool(name="a/b")
def a_slash_b() -> str:
    """The tool named a/b."""
    return "slash"


@server.tool(name="a_b")
def a_underscore_b() -> str:
    """The tool named a_b."""
    return "underscore"


if __name__ == "__main__":
    if "--silent" in sys.argv:  # a process that never speaks MCP
        time.sleep(3600)
    server.run()
