"""Prescriptive renderers for our custom expectations: Data Docs say in words what each one checks
("uscc: USCC check character must be valid (GB 32100)") instead of printing raw kwargs.

Importing this module registers them with GE (after the expectations themselves, which it imports).
"""

from __future__ import annotations

from typing import Any

import datafactory.quality.custom_expectations  # noqa: F401  the expectations are registered first

# expectation type -> sentence; $name is replaced by the kwarg (a list by its length and first values)
SENTENCES: dict[str, str] = {
    "expect_column_values_to_be_valid_uscc": "$column: USCC check character must be valid (GB 32100).",
    "expect_column_values_to_be_well_formed_uscc": (
        "$column: must be a well-formed USCC (GB 32100: 18 characters of its alphabet, a known registering "
        "authority, a numeric area code, a correct embedded organization-code check); the check character may fail."
    ),
    "expect_column_pair_values_to_be_valid_uscc_or_pilot": (
        "$column_A: must be a valid USCC (GB 32100), or a pilot-era code when $column_B is before $standard_date."
    ),
    "expect_column_values_to_be_valid_resident_id": (
        "$column: resident ID must be valid (GB 11643: 18 characters, ISO 7064 MOD 11-2 check character, "
        "a real birth date, an area prefix in $area_prefixes)."
    ),
    "expect_column_values_to_be_mainland_mobile": (
        "$column: must be a mainland China mobile number (optional +86, then 1[3-9] and 9 digits)."
    ),
    "expect_column_values_to_be_area_code_in_regions": (
        "$column: area code (GB/T 2260) must lie in one of the regions $regions."
    ),
    "expect_column_values_to_be_valid_icd10": (
        "$column: must be an ICD-10 code (letter, two digits, optional subcode) in the chapters $chapters."
    ),
    "expect_column_values_to_be_tax_credit_grade": "$column: must be a tax credit grade (A, B, M, C or D).",
    "expect_column_values_to_not_be_in_future": "$column: must be on or before $reference_date.",
    "expect_column_values_to_be_non_negative": "$column: must not be negative.",
    "expect_column_values_to_exist_in_reference": (
        "$column: every value must exist in the reference $reference (referential integrity)."
    ),
    "expect_column_max_to_be_fresh": (
        "$column: the newest value must be no later than $reference_time and at most $max_age_hours hours before it."
    ),
    "expect_table_row_count_to_be_near_previous": (
        "Row count must be within $max_relative_change (relative) of the previous run's $previous_row_count rows."
    ),
    "expect_table_row_count_to_account_for_delivery": (
        "The batch must hold every row the pull landed ($rows_landed of $rows_received received); "
        "an empty day is $empty_day."
    ),
    "expect_column_psi_to_be_less_than": (
        "$column: population stability index against the reference must be below $threshold "
        "(checked from $min_rows rows)."
    ),
}


def _param(value: Any) -> str:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return f"the run's {value['$PARAMETER']}"
    if isinstance(value, list | tuple):
        head = ", ".join(str(v) for v in value[:5])
        return f"[{head}{', …' if len(value) > 5 else ''}] ({len(value)})" if len(value) > 5 else f"[{head}]"
    return "any" if value is None else str(value)


def _renderer(sentence: str):
    from great_expectations.render import LegacyRendererType, RenderedStringTemplateContent
    from great_expectations.render.renderer.renderer import renderer

    @renderer(renderer_type=LegacyRendererType.PRESCRIPTIVE)
    def render(configuration: Any = None, result: Any = None, runtime_configuration: Any = None, **kwargs: Any):
        config = configuration or (result.expectation_config if result is not None else None)
        raw = dict(config.kwargs) if config is not None else {}
        params = {key: _param(value) for key, value in raw.items()}
        for name in _names(sentence):
            params.setdefault(name, "any")
        mostly = raw.get("mostly")
        template = sentence
        if isinstance(mostly, int | float) and mostly < 1:
            template += " At least $mostly_pct % of rows."
            params["mostly_pct"] = f"{mostly * 100:g}"
        styling = (runtime_configuration or {}).get("styling")
        return [
            RenderedStringTemplateContent(
                content_block_type="string_template",
                string_template={"template": template, "params": params, "styling": styling},
            )
        ]

    return render


def _names(sentence: str) -> list[str]:
    import re

    return re.findall(r"\$(\w+)", sentence)


def register() -> list[str]:
    """Register every sentence; returns the expectation types that got one."""
    import logging

    from great_expectations.expectations.registry import _registered_expectations, register_renderer

    done = []
    registry_log = logging.getLogger("great_expectations.expectations.registry")
    level, registry_log.level = registry_log.level, logging.ERROR  # replacing the generic renderer is the point
    for expectation_type, sentence in SENTENCES.items():
        cls = _registered_expectations.get(expectation_type)
        if cls is None:  # an expectation renamed or removed: nothing to describe
            continue
        register_renderer(expectation_type, cls, _renderer(sentence))
        done.append(expectation_type)
    registry_log.setLevel(level)
    return done


REGISTERED = register()
