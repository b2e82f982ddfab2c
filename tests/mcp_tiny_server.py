"""A tiny MCP server (stdio, the official SDK) the tests start as a real process: one tool that
works, one that kills its process (another saying why first), one that never answers, one that
asks for input (an elicitation), one that writes garbage first, one that tells its environment,
one that floods its stderr, one with a huge result, and two whose names meet once made API-safe
(``a/b`` and ``a_b``). Run with ``--silent`` it never speaks; with
``--garbage`` it writes lines that are not MCP on its stdout without end and never answers."""

import os
import sys
import time

from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel

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
def die_saying(words: str) -> str:
    """Write these words to stderr, then end the server process at once."""
    sys.stderr.write(words + "\n")
    sys.stderr.flush()
    os._exit(1)


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


class Answer(BaseModel):
    colour: str


@server.tool()
async def ask(ctx: Context) -> str:
    """Ask the user for a colour (an elicitation), then answer with it."""
    answer = await ctx.elicit("Which colour?", Answer)
    return f"you chose {answer.data.colour}" if answer.action == "accept" else answer.action


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
    if "--garbage" in sys.argv:  # lines that are not MCP on stdout, without end, no handshake
        while True:
            sys.stdout.write("this is not MCP: {{{ garbage line\n")
            sys.stdout.flush()
    server.run()
