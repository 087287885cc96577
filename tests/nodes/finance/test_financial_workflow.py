"""The financial-analysis workflow end to end through the runtime (asyncio and trio):
offline, against a fake Finnhub, with providers failing mid-run, with the LLM layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from nodes.finance.cache import CachedProvider
from nodes.finance.current import use_market_provider
from nodes.finance.finnhub import FinnhubProvider
from nodes.finance.offline import OfflineProvider
from nodes.llm import CachingProvider
from nodes.llm import OfflineProvider as OfflineLLM
from nodes.llm_node import use_provider
from nodes.workflows import build_financial_analysis_graph, financial_analysis_json
from runtime import Event, EventType, Graph, Runtime, ToolRegistry, WorkflowState
from runtime import registry as default_registry
from tests.nodes.finance.finance_fake_servers import FINNHUB_KEY, FakeFinnhub
from tests.nodes.llm.llm_fake_servers import FAST_RETRY, FakeOpenAI, make_provider, serving

ANALYSTS = ("technical_analysis", "fundamental_analysis", "sentiment_analysis",
            "news_analysis")
INPUT = {"symbol": "AAPL", "as_of": "2016-06-30"}


async def run_offline(data: dict[str, Any] | None = None,
                      graph: Graph | None = None) -> tuple[WorkflowState, list[Event]]:
    with use_market_provider(OfflineProvider()):
        return await run_graph(data or INPUT, graph)


async def run_graph(data: dict[str, Any], graph: Graph | None = None
                    ) -> tuple[WorkflowState, list[Event]]:
    async with Runtime() as rt:
        run = await rt.start((graph or build_financial_analysis_graph()).compile(), data)
        state = await run.result()
        events = [e async for e in run.events(0)]
    return state, events


@asynccontextmanager
async def finnhub(fake: FakeFinnhub) -> AsyncIterator[CachedProvider]:
    async with serving(fake) as url:
        provider = CachedProvider(FinnhubProvider(api_key=FINNHUB_KEY, base_url=url + "/api/v1",
                                                  retry=FAST_RETRY, timeout=5))
        with use_market_provider(provider):
            yield provider


# -- offline ----------------------------------------------------------------------------------


async def test_offline_run_gives_four_analyses_a_report_and_a_recommendation() -> None:
    state, _ = await run_offline()
    data = state.data
    assert state.errors == []
    assert {"technical", "fundamental", "sentiment", "news"} <= set(data)
    rec = data["recommendation"]
    assert rec["action"] in ("buy", "hold", "sell") and 0 <= rec["confidence"] <= 1
    assert rec["coverage"] == 1.0 and rec["missing"] == {}
    # Bearish chart, strong fiscal-2015 figures, neutral headlines, a sell-off on results.
    scores = [data[k]["score"] for k in ("technical", "fundamental", "sentiment", "news")]
    assert scores[0] < -0.5 < 0.5 < scores[1] and scores[2] == 0 and scores[3] == -1
    weighted = 0.35 * scores[0] + 0.35 * scores[1] + 0.15 * scores[2] + 0.15 * scores[3]
    assert (rec["action"], rec["score"]) == ("hold", pytest.approx(weighted, abs=1e-4))
    text = data["report"]["text"]
    for figure in ("close 95.60", "RSI 47.6", "P/E 10.4", "net margin 22.8%",
                   "FY2015 (2014-09-28 to 2015-09-26)", "mean VADER compound +0.000",
                   f"Recommendation: HOLD (confidence {rec['confidence']:.2f}"):
        assert figure in text, figure
    assert data["report"]["written_by"] == "template"


async def test_the_four_analysts_run_as_one_parallel_fan_out_joined_by_the_report() -> None:
    assert build_financial_analysis_graph().compile().joins == {
        "fetch_market_data": "generate_report"}
    _, events = await run_offline()
    started = [e.seq for e in events if e.type is EventType.NODE_STARTED and e.node in ANALYSTS]
    done = [e.seq for e in events if e.type is EventType.NODE_COMPLETED and e.node in ANALYSTS]
    report = next(e.seq for e in events
                  if e.type is EventType.NODE_STARTED and e.node == "generate_report")
    assert len(started) == len(done) == 4
    assert max(done) < report        # the report waited for all of them
    logs = [e.data["message"] for e in events if e.type is EventType.LOG]
    assert any(m.startswith("technical: close 95.60") for m in logs)  # each prints as it ends


async def test_the_four_analysts_are_running_at_once() -> None:
    """Each analyst waits at a barrier until all four have started: run one after another,
    the first would wait forever (the fail_after turns that into a failure)."""
    arrived: list[str] = []
    all_in = anyio.Event()
    gated = ToolRegistry()
    for info in default_registry.list():
        fn = info.fn
        if info.name in ANALYSTS:
            fn = _gate(info.name, info.fn, arrived, all_in)
        gated.add_tool(fn, name=info.name, description=info.description, writes=info.writes)
    graph = Graph.from_json(financial_analysis_json(), registry=gated)
    state, _ = await run_offline(graph=graph)
    assert sorted(arrived) == sorted(ANALYSTS)
    assert state.errors == [] and state.data["recommendation"]["coverage"] == 1.0


def _gate(name: str, fn: Any, arrived: list[str], all_in: anyio.Event) -> Any:
    async def gated(state: WorkflowState, ctx: Any) -> Any:
        arrived.append(name)
        if len(arrived) == len(ANALYSTS):
            all_in.set()
        with anyio.fail_after(10):  # not a timing assertion: a deadlock guard
            await all_in.wait()
        return await fn(state, ctx)
    return gated


async def test_the_json_form_runs_the_same() -> None:
    graph = Graph.from_json(financial_analysis_json())
    state, _ = await run_offline(graph=graph)
    plain, _ = await run_offline()
    assert state.data["recommendation"] == plain.data["recommendation"]


async def test_a_symbol_without_data_completes_with_a_report_that_says_so() -> None:
    state, events = await run_offline({"symbol": "MSFT", "as_of": "2016-06-30"})
    rec = state.data["recommendation"]
    assert (rec["action"], rec["confidence"]) == ("hold", 0.0)
    assert "covers only AAPL" in state.data["report"]["missing"]["technical"]
    assert any(e.type is EventType.NODE_FAILED and e.data["handled"] for e in events)


async def test_bad_input_is_named_in_the_report() -> None:
    state, _ = await run_offline({"symbol": "AAPL", "as_of": "30/06/2016"})
    assert "'as_of' must be a date as YYYY-MM-DD, got '30/06/2016'" in state.errors[0]
    state, _ = await run_offline({"as_of": "2016-06-30"})
    assert "input 'symbol' is missing" in state.data["report"]["missing"]["news"]


async def test_an_analyst_without_data_is_missing_and_lowers_confidence() -> None:
    # Before the first shipped 10-K was filed there are no fundamentals offline.
    state, _ = await run_offline({"symbol": "AAPL", "as_of": "2015-10-20"})
    rec = state.data["recommendation"]
    assert set(rec["missing"]) == {"fundamental"}
    assert rec["coverage"] == pytest.approx(0.65)
    assert "Fundamental: MISSING (fundamental_analysis: DataUnavailable" in (
        state.data["report"]["text"])


# -- live providers (fakes on loopback) -------------------------------------------------------


async def test_against_finnhub_each_request_is_made_once() -> None:
    fake = FakeFinnhub()
    async with finnhub(fake):
        state, _ = await run_graph(INPUT)
    assert state.errors == []
    assert state.data["market"]["provider"] == "finnhub"
    assert state.data["fundamental"]["basis"] == "the provider's own ratios"
    assert state.data["technical"]["indicators"]["rsi_14"] == 47.56  # same real prices
    # fetch, technical and news share one candle request; sentiment and news one news request.
    assert sorted(fake.paths()) == ["/api/v1/company-news", "/api/v1/stock/candle",
                                    "/api/v1/stock/metric"]


async def test_a_provider_failing_mid_run_leaves_a_report_with_what_is_missing() -> None:
    full, _ = await run_offline()
    fake = FakeFinnhub()
    # Prices come through; then the news endpoint is rate-limited and metrics are down.
    fake.failing["/company-news"] = (429, {"error": "API limit reached."})
    fake.failing["/stock/metric"] = (502, {"error": "Bad Gateway"})
    async with finnhub(fake):
        state, events = await run_graph(INPUT)
    rec = state.data["recommendation"]
    assert set(rec["missing"]) == {"fundamental", "sentiment", "news"}
    assert rec["coverage"] == pytest.approx(0.35)
    assert rec["confidence"] < full.data["recommendation"]["confidence"]
    assert "RateLimited" in rec["missing"]["sentiment"] and "HTTP 429" in rec["missing"]["news"]
    assert "HTTP 502: Bad Gateway" in rec["missing"]["fundamental"]
    text = state.data["report"]["text"]
    assert "Sentiment: MISSING (sentiment_analysis: RateLimited" in text
    assert "Technical (score -0.65)" in text
    failed = {e.node for e in events if e.type is EventType.NODE_FAILED}
    assert failed == {"fundamental_analysis", "sentiment_analysis", "news_analysis"}
    assert len(state.errors) == 3


async def test_a_provider_gone_mid_run_leaves_the_cached_analysis_and_names_the_rest() -> None:
    fake = FakeFinnhub()
    async with finnhub(fake) as provider:
        # Earlier this hour the prices were fetched (and cached); then the server goes away.
        await provider.daily("AAPL", "2015-05-27", "2016-06-30")
    with use_market_provider(provider):
        state, _ = await run_graph(INPUT)
    rec = state.data["recommendation"]
    assert set(rec["missing"]) == {"fundamental", "sentiment", "news"}
    assert "cannot reach http://127.0.0.1:" in rec["missing"]["fundamental"]
    assert state.data["technical"]["indicators"]["rsi_14"] == 47.56


# -- the LLM layer ----------------------------------------------------------------------------


async def test_with_a_configured_llm_the_narrative_comes_with_the_figures() -> None:
    fake = FakeOpenAI()
    async with serving(fake) as url:
        with use_provider(CachingProvider(make_provider("openai", url))):
            state, _ = await run_offline({**INPUT, "use_llm": True})
    report = state.data["report"]
    assert report["written_by"] == "openai/gpt-4o-mini"
    assert report["narrative"].startswith("echo: Company: AAPL")
    assert "Figures used:" in report["text"] and "P/E 10.4" in report["text"]
    assert '"score": -0.6513' in fake.requests[0].body["messages"][1]["content"]
    assert state.data["llm_usage"][0]["node"] == "generate_report"
    assert state.data["recommendation"]["action"] == "hold"  # the rule decides, not the model


async def test_a_configured_llm_writes_the_report_by_default() -> None:
    async with serving(FakeOpenAI()) as url:
        with use_provider(make_provider("openai", url)):
            state, _ = await run_offline()
    assert state.data["report"]["written_by"] == "openai/gpt-4o-mini"
    with use_provider(OfflineLLM()):
        state, _ = await run_offline()
    assert state.data["report"]["written_by"] == "template"


async def test_a_failing_llm_falls_back_to_the_template() -> None:
    fake = FakeOpenAI()
    async with serving(fake) as url:
        provider = make_provider("openai", url, api_key="wrong")
        with use_provider(provider):
            state, _ = await run_offline({**INPUT, "use_llm": True})
    assert state.data["report"]["written_by"] == "template"
    assert "LLM narrative not written" in state.warnings[0]


async def test_against_alpha_vantage_the_workflow_completes() -> None:
    from nodes.finance.alphavantage import AlphaVantageProvider
    from tests.nodes.finance.finance_fake_servers import ALPHAVANTAGE_KEY, FakeAlphaVantage

    fake = FakeAlphaVantage()
    async with serving(fake) as url:
        provider = CachedProvider(AlphaVantageProvider(api_key=ALPHAVANTAGE_KEY, base_url=url,
                                                       retry=FAST_RETRY, timeout=5))
        with use_market_provider(provider):
            state, _ = await run_graph(INPUT)
    assert state.errors == [] and state.data["market"]["provider"] == "alphavantage"
    assert state.data["fundamental"]["period"] == "trailing twelve months to 2016-06-25"
    assert sorted(fake.params(r)["function"] for r in fake.requests) == [
        "NEWS_SENTIMENT", "OVERVIEW", "TIME_SERIES_DAILY"]


def test_every_tool_the_graph_names_is_registered_under_the_issues_names() -> None:
    from nodes.tools import FINANCE_TOOLS
    from runtime import registry

    graph = financial_analysis_json()
    assert [n["name"] for n in graph["nodes"]] == [
        "fetch_market_data", *ANALYSTS, "generate_report", "recommend"]
    assert {n["tool"] for n in graph["nodes"]} == set(FINANCE_TOOLS)
    assert all(registry.get(t) for t in FINANCE_TOOLS)
