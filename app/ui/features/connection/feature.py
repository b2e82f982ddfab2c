"""Where requests go: the badge that says so, the models the API lists (asked for whenever the
client changes), and the wait of a first send for the client (made off the GUI thread after the
window shows, or from a key set in the preferences: ``Workspace.use_client``)."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject

from app.ui.context import FeatureContext
from app.ui.widgets.plain import plain_tip
from app.ui.widgets.toolbar import CONNECTION_WORDS
from app.workspace import changes as ch


class Connection(QObject):
    def __init__(self, ctx: FeatureContext):
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.ready = asyncio.Event()  # set once the engine has its API client
        if ctx.engine.client is not None:
            self.ready.set()
        ctx.workspace.before_send.append(self.before_send)
        ctx.workspace.subscribe(self._on_change)
        ctx.widgets.toolbar.set_mode(ctx.workspace.mode)

    def _on_change(self, change: ch.Change) -> None:
        if not change.touches(ch.CONNECTION):
            return
        self.ctx.widgets.toolbar.set_mode(self.ctx.workspace.mode)
        if self.ctx.engine.client is not None:
            self.ready.set()
            self.ctx.spawn(self.load_models())

    async def before_send(self) -> None:
        """Before a turn's request: the API client exists."""
        if not self.ready.is_set():
            self.ctx.notify("Connecting… the message goes out in a moment.")
            await self.ready.wait()

    async def load_models(self) -> None:
        """Offer every model the API lists that a request may name (deprecated ones marked,
        unknown prices marked); keep the data file's list when the API does not answer."""
        await self.ready.wait()
        engine, toolbar = self.ctx.engine, self.ctx.widgets.toolbar
        usable, problem = await engine.list_models()
        box = toolbar.model_box
        if problem:
            box.setToolTip(plain_tip(f"Models from the bundled data file ({problem})"))
            if problem in CONNECTION_WORDS:  # checked at start, not at the first send
                toolbar.show_connection(CONNECTION_WORDS[problem])
        elif usable:
            toolbar.fill_models(engine.catalogue, usable, self.ctx.chat.model_id)
            box.setToolTip(plain_tip(f"{len(usable)} models from /v1/models"))
