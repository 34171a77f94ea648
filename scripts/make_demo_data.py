"""Generate the synthetic donors of the demo database.

Run `python scripts/make_demo_data.py` from the repository root to rewrite
commjobs_tui/data/demo_donors.json. The output depends only on SEED and the lists
in demo_data/, so every run writes the same bytes. All names, addresses, notes and
messages are invented. Emails use only the reserved example domains (RFC 2606),
and phone numbers use the 555-0100 to 555-0199 range, which is set aside for
fiction.

Gift dates run from 2019 to 30 November 2026. The demo treats 1 December 2026
as today, so a donor whose last gift is more than 12 months older is lapsed.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

from demo_data.donors import (
    DonorFactory,
    add_person_notes,
    add_tags,
    build_organisations,
    build_people,
)
from demo_data.gifts import Json
from demo_data.threads import add_threads

SEED = 20261201
FORMAT_VERSION = 1
DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent / "commjobs_tui/data/demo_donors.json"
)


def build_document(seed: int = SEED) -> Json:
    rng = random.Random(seed)
    factory = DonorFactory(rng)
    drafts = build_people(factory) + build_organisations(factory)
    rng.shuffle(drafts)
    add_tags(rng, drafts)
    add_person_notes(rng, drafts)
    add_threads(rng, drafts)
    donors = []
    for number, draft in enumerate(drafts, 1):
        record = draft.record
        record["external_id"] = f"demo:{number:04d}"
        record["donations"].sort(
            key=lambda g: (g["donated_on"], g["campaign"] or "", g["amount_cents"])
        )
        record["threads"].sort(key=lambda t: t["messages"][0]["sent_at"])
        donors.append(record)
    return {"version": FORMAT_VERSION, "donors": donors}


def has_nested(value: Any) -> bool:
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return False
    return any(isinstance(child, dict | list) for child in children)


def encode(value: Any, depth: int = 0) -> str:
    """Encode JSON with one line per object or array that contains only scalars.

    Gifts and messages then take one line each, which keeps the file small and its
    diffs readable. Keys are sorted so that the output is stable.
    """
    if not has_nested(value):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    indent = "  " * (depth + 1)
    if isinstance(value, dict):
        items = [
            f"{indent}{json.dumps(key)}: {encode(value[key], depth + 1)}"
            for key in sorted(value)
        ]
        opening, closing = "{", "}"
    else:
        items = [f"{indent}{encode(item, depth + 1)}" for item in value]
        opening, closing = "[", "]"
    return opening + "\n" + ",\n".join(items) + "\n" + "  " * depth + closing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"JSON file to write (default: {DEFAULT_OUTPUT.name} in the package)",
    )
    args = parser.parse_args()
    data = (encode(build_document()) + "\n").encode("utf-8")
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        parser.exit(1, f"cannot write {args.output}: {exc.strerror}\n")
    print(f"wrote {args.output} ({len(data):,} bytes)")


if __name__ == "__main__":
    main()
