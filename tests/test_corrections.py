"""Corrections after publishing (DESIGN §9): feeds updated in place, live posts edited, never
posted twice; against the strict Graph and LinkedIn fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
from fakes.graph import FakeGraph
from fakes.linkedin import FakeLinkedIn
from support import RSS_CHANNELS, Site, site_config

from publisher.store.ledger import Ledger

FB_ENV, LI_ENV = "TEST_FB_TOKEN", "TEST_LI_TOKEN"
LI_TOKEN = "li-secret-token-0123456789"
NEWS = 'title = "Working group in Magdeburg"\npublish_at = 2027-06-01T09:00:00'


@pytest.fixture
def linkedin() -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn(LI_TOKEN) as server:
        yield server


def facebook_table(graph: FakeGraph, update_published: bool) -> str:
    return f"""
[channels.facebook]
type = "facebook"
page_id = "{graph.page_id}"
token_env = "{FB_ENV}"
api_url = "{graph.url}"
languages = ["en"]
update_published = {str(update_published).lower()}
"""


def edit_post(site: Site, old: str, new: str) -> None:
    path = site.posts / "news.en.md"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def rows(invoke, site: Site, env: dict[str, str] | None = None) -> dict[str, dict]:
    result = invoke(site, "status", "--json", "--all", env=env)
    return {r["channel"]: r for r in json.loads(result.stdout)}


def history_states(site: Site, delivery_id: str) -> list[str]:
    return [state for _, state, _ in Ledger.open(site.config().state_url).history(delivery_id)]


def test_a_feed_item_is_updated_in_place(invoke, clock, site: Site) -> None:
    site.write_post("news.en.md", NEWS, body="Partners meet in Magdeburg.")
    assert invoke(site, "run", "--once").exit_code == 0
    feed = site.root / "public" / "feed.xml"
    before = ElementTree.parse(feed).getroot().find("channel/item")
    clock.advance(days=1)
    edit_post(site, "Partners meet in Magdeburg.", "Partners met in Magdeburg.")
    assert invoke(site, "run", "--once").exit_code == 0
    [after] = ElementTree.parse(feed).getroot().findall("channel/item")
    assert "Partners met" in after.findtext("description")
    assert after.findtext("guid") == before.findtext("guid")
    assert after.findtext("pubDate") == before.findtext("pubDate")
    assert rows(invoke, site)["rss"]["changed"] is False
    assert history_states(site, "news/en/rss/post")[-1] == "edited"


def test_update_published_edits_the_live_post_on_the_next_pass(invoke, clock, site, graph):
    env = {FB_ENV: graph.token}
    site.write_config(site_config(facebook_table(graph, True) + RSS_CHANNELS))
    site.write_post("news.en.md", NEWS, body="Partners meet in Magdeburg.")
    assert invoke(site, "run", "--once", env=env).exit_code == 0
    [post] = graph.posts
    edit_post(site, "Partners meet", "Partners met")
    clock.advance(hours=1)
    assert invoke(site, "run", "--once", env=env).exit_code == 0
    assert len(graph.posts) == 1 and "Partners met in Magdeburg." in post["message"]
    [edit] = [r for r in graph.requests if r.path == f"/v26.0/{post['id']}"]
    assert edit.method == "POST" and set(edit.fields) == {"message"}
    assert graph.violations == []
    row = rows(invoke, site, env)["facebook"]
    assert (row["state"], row["remote_id"], row["changed"]) == ("sent", post["id"], False)
    assert history_states(site, "news/en/facebook/post")[-1] == "edited"
    invoke(site, "run", "--once", env=env)
    assert post["edits"] == 1  # matching again: nothing more to edit


def test_without_update_published_status_flags_it_and_update_edits_it(
    invoke, clock, site, graph
) -> None:
    env = {FB_ENV: graph.token}
    site.write_config(site_config(facebook_table(graph, False)))
    site.write_post("news.en.md", NEWS, body="Partners meet in Magdeburg.")
    assert invoke(site, "run", "--once", env=env).exit_code == 0
    edit_post(site, "Partners meet", "Partners met")
    invoke(site, "run", "--once", env=env)
    [post] = graph.posts
    assert "Partners meet" in post["message"] and "edits" not in post
    text = invoke(site, "status", "--all", env=env).stdout
    assert "`publisher update news/en/facebook/post` edits the live post" in text
    done = invoke(site, "update", "news/en/facebook/post", env=env)
    assert done.exit_code == 0, done.stderr
    assert "edited to match its post file: https://www.facebook.com/" in done.stdout
    assert "Partners met" in post["message"] and len(graph.posts) == 1
    again = invoke(site, "update", "news/en/facebook/post", env=env)
    assert again.exit_code == 0 and "nothing to do: the live post matches" in again.stdout


def test_a_failed_edit_leaves_the_delivery_sent_and_changed(invoke, clock, site, graph) -> None:
    env = {FB_ENV: graph.token}
    site.write_config(site_config(facebook_table(graph, False)))
    site.write_post("news.en.md", NEWS)
    invoke(site, "run", "--once", env=env)
    edit_post(site, "Magdeburg", "Magdeburg (Saxony-Anhalt)")
    graph.fail_next(200, message="(#200) Permissions error")
    failed = invoke(site, "update", "news/en/facebook/post", env=env)
    assert failed.exit_code == 1 and "not edited" in failed.stderr, failed.output
    row = rows(invoke, site, env)["facebook"]
    assert (row["state"], row["changed"]) == ("sent", True)
    assert history_states(site, "news/en/facebook/post")[-1] == "edit-failed"
    unknown = invoke(site, "update", "nope/en/facebook/post", env=env)
    assert unknown.exit_code == 2 and "not in the ledger" in unknown.stderr


def test_a_linkedin_edit_patches_the_same_post_with_escaped_commentary(
    invoke, clock, site, linkedin
) -> None:
    env = {LI_ENV: LI_TOKEN}
    table = f"""
