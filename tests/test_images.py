"""Images as readers will see them: too-small warnings, the picture in the feed item's HTML."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import feedparser
from support import Site, site_config

from publisher.core.image_size import dimensions

FACEBOOK = """
[channels.facebook]
type = "facebook"
page_id = "42"
token_env = "TEST_FB_TOKEN"
api_url = "http://127.0.0.1:9"
languages = ["en"]

[channels.linkedin]
type = "linkedin"
organization_id = "7"
token_env = "TEST_LI_TOKEN"
api_url = "http://127.0.0.1:9"
languages = ["en"]
"""


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = zlib.compress(b"".join(b"\x00" + b"\x00" * 3 * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def test_the_size_is_read_from_the_bytes(tmp_path: Path) -> None:
    cases = {"a.png": png(700, 400), "b.jpg": jpeg(1200, 628),
             "c.gif": b"GIF89a" + struct.pack("<HH", 300, 200) + b"\x00" * 10}  # fmt: skip
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    assert dimensions(tmp_path / "a.png") == (700, 400)
    assert dimensions(tmp_path / "b.jpg") == (1200, 628)
    assert dimensions(tmp_path / "c.gif") == (300, 200)
    (tmp_path / "d.png").write_bytes(b"not an image")
    assert dimensions(tmp_path / "d.png") is None and dimensions(tmp_path / "none.png") is None


def test_a_small_image_is_a_warning_naming_each_networks_minimum(invoke, clock, site: Site):
    site.write_config(site_config(FACEBOOK))
    (site.posts / "media").mkdir()
    (site.posts / "media" / "small.png").write_bytes(png(500, 300))
    (site.posts / "media" / "fine.jpg").write_bytes(jpeg(1200, 628))
    site.write_post("a.en.md", 'title = "A"\npublish_at = 2027-06-05T09:00:00\n'
                    'image = "media/small.png"\nimage_alt = "x"')  # fmt: skip
    site.write_post("b.en.md", 'title = "B"\npublish_at = 2027-06-05T09:00:00\n'
                    'image = "media/fine.jpg"\nimage_alt = "x"')  # fmt: skip
    checked = invoke(site, "check")
    assert "small.png is 500 x 300 px: Facebook recommends at least 600 px wide" in checked.stderr
    assert "small.png is 500 x 300 px: LinkedIn recommends at least 640 x 360" in checked.stderr
    assert "fine.jpg" not in checked.stderr
    shown = invoke(site, "preview", "--post", "a")
    assert "warning: image small.png is 500 x 300 px: Facebook recommends" in shown.stdout


def test_the_feed_item_html_shows_the_image(invoke, site: Site) -> None:
    (site.posts / "media").mkdir()
    (site.posts / "media" / "pic.png").write_bytes(png(1200, 630))
    site.write_post("a.en.md", 'title = "A"\npublish_at = 2027-06-01T09:00:00\n'
                    'image = "media/pic.png"\nimage_alt = "The venue"')  # fmt: skip
    assert invoke(site, "run", "--once").exit_code == 0
    [entry] = feedparser.parse(str(site.root / "public" / "feed.xml")).entries
    html = entry.content[0].value
    # the path below posts_dir is kept under media/ (DESIGN §7: no two images share a name)
    assert '<img alt="The venue" src="https://example.org/s3chem/media/media/pic.png" />' in html
    assert entry.enclosures[0].href == "https://example.org/s3chem/media/media/pic.png"


def test_queue_gives_a_post_its_own_folder_when_its_image_name_is_taken(
    invoke, site: Site, tmp_path: Path
) -> None:
    for folder, colour in (("one", 1), ("two", 2)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "lyon.png").write_bytes(png(700 + colour, 400))
        (tmp_path / folder / f"{folder}.en.md").write_text(
            f'+++\ntitle = "{folder}"\npublish_at = 2027-06-05T09:00:00\nimage = "lyon.png"\n'
            'image_alt = "Lyon"\n+++\nBody\n', encoding="utf-8")  # fmt: skip
    first = invoke(site, "queue", str(tmp_path / "one" / "one.en.md"))
    assert first.exit_code == 0, first.stderr
    second = invoke(site, "queue", str(tmp_path / "two" / "two.en.md"))
    assert second.exit_code == 0, second.stderr
    assert "in its own folder" in second.stdout and "two/two/en/rss/post" in second.stdout
    assert (site.posts / "lyon.png").read_bytes() == (tmp_path / "one" / "lyon.png").read_bytes()
    assert (site.posts / "two" / "lyon.png").read_bytes() == (
        tmp_path / "two" / "lyon.png"
    ).read_bytes()
    checked = invoke(site, "check")
    assert checked.exit_code == 0 and "2 post files, 0 with errors" in checked.stdout
    again = invoke(site, "queue", str(tmp_path / "two" / "two.en.md"))
    assert again.exit_code == 0 and "nothing to do" in again.stdout
