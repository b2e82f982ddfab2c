"""The engine's events about the conversation on screen, for the widgets that show it: each widget
subscribes here once, and the window only says which conversation to follow."""

from __future__ import annotations

from app.engine.events import Event, Listeners


class SessionFeed(Listeners):
    def __init__(self, engine, conversation_id: str = "") -> None:
        super().__init__()
        self.conversation_id = conversation_id
        engine.subscribe(self._relay)

    def follow(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id

    def _relay(self, event: Event) -> None:
        if getattr(event, "conversation_id", None) == self.conversation_id:
            self.emit(event)
