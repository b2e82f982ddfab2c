"""What runs a ``tool_use``: the built-in calculator and clock here, an MCP server's tool through
the hub, and the latter only after the user approved that call (or always allows that tool of
that server). Approval is the only path from a model's tool call to a process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from app.conversation.blocks import TextBlock, ToolResultBlock, ToolUseBlock
from app.engine.mcp_hub import McpHub
from app.engine.tools import BUILT_IN, LocalTool, run_tool

ONCE, ALWAYS, DENY = "once", "always", "deny"
DENIED = "The user declined to run this tool call."


@dataclass(frozen=True)
class ApprovalRequest:
    server: str
    tool: str
    arguments_json: str  # as the model wrote them, shown before anything runs


@dataclass(frozen=True)
class ToolOutcome:
    text: str  # what the model gets as the tool result
    is_error: bool
    problem: str = ""  # what the user should hear (a server that failed), "" when nothing


Approver = Callable[[ApprovalRequest], Awaitable[str]]


@dataclass
class ToolBox:
    local: dict[str, LocalTool] = field(default_factory=lambda: dict(BUILT_IN))
    hub: McpHub | None = None
    approve: Approver | None = None  # None: MCP tools are refused (nobody can approve)
    always: dict[str, set[str]] = field(default_factory=dict)  # server -> tools always allowed
    remember: Callable[[dict[str, set[str]]], None] | None = None  # saves ``always``

    async def answer(
        self,
        calls: list[ToolUseBlock],
        allowed: bool,
        report: Callable[[ToolUseBlock, ToolOutcome], None],
    ) -> list[ToolResultBlock]:
        """A result for every call, in order (none runs when the round limit is reached)."""
        results = []
        for call in calls:
            if allowed:
                outcome = await self.run(call)
            else:
                outcome = ToolOutcome("Tool round limit reached; not run.", True)
            report(call, outcome)
            results.append(ToolResultBlock(call.id, (TextBlock(outcome.text),), outcome.is_error))
        return results

    async def run(self, call: ToolUseBlock) -> ToolOutcome:
        if call.name in self.local:
            text, is_error = run_tool(call.name, call.input, self.local)
            return ToolOutcome(text, is_error)
        tool = self.hub.find(call.name) if self.hub is not None else None
        if tool is None and self.hub is not None and self.hub.servers:
            await self.hub.start_enabled()  # its server may not have been started yet
            tool = self.hub.find(call.name)
        if tool is None:
            where = (
                "no MCP server that is running offers it (Claude → Tools and MCP servers shows"
                " each server's state)"
                if self.hub is not None and self.hub.servers
                else "this app cannot run it"
            )
            return ToolOutcome(f"Unknown tool {call.name!r}: {where}.", True)
        if tool.name not in self.always.get(tool.server, set()):
            if self.approve is None:
                return ToolOutcome(DENIED, True)
            request = ApprovalRequest(tool.server, tool.name, call.input_json)
            answer = await self.approve(request)
            if answer == ALWAYS:
                self.always.setdefault(tool.server, set()).add(tool.name)
                if self.remember is not None:
                    self.remember(self.always)
            elif answer != ONCE:
                return ToolOutcome(DENIED, True)
        text, is_error = await self.hub.call(tool.server, tool.name, call.input)
        state = self.hub.servers[tool.server]
        problem = f"MCP server {tool.server}: {state.error}" if state.status == "failed" else ""
        return ToolOutcome(text, is_error, problem)
