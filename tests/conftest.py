import asyncio
import logging
import os
import tempfile
import warnings

import anthropic
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
os.environ.pop("ANTHROPIC_API_KEY", None)
os.environ.pop("ANTHROPIC_BASE_URL", None)
os.environ["QT_API"] = "pyside6"
# Nothing a test does may touch the user's real conversations or preferences.
os.environ["CACHESCOPE_DATA_DIR"] = tempfile.mkdtemp(prefix="cachescope-tests-")

from app.simulator.runner import SimulatorThread  # noqa: E402
from app.simulator.server import SimulatorConfig  # noqa: E402
from tests.helpers import raw_post  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning, module="anthropic")


@pytest.fixture(scope="session")
def sim_thread():
    with SimulatorThread(SimulatorConfig(time_scale=0)) as sim:
        yield sim


@pytest.fixture
def sim(sim_thread):
    """An instant simulator with an empty cache and a reset clock."""
    raw_post(sim_thread.base_url, "/_sim/reset", {})
    return sim_thread


@pytest.fixture
def client(sim):
    with anthropic.Anthropic(base_url=sim.base_url, api_key="test-key", max_retries=0) as c:
        yield c


def advance(sim, seconds: float) -> None:
    status, _, _ = raw_post(sim.base_url, "/_sim/clock/advance", {"seconds": seconds})
    assert status == 200


_CLOSED_LOOPS = []


@pytest.fixture
def loop(qapp):
    """A qasync event loop on the test's QApplication.

    Closed loops are kept alive: if the last reference went away in a worker thread (a future's
    callback), its Qt timer object would be destroyed off the GUI thread and a later timer event
    would reach freed memory. The app has one loop for its whole life, so it never meets this."""
    import qasync

    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    _CLOSED_LOOPS.append(loop)


@pytest.fixture
def inspector(sim):
    """``cachescope-inspect`` in front of the simulator, in a thread: ``server.proxy`` is it."""
    from app.facts.catalogue import default_catalogue
    from app.inspect.observer import Observer
    from app.inspect.proxy import InspectProxy
    from app.simulator.runner import ServerThread

    proxy = InspectProxy(sim.base_url, Observer(default_catalogue()))
    with ServerThread(proxy.make_app) as server:
        server.proxy = proxy
        yield server


class _ListenerFailures(logging.Handler):
    """Collects "a listener failed" records: a view's exception is logged, not raised, so a
    test whose figures come out right would pass over a broken listener."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("a listener failed"):
            self.failures.append(self.format(record))


@pytest.fixture(autouse=True)
def no_listener_fails():
    """Every test: no event listener (a widget, a feature) raised while the test ran."""
    found = _ListenerFailures()
    found.setFormatter(logging.Formatter("%(message)s"))
    events_log = logging.getLogger("app.engine.events")
    events_log.addHandler(found)
    yield found
    events_log.removeHandler(found)
    assert not found.failures, found.failures[0]
