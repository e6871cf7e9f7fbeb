"""`datafactory consumers`: issue, list, revoke and rotate API keys bound to licenses."""

from __future__ import annotations

import argparse
import re
from datetime import date

from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)


def _per(unit: str, cast):
    pattern = re.compile(rf"^\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*{unit})?\s*$")

    def parse(text: str):
        match = pattern.match(text)
        if not match:
            raise argparse.ArgumentTypeError(f"{text!r}: expected a number, optionally followed by /{unit}")
        return cast(float(match.group(1)))

    return parse


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date, YYYY-MM-DD") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("consumers", help="product API consumers: API keys and their licenses")
    verbs = p.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="issue an API key bound to a license (the key is shown once)")
    add.add_argument("name")
    add.add_argument("--products", nargs="+", required=True, metavar="PRODUCT")
    add.add_argument("--purpose", required=True, help="what the consumer uses the data for (on every ledger row)")
    add.add_argument("--scenario", help="the authorized scenario (default: the products' authorized_for)")
    add.add_argument("--expires", type=_day, required=True, help="last valid day, YYYY-MM-DD (China time)")
    add.add_argument("--quota", type=_per("day", int), required=True, help="key lookups a day, e.g. 10000/day")
    add.add_argument("--rate", type=_per("s", float), required=True, help="requests a second, e.g. 20/s")
    add.add_argument("--bulk", action="store_true", help="may download whole versions")
    add.add_argument("--public-interest", action="store_true", help="public governance or welfare use: free")
    add.set_defaults(handler=add_consumer)
    verbs.add_parser("list", help="consumers, their licenses and state").set_defaults(handler=list_consumers)
    revoke = verbs.add_parser("revoke", help="revoke a consumer's key and licenses (effective within 1 s)")
    revoke.add_argument("name")
    revoke.set_defaults(handler=revoke_consumer)
    rotate = verbs.add_parser("rotate", help="issue a new key; the old one stops working (within 1 s)")
    rotate.add_argument("name")
    rotate.set_defaults(handler=rotate_consumer)


def _engine():
    from datafactory.settings import load_settings

    return load_settings().state_engine()


def license_scenario(products: list[str], scenario: str | None, specs: dict) -> str:
    """The scenario the license is for; every product must be authorized for exactly it."""
    unknown = [p for p in products if p not in specs]
    if unknown:
        raise LookupError(f"no product {', '.join(unknown)}; products are {', '.join(sorted(specs))}")
    scenarios = {p: specs[p].authorized_for for p in products}
    if scenario is None:
        if len(set(scenarios.values())) > 1:
            raise ValueError(f"the products serve different scenarios ({scenarios}); issue one license per scenario")
        return next(iter(scenarios.values()))
    outside = {p: s for p, s in scenarios.items() if s != scenario}
    if outside:
        named = ", ".join(f"{p} (authorized for {s})" for p, s in outside.items())
        raise ValueError(f"a license for {scenario!r} cannot cover {named}")
    return scenario


def add_consumer(args: argparse.Namespace) -> int:
    from datafactory.serving.consumers import LicenseTerms, add_consumer
    from datafactory.settings import load_settings
    from datafactory.specs import load_products

    settings = load_settings()
    products = list(dict.fromkeys(args.products))
    scenario = license_scenario(products, args.scenario, load_products(settings.repo))
    terms = LicenseTerms(
        products=tuple(products),
        scenario=scenario,
        purpose=args.purpose,
        expires=args.expires,
        quota_per_day=args.quota,
        rate_per_s=args.rate,
        bulk=args.bulk,
        public_interest=args.public_interest,
    )
    consumer, key = add_consumer(settings.state_engine(), args.name, terms)
    lic = consumer.licenses[0]
    errors.print(
        f"consumer {consumer.name}: license L{lic.id} for {', '.join(lic.products)} ({lic.scenario}), "
        f"until {lic.expires}, {lic.quota_per_day}/day, {lic.rate_per_s:g}/s" + (", bulk" if lic.bulk else ""),
        soft_wrap=True,
    )
    errors.print("[yellow]the API key follows; it is shown once and stored only as a hash[/yellow]")
    print(key)
    return 0


def list_consumers(args: argparse.Namespace) -> int:
    from datafactory.serving.consumers import list_consumers

    table = Table("consumer", "state", "license", "products", "scenario", "purpose", "expires", "quota/day", "rate/s")
    table.add_column("bulk")
    table.add_column("public interest")
    for consumer in list_consumers(_engine()):
        state = "revoked" if consumer.revoked else "active"
        for lic in consumer.licenses or ():
            table.add_row(
                consumer.name,
                state if not lic.revoked or consumer.revoked else "license revoked",
                f"L{lic.id}",
                ", ".join(lic.products),
                lic.scenario,
                lic.purpose,
                lic.expires.isoformat(),
                str(lic.quota_per_day),
                f"{lic.rate_per_s:g}",
                "yes" if lic.bulk else "no",
                "yes" if lic.public_interest else "no",
            )
    console.print(table)
    return 0


def revoke_consumer(args: argparse.Namespace) -> int:
    from datafactory.serving.consumers import revoke

    consumer = revoke(_engine(), args.name)
    errors.print(f"consumer {consumer.name} revoked: its key and {len(consumer.licenses)} license(s) stop working")
    return 0


def rotate_consumer(args: argparse.Namespace) -> int:
    from datafactory.serving.consumers import rotate

    key = rotate(_engine(), args.name)
    errors.print(f"[yellow]new key for {args.name} follows (shown once); the old key stops working[/yellow]")
    print(key)
    return 0
