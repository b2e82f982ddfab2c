"""Client libraries nobody here wrote, pointed at the simulator (only the base URL and key set):
each runs a short conversation with caching on, and the second turn reads what the first wrote.

The official SDK's sync, async, streaming and tool-runner paths are in test_sim_api.py and
test_sim_wire.py; these are the third-party ones."""

import os

import anthropic
import pytest

from tests.helpers import SONNET_46

pytestmark = pytest.mark.clients  # the "clients" extra; CI runs them with -m clients

SYSTEM = "You answer questions about a long contract. " * 300  # about 3,400 tokens


@pytest.fixture
def env(sim, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "client-test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.base_url)
    monkeypatch.setenv("ANTHROPIC_API_BASE", sim.base_url)  # litellm's name for it
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
    return sim


def fields_seen(sim) -> dict:
    from tests.helpers import raw_post

    _, _, stats = raw_post(sim.base_url, "/_sim/stats", b"", method="GET")
    return {k.split(":", 1)[1]: v for k, v in stats.items() if k.startswith("field:")}


@pytest.mark.parametrize("model", [SONNET_46, "claude-opus-5-5", "claude-sonnet-5-5"])
def test_lm_deluge_with_its_default_effort_and_a_cache_pattern(env, model):
    """lm-deluge sends ``output_config`` on Claude 4.6+ (an earlier simulator refused it), and
    ``thinking.block_binding`` on Opus 5.5 and Sonnet 5.5 (refused until issue 27, so every
    request failed); the second request reads what the first wrote."""
    from lm_deluge import LLMClient
    from lm_deluge.models import register_model

    register_model(
        id=f"cachescope-sim-{model}",
        name=model,
        api_base=env.base_url + "/v1",
        api_key_env_var="ANTHROPIC_API_KEY",
        api_spec="anthropic",
        reasoning_model=True,
        supports_images=True,
    )
    client = LLMClient(f"cachescope-sim-{model}", max_new_tokens=200)
    prompt = SYSTEM + "\n\nWho are the parties?"
    first, second = (
        client.process_prompts_sync([prompt], show_progress=False, cache="last_user_message")[0]
        for _ in range(2)
    )
    assert not first.is_error and not second.is_error, first.error_message or second.error_message
    assert first.usage.cache_write_tokens > 3000
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens
    assert fields_seen(env).get("output_config", 0) >= 2


def test_litellm_with_reasoning_effort_reads_the_cached_system_prompt(env):
    import litellm

    def ask(question):
        return litellm.completion(
            model=f"anthropic/{SONNET_46}",
            api_base=env.base_url,
            api_key="client-test-key",
            messages=[
                {
                    "role": "system",
                    "content": [
                        {"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}
                    ],
                },
                {"role": "user", "content": question},
            ],
            reasoning_effort="low",
            max_tokens=2000,
        )

    first, second = ask("Who signs?"), ask("When does it end?")
    assert first.usage.cache_creation_input_tokens > 3000
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert first.usage.completion_tokens_details.reasoning_tokens > 0  # it asked for thinking
    assert fields_seen(env).get("thinking", 0) + fields_seen(env).get("output_config", 0) >= 2


def test_lisette_chat_with_cache_true(env):
    from lisette import Chat

    chat = Chat(f"anthropic/{SONNET_46}", sp=SYSTEM, cache=True)
    first = chat("Who signs?")
    second = chat("When does it end?")
    third = chat("Any penalties?")
    assert first.usage.cache_creation_input_tokens > 3000
    assert (
        second.usage.prompt_tokens_details.cached_tokens >= first.usage.cache_creation_input_tokens
    )
    assert (
        third.usage.prompt_tokens_details.cached_tokens
        > second.usage.prompt_tokens_details.cached_tokens
    )


class TemperatureToExtraBody:
    """claudette 0.3.15 passes ``temperature=`` to ``messages.create``, which the SDK (1.17 and
    2.12 alike) no longer takes as a keyword: the SDK raises TypeError before any request. This
    adapter hands it over as ``extra_body`` (the API still documents the field); claudette's own
    logic (history, cache markers, usage) runs unchanged."""

    def __init__(self, client: anthropic.Anthropic):
        self._client = client
        self.messages = self

    def create(self, **kwargs):
        extra = {k: kwargs.pop(k) for k in ("temperature",) if k in kwargs}
        return self._client.messages.create(**kwargs, extra_body=extra or None)


def test_claudette_chat_with_cache_true(env):
    import claudette

    sdk = anthropic.Anthropic(base_url=env.base_url, api_key=os.environ["ANTHROPIC_API_KEY"])
    client = claudette.Client(SONNET_46, cli=TemperatureToExtraBody(sdk), cache=True)
    chat = claudette.Chat(SONNET_46, sp=SYSTEM, cache=True, cli=client)
    first = chat("Who signs? " + "Please be precise. " * 300)
    second = chat("When does it end?")
    assert first.usage.cache_creation_input_tokens > 1000
    assert second.usage.cache_read_input_tokens >= first.usage.cache_creation_input_tokens
    sdk.close()


class Person(__import__("pydantic").BaseModel):
    name: str
    age: int


def test_instructor_parses_a_model_with_plausible_values(env):
    """instructor 1.17 (tools mode: a forced tool call) parses ``Person`` with an ``age`` that
    is a plausible non-zero integer (it parsed ``age=0`` before issue 39), and its usage is
    what the simulator billed."""
    import instructor

    sdk = anthropic.Anthropic(base_url=env.base_url, api_key="client-test-key")
    client = instructor.from_anthropic(sdk)
    person, raw = client.messages.create_with_completion(
        model=SONNET_46,
        max_tokens=500,
        messages=[{"role": "user", "content": "Jason is 25 years old."}],
        response_model=Person,
    )
    assert isinstance(person, Person) and person.age > 0 and person.name
    assert raw.usage.input_tokens > 0 and raw.usage.output_tokens > 0
    sdk.close()


def test_pydantic_ai_agent_reads_its_cached_instructions(env):
    """pydantic-ai 2.66 with ``anthropic_cache_instructions``: the second run reads what the
    first wrote, and the usage it reports is the simulator's."""
    from pydantic_ai import Agent
    from pydantic_ai.models.anthropic import AnthropicModel, AnthropicModelSettings
    from pydantic_ai.providers.anthropic import AnthropicProvider

    model = AnthropicModel(
        SONNET_46, provider=AnthropicProvider(api_key="client-test-key", base_url=env.base_url)
    )
    agent = Agent(
        model,
        instructions=SYSTEM,
        model_settings=AnthropicModelSettings(anthropic_cache_instructions=True, max_tokens=200),
    )
    first = agent.run_sync("Who signs?").usage()
    second = agent.run_sync("When does it end?").usage()
    assert first.cache_write_tokens > 3000
    assert second.cache_read_tokens == first.cache_write_tokens


def test_langchain_anthropic_reads_its_cached_system_prompt(env):
    """langchain-anthropic 1.7 with a ``cache_control`` system block: the second call reads
    what the first wrote; usage_metadata says the simulator's numbers."""
    from langchain_anthropic import ChatAnthropic
    from langchain_core.messages import HumanMessage, SystemMessage

    chat = ChatAnthropic(
        model=SONNET_46, api_key="client-test-key", base_url=env.base_url, max_tokens=200
    )
    system = SystemMessage(
        content=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]
    )
    first = chat.invoke([system, HumanMessage("Who signs?")])
    second = chat.invoke([system, HumanMessage("When does it end?")]).usage_metadata
    # langchain files a write under its TTL when the API splits it (cache_creation then 0)
    written = first.usage_metadata["input_token_details"]["ephemeral_5m_input_tokens"]
    assert written == first.response_metadata["usage"]["cache_creation_input_tokens"] > 3000
    assert second["input_token_details"]["cache_read"] == written
