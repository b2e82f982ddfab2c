"""How much of the main window other code reaches into (issue #15's measure).

Counts the lines of ``app/ui/main_window.py`` and the distinct window attributes that code outside
the window class uses: ``window.X`` / ``self.window.X`` anywhere in ``app/`` (and ``w.X``, the alias
for it, in ``app/ui``), and, in mixins the window inherits (none since issue 26: the features
under ``app/ui/features`` attach to it and count as other code), ``self.X`` for an X the mixin
does not define.

    python tests/perf/window_reach.py [ROOT]   # ROOT: a checkout (default: this one)
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

MIXINS: tuple[str, ...] = ()  # the window inherits none since issue 26 (features attach)


def _is_window(node: ast.expr, in_ui: bool) -> bool:
    if isinstance(node, ast.Name):  # in app/ui, ``w`` is the local alias for the window
        return node.id == "window" or (in_ui and node.id == "w")
    return isinstance(node, ast.Attribute) and node.attr == "window"


def _defined_by(tree: ast.AST) -> set[str]:
    names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                    names.add(target.attr)
    return names


def reach(root: Path) -> dict[str, object]:
    used: dict[str, set[str]] = {}
    for path in sorted((root / "app").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "app/ui/main_window.py":
            continue
        tree = ast.parse(path.read_text())
        mixin = rel in MIXINS
        own = _defined_by(tree) if mixin else set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            if _is_window(node.value, rel.startswith("app/ui/")) or (
                mixin
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
                and node.attr not in own
            ):
                used.setdefault(node.attr, set()).add(rel)
    lines = len((root / "app/ui/main_window.py").read_text().splitlines())
    return {
        "main_window_lines": lines,
        "attributes_reached": len(used),
        "by_attribute": {k: sorted(v) for k, v in sorted(used.items())},
    }


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    print(json.dumps(reach(root), indent=1))
