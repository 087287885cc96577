"""The financial-analysis workflow's tools (the seed's "Phase 2: Financial Analysis Workflow").

==============================  ======================================================
tool                            reads -> writes
==============================  ======================================================
``fetch_market_data``           ``symbol``, ``as_of``, ``lookback_days`` (400),
                                ``news_days`` (90) -> ``market`` (the daily series'
                                span, last close, the valuation price) and the settings
``technical_analysis``          daily prices -> ``technical``
``fundamental_analysis``        fundamentals + ``market.price`` -> ``fundamental``
``sentiment_analysis``          headlines -> ``sentiment`` (VADER)
``news_analysis``               headlines + prices -> ``news``
``generate_investment_report``  the four analyses -> ``report`` (template, or the LLM
                                layer when ``use_llm``) and ``llm_usage``
``recommend``                   the four analyses -> ``recommendation`` (scoring rule),
                                ``report`` with the recommendation appended
==============================  ======================================================

The analysts fetch what they need through the process-wide market provider
(:func:`nodes.finance.current.get_market_provider`), whose cache makes the
repeated daily-series request free and lets the sentiment and news analysts
share one news request. An analyst that fails (provider down, rate-limited, no
data) raises; the example graph routes that failure to the report (error edges),
which says what is missing and why, and the scoring rule lowers the confidence
by the missing analysis's weight.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from nodes.finance.current import get_market_provider
from nodes.finance.fundamentals import analyze_fundamentals
from nodes.finance.news import analyze_news
from nodes.finance.offline import OfflineProvider, load_prices
from nodes.finance.report import llm_request, recommendation_text, template_report
from nodes.finance.scoring import ANALYSES
from nodes.finance.scoring import recommend as score_analyses
from nodes.finance.sentiment import analyze_sentiment
from nodes.finance.technical import analyze_technical
from nodes.llm import LLMError
from nodes.llm_node import ask_llm, get_provider
from runtime import NodeContext, ToolRegistry, WorkflowState, registry

from ._settings import int_setting, raw_setting

__all__ = ["ANALYST_NODES", "fetch_market_data", "fundamental_analysis",
           "generate_investment_report", "news_analysis", "recommend", "register",
           "sentiment_analysis", "technical_analysis"]

DEFAULT_LOOKBACK_DAYS = 400
DEFAULT_NEWS_DAYS = 90
#: analysis key in state -> the node that writes it.
ANALYST_NODES = {"technical": "technical_analysis", "fundamental": "fundamental_analysis",
                 "sentiment": "sentiment_analysis", "news": "news_analysis"}


# -- settings ---------------------------------------------------------------------------------


def _symbol(state: WorkflowState) -> str:
    value = state.data.get("symbol")
    if value is None:
        raise ValueError("input 'symbol' is missing: start the run with {\"symbol\": \"AAPL\"}")
    if (not isinstance(value, str) or len(value.strip()) > 15
            or not value.strip().replace(".", "").replace("-", "").isalnum()):
        raise ValueError(f"input 'symbol' must be a ticker such as \"AAPL\", got {value!r:.40}")
    return value.strip().upper()


def _as_of(state: WorkflowState, config: dict[str, Any], offline: bool) -> str:
    value = raw_setting(state, config, "as_of")
    if value is None:
        # Offline, "now" is the end of the shipped data; live, it is today.
        return load_prices().dates[-1] if offline else date.today().isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"input 'as_of' must be a date as YYYY-MM-DD, got {value!r}") from None


def _days_before(day: str, days: int) -> str:
    return (date.fromisoformat(day) - timedelta(days=days)).isoformat()


def _market(state: WorkflowState) -> dict[str, Any]:
    market = state.data.get("market")
    if not isinstance(market, dict):
        raise TypeError("no market data: fetch_market_data must run first")
    return market


# -- the tools --------------------------------------------------------------------------------


async def fetch_market_data(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
    """Validate the input and fetch the daily prices (and, live, the quote)."""
    provider = get_market_provider()
    offline = isinstance(provider, OfflineProvider)
    symbol = _symbol(state)
    as_of = _as_of(state, ctx.config, offline)
    lookback = int_setting(state, ctx.config, "lookback_days", DEFAULT_LOOKBACK_DAYS, minimum=1)
    news_days = int_setting(state, ctx.config, "news_days", DEFAULT_NEWS_DAYS, minimum=1)
    start = _days_before(as_of, lookback)
    prices = await provider.daily(symbol, start, as_of)
    market: dict[str, Any] = {
        "symbol": symbol, "as_of": as_of, "provider": provider.name, "start": start,
        "bars": len(prices), "first_date": prices.dates[0], "last_date": prices.dates[-1],
        "last_close": prices.close[-1], "price": prices.close[-1],
        "price_source": f"close of {prices.dates[-1]}",
    }
    if not offline and as_of >= date.today().isoformat():
        quote = await provider.quote(symbol)
        market.update(price=quote.price, price_source=f"quote of {quote.as_of}",
                      quote=quote.model_dump(mode="json"))
    ctx.log(f"market data: {symbol} {len(prices)} daily bars {prices.dates[0]}..{prices.dates[-1]}"
            f" from {provider.name}, price {market['price']:.2f} ({market['price_source']})")
    return {"market": market, "symbol": symbol, "as_of": as_of, "lookback_days": lookback,
            "news_days": news_days}


async def technical_analysis(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
    """Moving averages, RSI, MACD, Bollinger bands, volatility and drawdown."""
    m = _market(state)
    prices = await get_market_provider().daily(m["symbol"], m["start"], m["as_of"])
    result = analyze_technical(prices)
    ctx.log(f"technical: {result['summary']}")
    return {"technical": result}


async def fundamental_analysis(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
    """Valuation, profitability, growth, leverage and liquidity ratios with their period."""
    m = _market(state)
    figures = await get_market_provider().fundamentals(m["symbol"], m["as_of"])
    result = analyze_fundamentals(figures, float(m["price"]))
    ctx.log(f"fundamental: {result['summary']}")
    return {"fundamental": result}


async def _headlines(state: WorkflowState) -> tuple[dict[str, Any], list[Any]]:
    m = _market(state)
    days = int(state.data.get("news_days") or DEFAULT_NEWS_DAYS)
    return m, await get_market_provider().news(m["symbol"], _days_before(m["as_of"], days),
                                               m["as_of"])


async def sentiment_analysis(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
    """VADER sentiment of the headlines in the news window."""
    _, headlines = await _headlines(state)
    result = analyze_sentiment(headlines)
    ctx.log(f"sentiment: {result['summary']}")
    return {"sentiment": result}


async def news_analysis(state: WorkflowState, ctx: NodeContext) -> dict[str, Any]:
    """What the news was about, and the stock's two-day move around each headline."""
    m, headlines = await _headlines(state)
    prices = await get_market_provider().daily(m["symbol"], m["start"], m["as_of"])
    result = analyze_news(headlines, prices)
    ctx.log(f"news: {result['summary']}")
    return {"news": result}