[channels.linkedin]
type = "linkedin"
organization_id = "{linkedin.organization}"
token_env = "{LI_ENV}"
api_url = "{linkedin.url}"
update_published = true
"""
    site.write_config(site_config(table))
    site.write_post("news.en.md", NEWS, body="Partners meet in Magdeburg.")
    assert invoke(site, "run", "--once", env=env).exit_code == 0
    [post] = linkedin.posts
    edit_post(site, "Partners meet in Magdeburg.", "Partners met (in Magdeburg) #1 [a_b].")
    assert invoke(site, "run", "--once", env=env).exit_code == 0
    assert len(linkedin.posts) == 1 and linkedin.violations == []
    assert post["text"] == "Working group in Magdeburg\n\nPartners met (in Magdeburg) #1 [a_b]."
    [patch] = [s for s in linkedin.seen if s.method == "POST" and s.path.startswith("/rest/posts/")]
    assert patch.headers["X-RestLi-Method"] == "PARTIAL_UPDATE"
    body = json.loads(patch.body)
    assert body == {"patch": {"$set": {"commentary": body["patch"]["$set"]["commentary"]}}}
    assert "\\(in Magdeburg\\)" in body["patch"]["$set"]["commentary"]
    assert rows(invoke, site, env)["linkedin"]["changed"] is False


def test_the_strict_fakes_refuse_an_edit_of_a_post_that_is_not_there(graph, linkedin) -> None:
    import requests

    graph_edit = requests.post(f"{graph.url}/v26.0/{graph.page_id}_1", data={"message": "x"},
                               headers={"Authorization": f"Bearer {graph.token}"})  # fmt: skip
    assert graph_edit.status_code == 400 and graph_edit.json()["error"]["code"] == 100
    headers = {"Authorization": f"Bearer {LI_TOKEN}", "LinkedIn-Version": "202608",
               "X-Restli-Protocol-Version": "2.0.0", "X-RestLi-Method": "PARTIAL_UPDATE"}  # fmt: skip
    patch = {"patch": {"$set": {"commentary": "x"}}}
    li_edit = requests.post(f"{linkedin.url}/rest/posts/urn%3Ali%3Ashare%3A1", json=patch,
                            headers=headers)  # fmt: skip
    assert li_edit.status_code == 404
    post = linkedin.add_post("hello")
    requests.post(f"{linkedin.url}/rest/posts/{post['id']}", json={"patch": {"$set": {
        "commentary": "cut (here"}}}, headers=headers)  # fmt: skip
    assert linkedin.violations and post["text"] == "cut "


def test_changing_a_post_back_clears_changed_without_an_edit(invoke, clock, site, graph) -> None:
    env = {FB_ENV: graph.token}
    site.write_config(site_config(facebook_table(graph, False)))
    site.write_post("news.en.md", NEWS, body="Partners meet in Magdeburg.")
    invoke(site, "run", "--once", env=env)
    edit_post(site, "Partners meet", "Partners met")
    invoke(site, "run", "--once", env=env)
    assert rows(invoke, site, env)["facebook"]["changed"] is True
    edit_post(site, "Partners met", "Partners meet")
    invoke(site, "run", "--once", env=env)
    assert rows(invoke, site, env)["facebook"]["changed"] is False
    assert len(graph.posts) == 1 and "edits" not in graph.posts[0]


def test_update_rewrites_the_feed_at_once(invoke, clock, site: Site) -> None:
    site.write_post("news.en.md", NEWS, body="Partners meet in Magdeburg.")
    invoke(site, "run", "--once")
    edit_post(site, "Partners meet", "Partners met")
    done = invoke(site, "update", "news/en/rss/post")
    assert done.exit_code == 0 and "edited to match its post file" in done.stdout
    assert "Partners met" in (site.root / "public" / "feed.xml").read_text(encoding="utf-8")
