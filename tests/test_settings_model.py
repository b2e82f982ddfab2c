"""The settings model, without widgets: defaults apply to the next conversation, a toolbar
change persists, and saving the preferences untouched changes nothing."""

from dataclasses import replace

from app.conversation.conversation import Conversation
from app.engine.settings import EngineSettings, from_preferences
from app.engine.settings_model import SettingsModel
from app.facts.catalogue import default_catalogue
from app.storage.preferences import Preferences
from tests.helpers import SONNET_46


def model_with(prefs: Preferences, folder):
    saved = []

    def save(p):
        p.save(folder)
        saved.append(p)

    model = SettingsModel(from_preferences(prefs), prefs, save)
    heard = []
    model.subscribe(heard.append)
    return model, saved, heard


def test_a_preference_applies_to_the_next_conversation_not_the_open_one(tmp_path):
    model, _, _ = model_with(Preferences(), tmp_path)
    catalogue = default_catalogue()
    first = model.new_conversation(catalogue)
    assert (model.pattern, model.ttl) == ("smart", "adaptive")
    assert first.model == catalogue.default_model
    changed = replace(Preferences(), strategy="last_user_message", ttl="1h", model=SONNET_46)
    assert model.set_preferences(changed)
    assert (model.pattern, model.ttl) == ("smart", "adaptive")  # the open one keeps its own
    second = model.new_conversation(catalogue)
    assert (model.pattern, model.ttl) == ("last_user_message", "1h")
    assert second.model == SONNET_46
    assert Preferences.load(tmp_path) == changed


def test_a_toolbar_change_is_saved_with_the_conversation_and_in_the_preferences(tmp_path):
    model, saved, heard = model_with(Preferences(), tmp_path)
    conv = Conversation(model=SONNET_46)
    model.open(conv)
    model.set_pattern("automatic")
    model.set_ttl("5m")
    model.set_warming(False)
    model.set_pings(3)
    assert heard == ["conversation", "pattern", "ttl", "warming", "pings"]
    reopened = Conversation.from_dict(conv.to_dict())
    other = Conversation(model=SONNET_46)
    model.open(other)  # another conversation that never chose: the defaults
    assert (model.pattern, model.ttl) == ("smart", "adaptive")
    model.open(reopened)  # back: its own choice
    assert (model.pattern, model.ttl) == ("automatic", "5m")
    # The engine's defaults are not the open conversation's: a conversation left for another
    # keeps its own pattern and TTL for its warm-ups and pings (issue 26).
    assert (model.engine.strategy, model.engine.cache.ttl) == ("smart", "adaptive")
    assert (other.pattern, other.ttl) == ("smart", "adaptive")
    loaded = Preferences.load(tmp_path)
    assert loaded.warming is False and loaded.keepalive_pings == 3
    assert model.engine.warming is False and model.engine.keepalive_pings == 3


def test_saving_the_preferences_untouched_changes_nothing(tmp_path):
    prefs = Preferences()  # no default model chosen
    model, saved, heard = model_with(prefs, tmp_path)
    engine_before = replace(model.engine)
    assert model.set_preferences(replace(prefs)) is False
    assert saved == [] and heard == [] and not (tmp_path / "preferences.json").exists()
    assert model.engine == engine_before and model.prefs.model == ""


def test_a_conversation_with_a_ttl_it_cannot_use_gets_the_default_and_the_engine_is_untouched(
    tmp_path,
):
    engine = EngineSettings(strategy="none", warming=False)
    model = SettingsModel(engine, Preferences())
    conv = Conversation(model=SONNET_46, pattern="system_and_tools", ttl="bogus")
    model.open(conv)
    assert (model.pattern, model.ttl) == ("system_and_tools", "adaptive")
    assert (conv.pattern, conv.ttl) == ("system_and_tools", "adaptive")
    assert (engine.strategy, engine.cache.ttl) == ("none", "adaptive")
