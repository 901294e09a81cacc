"""Times `seed_demo` (COPY into PostgreSQL) at a chosen size, in a scratch database."""

import argparse

from bench.common import create_database, database_url, report, setup_django, timer


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench seed", description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args(argv)

    url = database_url("seedtime")
    create_database(url, drop=True)
    setup_django(url)
    from django.core.management import call_command

    from demo.seeding import seed_demo

    call_command("migrate", verbosity=0)
    with timer() as elapsed:
        counts = seed_demo(contacts=args.contacts)
    seconds = elapsed()
    total_rows = counts.accounts + counts.contacts + counts.leads + counts.interactions + counts.opportunities
    report(
        f"seed_demo --contacts {args.contacts:,}",
        [
            ("time", f"{seconds:.1f}s"),
            ("contacts/s", f"{counts.contacts / seconds:,.0f}"),
            ("rows/s (all tables)", f"{total_rows / seconds:,.0f}"),
            ("accounts", f"{counts.accounts:,}"),
            ("contacts", f"{counts.contacts:,}"),
            ("leads (orphans)", f"{counts.leads:,} ({counts.orphan_leads:,})"),
            ("opportunities", f"{counts.opportunities:,}"),
            ("interactions", f"{counts.interactions:,}"),
        ],
    )
    return 0
