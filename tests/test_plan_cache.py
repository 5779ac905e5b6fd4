"""The runner's plan cache is keyed by the post, not by the Python object (issue 10 §1)."""

from __future__ import annotations

import os

import pytest

from publisher.app import runner as runner_module
from publisher.app.runner import Runner
from publisher.channels import build_channels
from publisher.core.models import Post, State
from publisher.core.posts import ReadResult
from publisher.store.ledger import Ledger

A = 'title = "A"\npublish_at = 2027-06-01T09:00:00\nimage = "media/photo.png"\nimage_alt = "x"'
B = 'title = "B"\npublish_at = 2027-06-02T09:00:00'


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the posts the runner plans (a cache hit plans nothing)."""
    seen: list[str] = []
    real = runner_module.plan_post

    def counting(post: Post, config: object) -> object:
        seen.append(post.id)
        return real(post, config)  # type: ignore[arg-type]

    monkeypatch.setattr(runner_module, "plan_post", counting)
    return seen


def test_an_equal_post_read_again_is_a_hit_and_a_changed_one_a_miss(site, clock, planned) -> None:
    image = site.posts / "media" / "photo.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\x89PNG\r\n\x1a\nfirst")
    site.write_post("a.en.md", A)
    site.write_post("b.en.md", B)
    config = site.config()
    runner = Runner(config, Ledger.open(config.state_url), build_channels(config), clock)

    def sync() -> dict[str, str]:
        runner.sync(ReadResult([site.read("a.en.md"), site.read("b.en.md")]))
        rows = runner.ledger.rows(states=[State.PENDING])
        return {row.post: row.content_hash for row in rows}

    first = sync()
    assert sorted(planned) == ["a", "b"]
    again = site.read("a.en.md")
    assert again == runner.plan.deliveries[0].post and again is not runner.plan.deliveries[0].post

    planned.clear()  # every Post object is new, each equal to the last: nothing is planned again
    assert sync() == first
    assert planned == []

    site.write_post("b.en.md", B.replace('"B"', '"B, edited"'))  # a changed post: planned again
    edited = sync()
    assert planned == ["b"]
    assert edited["a"] == first["a"] and edited["b"] != first["b"]

    planned.clear()  # the post file is the same, its image is not: its content hash changes
    image.write_bytes(b"\x89PNG\r\n\x1a\nsecond, longer")
    os.utime(image, ns=(1, 1))
    assert sync()["a"] != first["a"]
    assert planned == ["a"]
