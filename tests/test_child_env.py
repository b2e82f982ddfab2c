"""What a process the app starts inherits (issue 25, point 1): a minimal environment plus what
its entry names, and never the API key, which leaves the process environment once read."""

import asyncio
import multiprocessing
import os

from app.engine.child_env import child_environment
from app.storage import keys


def test_a_child_gets_the_few_variables_it_needs_and_what_its_entry_names():
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "ANTHROPIC_API_KEY": "sk-ant-secret",
        "AWS_SECRET_ACCESS_KEY": "x",
        "HTTPS_PROXY": "http://user:pass@proxy",
        "BASH_FUNC_x%%": "() { evil; }",
    }
    env = child_environment({"GITHUB_TOKEN": "named"}, parent)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "GITHUB_TOKEN": "named",
    }
    assert child_environment({"ANTHROPIC_API_KEY": "mine"}, parent)["ANTHROPIC_API_KEY"] == "mine"


def _environment_key(_=None):
    return os.environ.get("ANTHROPIC_API_KEY")


def test_the_key_leaves_the_environment_before_any_process_is_started(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    monkeypatch.setattr(keys, "_from_environment", None)
    keys.take_environment_key()
    assert "ANTHROPIC_API_KEY" not in os.environ
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # how the PDF reader starts
        assert pool.apply(_environment_key) is None
    assert asyncio.run(keys.find_key()) == ("sk-ant-from-env", "environment")
