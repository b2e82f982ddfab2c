"""A tiny MCP server (stdio, the official SDK) the tests start as a real process: one tool that
works, one that kills its process, one that never answers, one that writes garbage first."""

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


if __name__ == "__main__":
    server.run()
