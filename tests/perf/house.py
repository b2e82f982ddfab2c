"""How livable the code is (issue 37's acceptance), measured on a checkout:

    python tests/perf/house.py [ROOT]      # ROOT: a checkout (default: this one); prints JSON

- window_attributes_reached: distinct attributes of the main window that other code uses
  (``tests/perf/window_reach.py``); goal <= 10.
- conversation_chains_in_ui: ``chat.conversation.X`` in ``app/ui`` (a view reaching through the
  chat into its conversation); goal 0.
- private_members_reached: ``name._x`` where ``name`` is not ``self``/``cls`` (another object's
  private member) anywhere in ``app``; goal 0.
- task_owners: the modules of the app that start asyncio tasks (``create_task``,
  ``ensure_future``); the simulator, the inspector's endpoint (a server thread in the window,
  ``asyncio.run`` on the command line; its keep-alive's tasks end when it stops) and the replay's
  virtual loop run loops of their own and are not the app's; goal <= 3, each ended at quit.
- files_over_500_lines: goal none.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from window_reach import reach  # noqa: E402

CHAIN = re.compile(r"\bchat\.conversation\.\w")
PRIVATE = re.compile(r"\b([a-z][a-z0-9_]*)\._[a-z][a-z0-9_]*")
TASKS = re.compile(r"\.(create_task|ensure_future)\(")
# Loops of their own (a server, the inspector's endpoint, a virtual clock).
OWN_LOOPS = ("app/simulator/", "app/inspect/", "app/replay/")


def measure(root: Path) -> dict:
    app = root / "app"
    chains, private, owners, big = [], [], {}, []
    for path in sorted(app.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        if len(lines) > 500:
            big.append(f"{rel} ({len(lines)})")
        if rel.startswith("app/ui/"):
            chains += [f"{rel}:{i}" for i, line in enumerate(lines, 1) if CHAIN.search(line)]
        for i, line in enumerate(lines, 1):
            for match in PRIVATE.finditer(line.split("#", 1)[0]):
                if match.group(1) not in ("self", "cls", "os", "sys"):
                    private.append(f"{rel}:{i}")
            if TASKS.search(line) and not rel.startswith(OWN_LOOPS):
                owners.setdefault(rel, 0)
                owners[rel] += 1
    window = reach(root)
    return {
        "window_attributes_reached": window["attributes_reached"],
        "main_window_lines": window["main_window_lines"],
        "conversation_chains_in_ui": len(chains),
        "conversation_chains": chains,
        "private_members_reached": len(private),
        "private_members": private,
        "task_owners": len(owners),
        "task_owner_modules": sorted(owners),
        "files_over_500_lines": big,
    }


if __name__ == "__main__":
    print(
        json.dumps(measure(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[1]), indent=1)
    )
