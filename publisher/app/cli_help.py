"""Examples at the end of each command's ``--help``: one or two lines a person can copy."""

from __future__ import annotations

import click

FROM_HELP = "Window start, e.g. 2027-05-01, 2027-05, today, -7d (default: now)."
UNTIL_HELP = "Window end, exclusive, e.g. 2027-06-01, tomorrow, +2w (default: none)."
TIMES = (
    "Times T (for --from, --until, --since): 2027-05-01, 2027-05-01T10:00, 2027-05, today, "
    "tomorrow, now, or a duration from now such as -7d, +2w, +12h; local time in "
    "[publisher].timezone unless an offset is given."
)

EXAMPLES: dict[str, list[str]] = {
    "": [
        "publisher check                              (is everything ready?)",
        "publisher preview --format list --until +1w  (what goes out next week)",
        "publisher status --state sent --since -7d    (what went out last week, and where)",
    ],
    "check": [
        "publisher check",
        "publisher check --online     (also try each token and Page)",
    ],
    "queue": [
        "publisher queue ~/drafts/webinar.en.md ~/drafts/webinar.it.md",
    ],
    "preview": [
        "publisher preview --format list --from tomorrow --until +1w",
        "publisher preview --post 2027-06-final-conference --channel linkedin",
        "publisher preview --format html --from 2027-05 --until 2027-06 -o may.html --open",
    ],
    "import": [
        "publisher import                        (poll every feed source now)",
        "publisher import website --dry-run      (what the next poll would write)",
        "publisher import website --backfill 3   (also take 3 items already in the feed)",
    ],
    "run": [
        "publisher run --once                    (from cron, e.g. every 5 minutes)",
        "publisher run --dry-run --until +1w     (what would go out in the next week)",
    ],
    "status": [
        "publisher status --state sent --since -7d    (what went out last week, and where)",
        "publisher status --state failed --state uncertain --channel linkedin",
    ],
    "retry": [
        "publisher retry 2027-06-final-conference/en/linkedin/post",
        "publisher retry --failed     (every failed delivery, after fixing the cause)",
    ],
    "resolve": [
        "publisher resolve 2027-06-final-conference/en/facebook/post --sent "
        "https://www.facebook.com/1_2",
        "publisher resolve 2027-06-final-conference/en/facebook/post --not-sent",
    ],
    "update": [
        "publisher status --all --post 2027-06-final-conference   (changed ones say so)",
        "publisher update 2027-06-final-conference/en/facebook/post",
    ],
}


def register(group: click.Group) -> None:
    """Add the commands that live in their own modules, then everyone's examples."""
    from publisher.app.cli_check import check
    from publisher.app.cli_import import import_command
    from publisher.app.cli_preview import preview
    from publisher.app.cli_queue import queue
    from publisher.app.cli_run import run
    from publisher.app.cli_settle import resolve, retry
    from publisher.app.cli_status import status
    from publisher.app.cli_update import update

    for command in (check, queue, preview, import_command, run, status, retry, resolve, update):
        group.add_command(command)
    add_examples(group)


def add_examples(group: click.Group) -> None:
    """Give the group and each command its examples (and the group the forms of T)."""
    for name, lines in EXAMPLES.items():
        command = group if not name else group.commands.get(name)
        if command is None:
            continue
        text = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
        if command is group or name in ("preview", "run", "status"):
            text += "\n\n" + TIMES
        command.epilog = text