def _analyses(state: WorkflowState) -> tuple[dict[str, dict[str, Any] | None], dict[str, str]]:
    """The analyses present, and why each absent one is absent (from ``state.errors``)."""
    analyses: dict[str, dict[str, Any] | None] = {}
    missing: dict[str, str] = {}
    fetch_error = next((e for e in state.errors if e.startswith("fetch_market_data: ")), None)
    for key, node in ANALYST_NODES.items():
        value = state.data.get(key)
        analyses[key] = value if isinstance(value, dict) else None
        if analyses[key] is None:
            error = next((e for e in state.errors if e.startswith(f"{node}: ")), None)
            missing[key] = (error or (fetch_error and f"no market data ({fetch_error})")
                            or f"{node} did not run")
    return analyses, missing


async def generate_investment_report(state: WorkflowState, ctx: NodeContext) -> WorkflowState:
    """The report: the template from the figures; with ``use_llm``, the model's narrative too."""
    analyses, missing = _analyses(state)
    market = state.data.get("market") or {}
    symbol = str(market.get("symbol") or state.data.get("symbol") or "?")
    as_of = str(market.get("as_of") or state.data.get("as_of") or "?")
    figures = template_report(symbol, as_of, str(market.get("provider", "none")), analyses,
                              missing)
    report: dict[str, Any] = {"symbol": symbol, "as_of": as_of, "written_by": "template",
                              "missing": missing, "figures": figures, "text": figures}
    update: dict[str, Any] = {}
    warnings: list[str] = []
    use_llm = raw_setting(state, ctx.config, "use_llm")
    if use_llm is None:  # default: the LLM layer writes when a real provider is configured
        try:
            use_llm = get_provider().name != "offline"
        except LLMError as exc:
            warnings.append(f"generate_report: no LLM narrative ({exc}); template used")
            use_llm = False
    if use_llm is True and any(a is not None for a in analyses.values()):
        try:
            response, record = await ask_llm(ctx, llm_request(symbol, as_of, analyses, missing),
                                         purpose="investment report")
        except Exception as exc:  # noqa: BLE001 - a failed model call must not sink the report
            warnings.append(f"generate_report: LLM narrative not written ({exc}); "
                            "template used")
        else:
            update["llm_usage"] = [record]
            report.update(written_by=f"{response.provider}/{response.model}",
                          narrative=response.text.strip(),
                          text=response.text.strip() + "\n\nFigures used:\n" + figures)
    ctx.log(f"report written by {report['written_by']}; missing: "
            f"{', '.join(missing) or 'nothing'}")
    update["report"] = report
    return state.model_copy(update={"data": {**state.data, **update},
                                    "warnings": [*state.warnings, *warnings]})


def recommend(state: WorkflowState, config: dict[str, Any]) -> dict[str, Any]:
    """Buy / hold / sell and a confidence from the scoring rule (:mod:`nodes.finance.scoring`)."""
    analyses, missing = _analyses(state)
    rec = score_analyses(analyses, missing)
    report = dict(state.data.get("report") or {})
    report["recommendation"] = {k: rec[k] for k in ("action", "confidence", "score")}
    report["text"] = str(report.get("text", "")) + "\n" + recommendation_text(rec)
    return {"recommendation": rec, "report": report}


def register(target: ToolRegistry = registry) -> None:
    """Register this module's tools in ``target`` (idempotent: replaces earlier ones)."""
    tools: list[tuple[Any, str, tuple[str, ...]]] = [
        (fetch_market_data, "Fetch daily prices (and a live quote) for a symbol",
         ("market", "symbol", "as_of", "lookback_days", "news_days")),
        (technical_analysis, "Moving averages, RSI, MACD, Bollinger, volatility, drawdown",
         ("technical",)),
        (fundamental_analysis, "Fundamental ratios with the period they come from",
         ("fundamental",)),
        (sentiment_analysis, "VADER sentiment of recent headlines", ("sentiment",)),
        (news_analysis, "News categories and the stock's move around each headline", ("news",)),
        (generate_investment_report, "Investment report (template, or the LLM layer)",
         ("report", "llm_usage")),
        (recommend, "Buy / hold / sell and a confidence from a documented scoring rule",
         ("recommendation", "report")),
    ]
    for fn, description, writes in tools:
        target.add_tool(fn, name=fn.__name__, description=description, writes=writes,
                        replace=True)


assert set(ANALYST_NODES) == set(ANALYSES)
