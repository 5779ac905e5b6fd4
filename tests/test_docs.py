"""The README answers the questions a new user asked (issue 13, point 12)."""

from __future__ import annotations

from support import REPO


def test_readme_covers_the_gaps_a_new_user_met() -> None:
    text = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert "Getting the feed onto the website" in text and "rsync" in text
    assert "**`online_url`** is the address of an online or hybrid event" in text
    assert "Changing or moving a queued post" in text
    assert "Corrections after publishing" in text and "update_published = true" in text


def test_a_users_config_stays_out_of_git() -> None:
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").split()
    assert "config.toml" in ignored
