"""Which feeds a suite checks keys against. Light (json only): the DAG factory uses it at parse time."""

from __future__ import annotations

from datafactory.settings import load_settings
from datafactory.specs import SpecError, SuiteSpec, load_suite

REFERENCE_PREFIX = "reference_keys__"


def parameter_names(suite: SuiteSpec) -> set[str]:
    """Every `{"$PARAMETER": name}` the suite's kwargs refer to."""
    names = set()
    for exp in suite.expectations:
        for value in exp.kwargs.values():
            if isinstance(value, dict) and "$PARAMETER" in value:
                names.add(value["$PARAMETER"])
    return names


def referenced_feeds(suite: SuiteSpec) -> list[str]:
    """Feeds whose conformed keys this suite checks against (they must be conformed first)."""
    names = parameter_names(suite)
    return sorted({n[len(REFERENCE_PREFIX) :].split("__")[0] for n in names if n.startswith(REFERENCE_PREFIX)})


def conform_after(sources: list[str]) -> dict[str, list[str]]:
    """Per feed, the feeds among `sources` whose conform must finish before its own starts."""
    repo = load_settings().repo
    order = {}
    for source in sources:
        try:
            suite = load_suite(repo, source)
        except SpecError:  # a feed without a suite fails in its own conform task, with its own message
            continue
        order[source] = [feed for feed in referenced_feeds(suite) if feed in sources and feed != source]
    return order
