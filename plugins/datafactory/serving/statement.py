"""A billing statement as HTML (Jinja2, autoescaped) and CSV, written next to each other."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from jinja2 import Environment

from datafactory.serving.billing import Statement, yuan
from datafactory.serving.pricing import Pricing, pricing_for

CSV_COLUMNS = [
    "month",
    "consumer",
    "product",
    "license_id",
    "public_interest",
    "calls",
    "records",
    "free_records",
    "bulk_downloads",
    "call_yuan",
    "record_yuan",
    "bulk_yuan",
    "list_yuan",
    "amount_yuan",
    "amount_fen",
    "note",
]

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Statement {{ s.consumer }} {{ s.month }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
tfoot td { font-weight: bold; }
.note { color: #555; font-size: 0.9em; }
</style></head>
<body>
<h1>Data product statement</h1>
<p><b>Consumer:</b> {{ s.consumer }} &nbsp; <b>Month:</b> {{ s.month }} (China Standard Time)
 &nbsp; <b>Currency:</b> {{ s.currency }}</p>
<p class="note">Pricing follows the government-guided cost-plus model: base data value + processing service input
(基础数据价值+加工服务投入). Public-interest use is free; each product's monthly cap bounds the charge.</p>
<h2>Charges</h2>
<table>
<thead><tr><th>product</th><th>license</th><th>calls</th><th>records</th><th>free records</th><th>bulk</th>
<th>per call</th><th>per record</th><th>calls</th><th>records</th><th>bulk</th><th>list</th><th>amount</th>
<th>note</th></tr></thead>
<tbody>
{% for line in s.lines %}{% set p = price(line.product) %}
<tr><td>{{ line.product }}</td><td>L{{ line.license_id }}</td><td>{{ line.calls }}</td><td>{{ line.records }}</td>
<td>{{ line.free_records }}</td><td>{{ line.bulk_downloads }}</td>
<td>{{ yuan(p.processing.per_call_fen) }}</td><td>{{ yuan(p.per_record_fen) }}</td>
<td>{{ yuan(line.call_fen) }}</td><td>{{ yuan(line.record_fen) }}</td><td>{{ yuan(line.bulk_fen) }}</td>
<td>{{ yuan(line.list_fen) }}</td><td>{{ yuan(line.amount_fen) }}</td><td class="text">{{ line.note }}</td></tr>
{% else %}<tr><td colspan="14" class="text">no billable calls this month</td></tr>{% endfor %}
</tbody>
<tfoot><tr><td>total</td><td></td><td>{{ s.lines | sum(attribute='calls') }}</td>
<td>{{ s.lines | sum(attribute='records') }}</td><td></td><td>{{ s.lines | sum(attribute='bulk_downloads') }}</td>
<td colspan="6"></td><td>{{ yuan(s.total_fen) }}</td><td></td></tr></tfoot>
</table>
<h2>Reconciliation with the usage ledger</h2>
<table>
<tr><td class="text">ledger rows for this consumer and month</td><td>{{ s.ledger_rows }}</td></tr>
<tr><td class="text">billed (successful lookups and bulk links)</td><td>{{ s.billed_rows }}</td></tr>
<tr><td class="text">refused (4xx/5xx, never billed)</td><td>{{ s.refused_rows }}</td></tr>
<tr><td class="text">recorded, not billed (metadata, 304, downloads)</td><td>{{ s.other_rows }}</td></tr>
<tr><td class="text">ledger row ids</td><td>{{ s.first_id or '-' }} .. {{ s.last_id or '-' }}</td></tr>
{% for status, n in s.by_status.items() %}
<tr><td class="text">status {{ status }}</td><td>{{ n }}</td></tr>{% endfor %}
</table>
<p class="note">billed + refused + not billed = ledger rows; the calls and records above are the sums of the
billed ledger rows. `datafactory usage report --consumer {{ s.consumer }} --month {{ s.month }}` shows them.</p>
</body></html>
"""


def render_html(statement: Statement, prices: dict[str, Pricing]) -> str:
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(TEMPLATE).render(s=statement, yuan=yuan, price=lambda p: pricing_for(prices, p))


def render_csv(statement: Statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in statement.lines:
        writer.writerow(
            [
                statement.month,
                statement.consumer,
                line.product,
                line.license_id,
                line.public_interest,
                line.calls,
                line.records,
                line.free_records,
                line.bulk_downloads,
                yuan(line.call_fen),
                yuan(line.record_fen),
                yuan(line.bulk_fen),
                yuan(line.list_fen),
                yuan(line.amount_fen),
                line.amount_fen,
                line.note,
            ]
        )
    calls, records = sum(x.calls for x in statement.lines), sum(x.records for x in statement.lines)
    bulks = sum(x.bulk_downloads for x in statement.lines)
    total = [statement.month, statement.consumer, "TOTAL", "", "", calls, records, "", bulks, "", "", "", ""]
    writer.writerow([*total, yuan(statement.total_fen), statement.total_fen, ""])
    return out.getvalue()


def write_statement(statement: Statement, prices: dict[str, Pricing], folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"statement-{statement.consumer}-{statement.month}"
    html, text = folder / f"{stem}.html", folder / f"{stem}.csv"
    html.write_text(render_html(statement, prices), encoding="utf-8")
    text.write_text(render_csv(statement), encoding="utf-8")
    return html, text
