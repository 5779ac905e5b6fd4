"""The per-file cache, the shared walk and the TOML parser: faster, and never a different answer."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import PREVIEW_FROM, PREVIEW_UNTIL, make_corpus
from publisher.core import postcache, tomlparse, watch
from publisher.core.config import load_config
from publisher.core.posts import post_files, read_post, read_posts
from publisher.core.walk import post_entries

try:
    from support import Site
except ImportError:  # tests/ run as a package
    from tests.support import Site


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small bench corpus (same generator, same kinds of posts), with a ledger folder."""
    root = make_corpus(tmp_path_factory.mktemp("corpus") / "c", 120).root
    (root / "state").mkdir()
    return root


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every post file the watcher parses (the cache's whole point is to parse fewer)."""
    seen: list[Path] = []

    def counting(path: Path, config: object) -> object:
        seen.append(path)
        return read_post(path, config)  # type: ignore[arg-type]

    monkeypatch.setattr(watch, "read_post", counting)
    return seen


def outputs(invoke, root: Path, env: dict[str, str]) -> list[tuple[int, str, str]]:
    config = root / "config.toml"
    runs = [
        invoke(config, "check", env=env),
        invoke(
            config,
            "preview",
            "--format",
            "json",
            "--from",
            "2019-01-01",
            "--until",
            "2031-01-01",
            env=env,
        ),  # fmt: skip
        invoke(config, "preview", "--from", PREVIEW_FROM, "--until", PREVIEW_UNTIL, env=env),
    ]
    return [(r.exit_code, r.stdout, r.stderr) for r in runs]


def test_outputs_are_byte_identical_with_and_without_the_cache(
    invoke, corpus, parses, monkeypatch: pytest.MonkeyPatch
) -> None:
    from publisher.core import checking

    verdicts: list[str] = []
    verdict = checking._verdict
    monkeypatch.setattr(
        checking, "_verdict", lambda post, *a: verdicts.append(post.id) or verdict(post, *a)
    )
    config = load_config(corpus / "config.toml")
    postcache.cache_file(config).unlink(missing_ok=True)
    plain = outputs(invoke, corpus, {"PUBLISHER_NO_CACHE": "1"})
    assert not postcache.cache_file(config).exists()
    assert len(parses) == 3 * 120
    parses.clear()
    cold = outputs(invoke, corpus, {"PUBLISHER_NO_CACHE": ""})
    assert postcache.cache_file(config).exists()
    assert len(parses) == 120  # the first run fills the cache, the next two use it
    parses.clear()
    verdicts.clear()
    warm = outputs(invoke, corpus, {"PUBLISHER_NO_CACHE": ""})
    assert parses == [] and verdicts == []  # check reused every post's verdict
    assert plain == cold == warm
    assert plain[0][0] == 0 and "120 post files, 0 with errors" in plain[0][1]
    assert len(json.loads(plain[1][1])) > 300  # every delivery of the corpus, rendered


def test_an_edited_added_deleted_or_renamed_file_is_read_again(site: Site, parses) -> None:
    (site.root / "state").mkdir()
    first = site.write_post("a.en.md", 'title = "A"\npublish_at = 2027-06-01T09:00:00')
    site.write_post("b.en.md", 'title = "B"\npublish_at = 2027-06-02T09:00:00')
    assert [p.title for p in read_posts(site.config()).posts] == ["A", "B"]
    parses.clear()
    site.write_post("a.en.md", 'title = "A, edited"\npublish_at = 2027-06-01T09:00:00')
    os.utime(first, ns=(1, 1))  # even with an old mtime: the size changed
    site.write_post("c.en.md", 'title = "C"\npublish_at = 2027-06-03T09:00:00')
    (site.posts / "b.en.md").rename(site.posts / "d.en.md")
    read = read_posts(site.config())
    assert [p.title for p in read.posts] == ["A, edited", "C", "B"]
    assert [p.id for p in read.posts] == ["a", "c", "d"]
    assert sorted(p.name for p in parses) == ["a.en.md", "c.en.md", "d.en.md"]
    parses.clear()
    (site.posts / "c.en.md").unlink()
    assert [p.id for p in read_posts(site.config()).posts] == ["a", "d"]
    assert parses == []


def test_an_image_change_reads_the_posts_that_use_it_again(site: Site, parses) -> None:
    (site.root / "state").mkdir()
    image = site.posts / "media" / "photo.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"\x89PNG\r\n\x1a\nfirst")
    site.write_post("a.en.md", 'title = "A"\npublish_at = 2027-06-01T09:00:00\n'
                    'image = "media/photo.png"')  # fmt: skip
    site.write_post("b.en.md", 'title = "B"\npublish_at = 2027-06-02T09:00:00')
    assert not read_posts(site.config()).errors
    parses.clear()
    image.unlink()
    read = read_posts(site.config())
    assert [p.name for p in parses] == ["a.en.md"]
    assert "not found" in read.errors[0].message
    image.write_bytes(b"\x89PNG\r\n\x1a\nsecond")  # the error was not kept: it clears
    assert not read_posts(site.config()).errors


@pytest.mark.parametrize(
    "damage",
    [b"", b"not a pickle at all", b"\x80\x05\x95garbage", "truncated", "other version"],
)
def test_a_damaged_or_foreign_cache_is_rebuilt_never_trusted(
    site: Site, parses, monkeypatch: pytest.MonkeyPatch, damage: bytes | str
) -> None:
    (site.root / "state").mkdir()
    site.write_post("a.en.md", 'title = "A"\npublish_at = 2027-06-01T09:00:00')
    config = site.config()
    read_posts(config)
    path = postcache.cache_file(config)
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-20])
    elif damage == "other version":
        monkeypatch.setattr(postcache, "__version__", "0.0.0-other")
    else:
        path.write_bytes(damage)  # type: ignore[arg-type]
    parses.clear()
    assert [p.title for p in read_posts(config).posts] == ["A"]
    assert len(parses) == 1
    parses.clear()
    assert [p.title for p in read_posts(config).posts] == ["A"]
    assert parses == []  # and the rebuilt cache is used on the next run


