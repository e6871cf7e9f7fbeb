"""Sums of the usage ledger, for operators (`datafactory usage report`) and reviewers (the report's
consumption pages). Pure: ledger rows in, summaries out."""

from __future__ import annotations

from typing import Any


def summarize(rows: list[dict[str, Any]]) -> list[tuple]:
    """(consumer, product, endpoint, status, calls, keys, rows, p50 ms, max ms), sorted."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["consumer"] or "-", row["product"] or "-", row["endpoint"], row["status"])
        groups.setdefault(key, []).append(row)
    out = []
    for key, members in sorted(groups.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        latencies = sorted(r["latency_ms"] for r in members)
        out.append(
            (
                *key,
                len(members),
                sum(r["keys_count"] for r in members),
                sum(r["rows"] for r in members),
                latencies[len(latencies) // 2],
                latencies[-1],
            )
        )
    return out


def consumption(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per product, who consumed what: one line per consumer and purpose, with calls answered and
    refused, keys asked, rows returned, the versions served, and the first and last call."""
    lines: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        if not row["product"]:
            continue  # a call refused before its product was known
        key = (row["product"], row["consumer"] or "(unidentified)", row["purpose"] or "")
        line = lines.setdefault(
            key,
            {
                "consumer": key[1],
                "purpose": key[2],
                "answered": 0,
                "refused": 0,
                "keys": 0,
                "rows": 0,
                "versions": set(),
                "first": row["at"],
                "last": row["at"],
            },
        )
        ok = 200 <= int(row["status"]) < 400
        line["answered" if ok else "refused"] += 1
        if ok:
            line["keys"] += int(row["keys_count"])
            line["rows"] += int(row["rows"])
            if row["version"] is not None:
                line["versions"].add(int(row["version"]))
        line["first"], line["last"] = min(line["first"], row["at"]), max(line["last"], row["at"])
    out: dict[str, list[dict[str, Any]]] = {}
    for (product, _, _), line in sorted(lines.items()):
        out.setdefault(product, []).append({**line, "versions": sorted(line["versions"])})
    return out
