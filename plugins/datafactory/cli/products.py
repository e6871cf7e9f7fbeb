"""`datafactory products`: list and show published versions."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

console = Console()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("products", help="published data products")
    verbs = p.add_subparsers(dest="verb", required=True)
    verbs.add_parser("list", help="every product with its versions and latest").set_defaults(handler=list_products)
    show = verbs.add_parser("show", help="a version's manifest (default: latest)")
    show.add_argument("name")
    show.add_argument("version", nargs="?", type=int)
    show.set_defaults(handler=show_product)


def _store():
    from datafactory.products.store import open_store
    from datafactory.settings import load_settings

    settings = load_settings()
    return open_store(settings.store_url, settings.s3_endpoint_url)


def list_products(args: argparse.Namespace) -> int:
    from datafactory.products.versioning import latest_version, list_versions
    from datafactory.settings import load_settings
    from datafactory.specs import load_products

    store = _store()
    table = Table("product", "versions", "latest", "owner")
    for name, spec in load_products(load_settings().repo).items():
        versions = list_versions(store, name)
        table.add_row(
            name,
            ", ".join(map(str, versions)) or "-",
            str(latest_version(store, name) or "-"),
            spec.raw.get("owner", ""),
        )
    console.print(table)
    return 0


def show_product(args: argparse.Namespace) -> int:
    from datafactory.products.versioning import latest_version, read_manifest

    store = _store()
    version = args.version or latest_version(store, args.name)
    if version is None:
        raise LookupError(f"{args.name} has no approved version yet; give a version number")
    console.print_json(json.dumps(read_manifest(store, args.name, version), ensure_ascii=False))
    return 0