def test_a_changed_config_rebuilds_the_cache(site: Site, parses) -> None:
    (site.root / "state").mkdir()
    site.write_post("a.en.md", 'title = "A"\npublish_at = 2027-06-01T09:00:00')
    read_posts(site.config())
    parses.clear()
    site.write_config(site.config_path.read_text().replace("Europe/Berlin", "Europe/Rome"))
    post = read_posts(site.config()).posts[0]
    assert len(parses) == 1 and post.timezone == "Europe/Rome"


def test_no_cache_is_written_without_a_ledger_folder(site: Site) -> None:
    site.write_post("a.en.md", 'title = "A"\npublish_at = 2027-06-01T09:00:00')
    read_posts(site.config())
    assert not (site.root / "state").exists()


def test_check_and_the_watcher_agree_on_which_files_are_posts(site: Site) -> None:
    site.write_post("real.en.md", 'title = "A"\npublish_at = 2027-06-01T09:00:00')
    outside = site.root / "elsewhere"
    outside.mkdir()
    (outside / "linked.en.md").write_text("+++\ntitle = \"L\"\npublish_at = 2027-06-01T09:00:00\n"
                                          "+++\nx\n")  # fmt: skip
    (site.posts / "link.en.md").symlink_to(outside / "linked.en.md")  # a link to a file: a post
    (site.posts / "loop").symlink_to(site.posts)  # a linked folder is not walked (loops)
    (site.posts / "broken.en.md").symlink_to(site.root / "missing.md")
    (site.posts / "notes.txt").write_text("not a post")
    (site.posts / "folder.md").mkdir()  # a folder named like a post: reported
    names = sorted(Path(n).name for n, _ in post_entries(site.posts))
    assert names == ["folder.md", "link.en.md", "real.en.md"]
    assert [p.name for p in post_files(site.posts)] == ["folder.md", "link.en.md", "real.en.md"]
    watcher = watch.PostWatcher(site.config())
    watcher.scan()
    assert len(watcher) == 3


# -- tomli and tomllib: the same answers -----------------------------------------------------
def both(text: str) -> tuple[object, object]:
    out = []
    for parse, error in ((tomlparse.loads, tomlparse.TOMLDecodeError),
                         (tomllib.loads, tomllib.TOMLDecodeError)):  # fmt: skip
        try:
            out.append(("ok", parse(text)))
        except error as exc:
            out.append(("error", str(exc)))
    return out[0], out[1]


def _same(text: str) -> None:
    ours, reference = both(text)
    if ours[0] == "ok" and reference[0] == "ok":
        assert repr(ours[1]) == repr(reference[1]), text  # repr: nan != nan
    else:
        assert ours == reference, text


def test_the_toml_parser_matches_tomllib_on_every_corpus_file(corpus: Path) -> None:
    from bench.floor import front_matter

    for path in sorted(corpus.rglob("*.md")):
        _same(front_matter(path.read_text(encoding="utf-8")))


HOSTILE = [
    "a = ", "a = [1,", 'a = "x\n', "a = 1\na = 2", "[t]\n[t]", "a = 1979-05-27T25:00:00",
    "a = 0x", 'a="\\q"', "x = {a=1,}", "x = {\na = 1}", 'a = "\\e"', 'a = "\\x41"',
    "a = 10:30", "a = 1979-05-27T07:32Z", "a.b=1\na.b.c=2", "= 1", "a = 1 b", "a = '''x",
    "a = 1e", "a = nan", "a = -inf", "a = 1__0", "a = 07", 'a=""""""""', 'a = "\x01"',
    "[[a]]\n[a]", "a = 2020-02-30", 'k = """\\\n  x"""', "a = 9223372036854775808",
    "a = 0b102", "a = 1.", "a = .1", "\ufeffa = 1", "a = 1\r\n", "a = 1\r", "[a.'b c'.\"d\"]",
    'a = "\ud7ff"', "a = true\nb = false\nc = True", "title = '''\n'''", "a = [[1], [\"x\"]]",
    "publish_at = 2027-05-02 10:00:00", "publish_at = 2027-05-02t10:00:00", "x=1#c\ny=2",
    "[event]\nstart = 2027-06-17T09:00:00+02:00\nreminders = []", "a = {b = {c = {}}}",
    "a = [\n1,\n# c\n2,\n]", "'' = 1", '"" = 1', "a = 1_000.5e-3", "a = +0x1", "0 = 0",
]  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE)
def test_the_toml_parser_matches_tomllib_on_hostile_input(text: str) -> None:
    _same(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1=\"'[]{},.#\\\n -_:+TZe\t")), max_size=40))
def test_the_toml_parser_matches_tomllib_on_generated_input(text: str) -> None:
    _same(text)
