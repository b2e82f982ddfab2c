"""Where requests go: the API client (made off the GUI thread after the window shows, or from a
key set in the preferences), the badge that says where they go, the models the API lists, and
the wait of a first send for the client."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject

from app.ui.features.messages import CONNECTION
from app.ui.plain import plain_tip


class Connection(QObject):
    def __init__(self, window, mode: str):
        super().__init__(window)
        self.window = window
        self.ready = asyncio.Event()  # set once the engine has its API client
        if window.engine.client is not None:
            self.ready.set()
        self.set_mode(mode)

    def set_mode(self, mode: str) -> None:
        self.window.toolbar.set_mode(mode)

    def connected(self, client, mode: str) -> None:
        """The API client is ready: the model list is asked for."""
        self.window.engine.client = client
        self.set_mode(mode)
        self.ready.set()
        self.window.spawn(self.load_models())

    def use_client(self, client, mode: str) -> None:
        """Talk through ``client`` from now on (made by ``app.engine.connect``)."""
        engine = self.window.engine
        old, engine.client = engine.client, client
        self.set_mode(mode)
        self.ready.set()
        if old is not None and old is not client:
            self.window.spawn(old.close())

    async def before_send(self) -> None:
        """Before a turn's request: the API client exists."""
        if not self.ready.is_set():
            self.window.notify("Connecting… the message goes out in a moment.")
            await self.ready.wait()

    async def load_models(self) -> None:
        """Offer every model the API lists that a request may name (deprecated ones marked,
        unknown prices marked); keep the data file's list when the API does not answer."""
        await self.ready.wait()
        usable, problem = await self.window.engine.list_models()
        box = self.window.toolbar.model_box
        if problem:
            box.setToolTip(plain_tip(f"Models from the bundled data file ({problem})"))
            if problem in CONNECTION:  # checked at start, not at the first send
                self.window.toolbar.show_connection(CONNECTION[problem])
        elif usable:
            w = self.window
            w.toolbar.fill_models(w.engine.catalogue, usable, w.chat.conversation.model)
            box.setToolTip(plain_tip(f"{len(usable)} models from /v1/models"))
