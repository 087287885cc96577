"""Financial analysis: market data providers, indicators, analyses, scoring, report."""
