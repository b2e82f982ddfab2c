"""The toolbar: model, cache pattern, TTL, warming, keep-alive pings and the mode badge."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QSizePolicy, QSpinBox, QToolBar, QWidget

from app.caching.strategies import STRATEGIES
from app.engine.engine import EngineSettings
from app.facts.catalogue import Catalogue
from app.ui.widgets.plain import plain_label, plain_tip

BADGE_STYLE = (
    "QLabel#modeBadge {{ padding: 3px 8px; border-radius: 8px; background: {}; color: black; }}"
)


CONNECTION_WORDS = {  # failures that say something about the connection itself, for the badge
    "network": "offline",
    "timeout": "not answering",
    "auth": "key refused",
    "permission": "not permitted",
    "rate_limited": "rate limited",
    "overloaded": "overloaded",
}


class CachingToolbar(QToolBar):
    def __init__(self, settings: EngineSettings, parent=None):
        super().__init__("Caching", parent)
        self.setObjectName("cachingToolbar")
        self.setMovable(False)
        self.model_box = QComboBox()
        self.model_box.setToolTip("Models from the bundled data file")
        self.pattern_box = QComboBox()
        for strategy in STRATEGIES.values():
            self.pattern_box.addItem(strategy.label, strategy.name)
            self.pattern_box.setItemData(
                self.pattern_box.count() - 1, strategy.explanation, Qt.ItemDataRole.ToolTipRole
            )
        self.pattern_box.setCurrentIndex(self.pattern_box.findData(settings.strategy))
        # A narrow window shortens the names (the lists open at full width) rather than pushing
        # TTL, warming and keep-alive out of sight.
        for box, letters in ((self.model_box, 16), (self.pattern_box, 12)):
            box.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            box.setMinimumContentsLength(letters)
        self.ttl_box = QComboBox()
        for ttl in ("5m", "1h", "adaptive"):
            self.ttl_box.addItem(ttl, ttl)
        self.ttl_box.setCurrentIndex(self.ttl_box.findData(settings.cache.ttl))
        self.warm_box = QCheckBox("Warm while typing")
        self.warm_box.setChecked(settings.warming)
        self.pings = QSpinBox()
        self.pings.setRange(0, 12)
        self.pings.setValue(settings.keepalive_pings)
        self.pings.setToolTip("Keep-alive pings after each turn")
        self.badge = plain_label()
        self.badge.setObjectName("modeBadge")
        for label, widget in (
            ("Model", self.model_box),
            ("Pattern", self.pattern_box),
            ("TTL", self.ttl_box),
        ):
            self.addWidget(plain_label(f" {label} "))
            self.addWidget(widget)
        self.addSeparator()
        self.addWidget(self.warm_box)
        self.addWidget(plain_label(" Keep-alive "))
        self.addWidget(self.pings)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.addWidget(spacer)
        self.addWidget(self.badge)

    def fill_models(self, catalogue: Catalogue, ids: list[str], current: str) -> None:
        """Offer these models (those the catalogue prices), keeping ``current`` selected."""
        chosen = catalogue.resolve(current)
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for model_id in ids:
            model = catalogue.resolve(model_id)
            if model is not None:
                self.model_box.addItem(model.label, model.id)
                index = self.model_box.count() - 1
                tip = plain_tip(price_note(model))
                self.model_box.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        if chosen is not None:
            self.model_box.setCurrentIndex(max(0, self.model_box.findData(chosen.id)))
        self.model_box.blockSignals(False)

    def show_settings(self, settings, model_id: str | None = None) -> None:
        """Show what the settings model holds (and the conversation's model), without echoing
        it back as a change."""
        boxes = [(self.pattern_box, settings.pattern), (self.ttl_box, settings.ttl)]
        if model_id is not None:
            boxes.append((self.model_box, model_id))
        for box, value in boxes:
            box.blockSignals(True)
            box.setCurrentIndex(max(0, box.findData(value)))
            box.blockSignals(False)
        for widget, setter, value in (
            (self.warm_box, self.warm_box.setChecked, settings.warming),
            (self.pings, self.pings.setValue, settings.pings),
        ):
            widget.blockSignals(True)
            setter(value)
            widget.blockSignals(False)

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.show_connection(None)

    def show_connection(self, problem: str | None) -> None:
        """The badge: where requests go and, after a failed one, what is wrong with it."""
        mode = getattr(self, "mode", "")
        if problem:
            self.badge.setText(f"{mode} · {problem}")
            self.badge.setStyleSheet(BADGE_STYLE.format("#d9534f"))
            self.badge.setToolTip(plain_tip(f"The last request failed: {problem}"))
            return
        colour = (
            "#c8c8c8"  # grey: nothing is known yet
            if mode.startswith("Connecting")
            else "#f0ad4e"
            if "simulator" in mode.lower()
            else "#5cb85c"
        )
        self.badge.setText(mode)
        self.badge.setStyleSheet(BADGE_STYLE.format(colour))
        self.badge.setToolTip("Where requests go")


def price_note(model) -> str:
    """A model's prices and where they come from, for its tooltip."""
    p = model.prices
    if p is None:
        return (
            f"{model.display_name}: prices unknown (neither genai-prices nor models.json has them)."
        )
    rates = (
        f"${p.input:g} input, ${p.write_5m:g} 5m write, ${p.write_1h:g} 1h write, "
        f"${p.read:g} read, ${p.output:g} output per million tokens"
    )
    tier = (
        f"; every token of a prompt over {model.tier_start:,} tokens costs more (a tier)"
        if model.tier_start
        else ""
    )
    doubts = (
        f"\nNot confirmed by Anthropic's pages: {', '.join(model.uncertain)}."
        if model.uncertain
        else ""
    )
    return f"{model.display_name}: {rates}{tier}.\nSource: {model.price_source}.{doubts}"
