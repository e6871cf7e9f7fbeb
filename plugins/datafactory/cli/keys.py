"""`datafactory keys`: the pseudonym and SM4 key rings (ids only; a key is never printed)."""

from __future__ import annotations

import argparse

from rich.console import Console

console = Console()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="key rings: list the key ids held, start a new key")
    keys = p.add_subparsers(dest="keys_command", required=True)
    show = keys.add_parser("list", help="each ring's current key id and the retired ids still held")
    show.set_defaults(handler=list_keys)
    rotate = keys.add_parser(
        "rotate",
        help="start a new key: new data uses it, data made with older keys stays readable (see README)",
    )
    rotate.add_argument("kind", choices=["sm4", "pseudonym"], help="which ring")
    rotate.set_defaults(handler=rotate_key)


def list_keys(args: argparse.Namespace) -> int:
    from datafactory.secrets import KINDS, load_ring
    from datafactory.settings import load_settings

    settings = load_settings()
    for kind in KINDS:
        ring = load_ring(kind, settings.home)
        retired = sorted((k for k in ring.keys if k != ring.current), key=int)
        console.print(f"{kind}: current key id {ring.current}; retired ids held: {', '.join(retired) or 'none'}")
    return 0


def rotate_key(args: argparse.Namespace) -> int:
    from datafactory.secrets import rotate
    from datafactory.settings import load_settings

    kid = rotate(args.kind, load_settings().home)
    console.print(f"{args.kind}: key id {kid} is current; data made with older key ids stays readable")
    if args.kind == "pseudonym":
        console.print(
            f"new pseudonyms start with p{kid}_ and do not equal older ones for the same person: "
            "this starts a new join domain (README: Threat model, key rotation)"
        )
    return 0
