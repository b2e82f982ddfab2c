"""Replay one trace under one policy on a virtual loop; the bill comes from the simulator."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import anthropic
import httpx2 as httpx

from app.caching.costs import input_cost_usd
from app.caching.ledger import Usage
from app.conversation.conversation import Conversation
from app.facts.prefix import flatten_request
from app.replay import vloop
from app.replay.optimum import Send, lower_bound_usd
from app.replay.policies import POLICIES, TTL_CHOICES
from app.replay.trace import Content, Trace

MAX_TOKENS = 16_000


@dataclass
class Result:
    trace: str
    policy: str
    cost_usd: float = 0.0
    ttft_s: list[float] = field(default_factory=list)
    requests: int = 0
    optimum_usd: float = 0.0  # the hindsight lower bound for the sends this replay made
    failures: list[str] = field(default_factory=list)
    simulated_s: float = 0.0
    sent_usage: list[Usage] = field(default_factory=list)  # each send's, in order
    sent_at: list[float] = field(default_factory=list)  # each send's simulated time


class ReplyLength:
    """Tells the simulator how long the next reply is (``x-sim-reply-tokens``)."""

    def __init__(self) -> None:
        self.tokens = 1

    async def __call__(self, request: httpx.Request) -> None:
        request.headers["x-sim-reply-tokens"] = str(self.tokens)


def _bill_usd(bill: dict, catalogue) -> float:
    """The simulator's bill in dollars, at each model's base prices (the traces use no model
    with a prompt-length tier: a tier applies per request, which a summed bill cannot say)."""
    total = 0.0
    for model, counts in bill.items():
        written = counts["cache_creation_input_tokens"]
        one_hour = counts["ephemeral_1h_input_tokens"]
        usage = Usage(
            read=counts["cache_read_input_tokens"],
            write_5m=written - one_hour,
            write_1h=one_hour,
            uncached=counts["input_tokens"],
            output=counts["output_tokens"],
        )
        info = catalogue.require(model)
        if info.prices is None:
            raise ValueError(f"prices unknown for {model}: the replay cannot price it")
        if info.tier_start:  # a tier applies per request; a summed bill cannot carry it
            raise ValueError(f"{model} has a prompt-length price tier: price it per request")
        total += input_cost_usd(usage, info) + usage.output * info.prices.output / 1e6
    return total


async def _replay(trace: Trace, policy: str, actor_class: type | None, price: bool) -> Result:
    result = Result(trace.name, policy)
    loop = asyncio.get_running_loop()
    content = Content(trace)
    conv = Conversation(model=trace.model, max_tokens=MAX_TOKENS)
    system = trace.system_tokens
    if system:
        conv.set_system_text(content.text(system, "system"))
    conv.tools = list(content.tools(trace.tool_tokens))
    reply = ReplyLength()
    async with vloop.InLoopSimulator() as sim:
        http = httpx.AsyncClient(event_hooks={"request": [reply]})
        client = anthropic.AsyncAnthropic(
            base_url=sim.base_url,
            api_key=f"replay-{trace.name}-{policy}",
            max_retries=0,
            http_client=http,
        )
        actor = (actor_class or (POLICIES | TTL_CHOICES)[policy])(client, conv, loop)
        model = sim.simulator.catalogue.require(trace.model)
        planned: list[Send] = []
        earliest = 0.0  # the trace's own clock: every reply instant
        for event in trace.events:
            await asyncio.sleep(event.wait)
            earliest += event.wait
            if event.do == "close":
                break
            if event.do == "attach":
                if "document_tokens" in event.fields:
                    item = content.document(event["document_tokens"])
                else:
                    item = content.image(*event["image"])
                await actor.attach(item)
            elif event.do == "type":
                await actor.typing(event["seconds"])
                earliest += event["seconds"]
            elif event.do == "set_system":
                conv.set_system_text(content.text(event["system_tokens"], "system"))
            else:
                if event.do == "edit_last":
                    actor.edit_last()
                reply.tokens = int(event["reply_tokens"])
                clicked = loop.time()
                first = await actor.send(content.text(event["tokens"], "question"))
                if first is None:
                    result.failures.append(f"send at {clicked:.0f} s produced no token")
                else:
                    result.ttft_s.append(first - clicked)
                flat = flatten_request(actor.last_body, model=model)
                planned.append(Send(earliest, flat, int(event["reply_tokens"])))
        await actor.close()
        await client.close()
        result.simulated_s = loop.time()
        result.failures += actor.failures
        result.sent_usage = list(actor.sent_usage)
        result.sent_at = list(actor.sent_at)
        try:
            result.cost_usd = _bill_usd(sim.simulator.bill, sim.simulator.catalogue)
        except ValueError:
            if price:
                raise
        result.requests = sim.simulator.stats["requests"]
        result.optimum_usd = lower_bound_usd(planned, model.min_cacheable_tokens, model.prices)
        errors = {k: v for k, v in sim.simulator.stats.items() if k.startswith("status_")}
        result.failures += [f"{k}: {v}" for k, v in errors.items() if k != "status_200"]
    return result


def replay(trace: Trace, policy: str, actor: type | None = None, price: bool = True) -> Result:
    """``trace`` under ``policy`` (or under ``actor``, an ``app.replay.policies.Actor`` class,
    named ``policy`` in the result). ``price=False``: a bill that cannot be priced (a model
    with a prompt-length tier) leaves ``cost_usd`` at 0 instead of raising ValueError; such
    callers price ``sent_usage`` themselves."""
    return vloop.run(_replay(trace, policy, actor, price))
