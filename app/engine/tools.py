"""Two local tools the app can run safely: a calculator (no eval) and the current date and time."""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

from app.conversation.blocks import ToolDefinition

MAX_EXPRESSION = 500
MAX_EXPONENT = 10_000
MAX_MAGNITUDE = 1e300

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {"sqrt": math.sqrt, "abs": abs, "round": round, "log": math.log, "exp": math.exp}
_CONSTANTS = {"pi": math.pi, "e": math.e}


class ToolFailure(ValueError):
    pass


def _evaluate(node: ast.AST) -> float | int:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ToolFailure("exponent too large")
        value = _BINARY[type(node.op)](left, right)
        if isinstance(value, complex) or abs(value) > MAX_MAGNITUDE:
            raise ToolFailure("result out of range")
        return value
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*[_evaluate(a) for a in node.args])
    raise ToolFailure(f"not allowed in an expression: {ast.dump(node)[:40]}")


def calculate(expression: str) -> str:
    if not isinstance(expression, str) or not expression.strip():
        raise ToolFailure("no expression given")
    if len(expression) > MAX_EXPRESSION:
        raise ToolFailure("expression too long")
    try:
        tree = ast.parse(expression.strip().replace("^", "**"), mode="eval")
        value = _evaluate(tree)
    except SyntaxError:
        raise ToolFailure(f"cannot parse {expression!r}") from None
    except ZeroDivisionError:
        raise ToolFailure("division by zero") from None
    except (OverflowError, ValueError, TypeError) as exc:
        raise ToolFailure(str(exc)) from None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return str(value)


def current_time(now: Callable[[], dt.datetime] | None = None) -> str:
    moment = (now or (lambda: dt.datetime.now().astimezone()))()
    return moment.isoformat(timespec="seconds") + f" ({moment.strftime('%A')})"


@dataclass(frozen=True)
class LocalTool:
    definition: ToolDefinition
    run: Callable[[dict], str]


CALCULATOR = LocalTool(
    ToolDefinition.create(
        "calculator",
        "Evaluate an arithmetic expression exactly: + - * / // % ** and parentheses, sqrt, abs, "
        "round, log, exp, pi, e.",
        {
            "type": "object",
            "properties": {"expression": {"type": "string", "description": "e.g. (2+3)*4"}},
            "required": ["expression"],
        },
    ),
    lambda args: calculate(args.get("expression", "")),
)
CLOCK = LocalTool(
    ToolDefinition.create(
        "clock", "The current local date and time.", {"type": "object", "properties": {}}
    ),
    lambda args: current_time(),
)
BUILT_IN = {tool.definition.name: tool for tool in (CALCULATOR, CLOCK)}


def run_tool(
    name: str, arguments: dict, tools: dict[str, LocalTool] | None = None
) -> tuple[str, bool]:
    """Run a tool; returns (text, is_error). Unknown tools and failures are errors, not crashes."""
    table = BUILT_IN if tools is None else tools
    tool = table.get(name)
    if tool is None:
        return f"Unknown tool {name!r}: this app cannot run it.", True
    try:
        return tool.run(arguments if isinstance(arguments, dict) else {}), False
    except ToolFailure as exc:
        return f"{name} failed: {exc}", True
