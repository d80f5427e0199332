"""feedback.html and summary.html in a real headless browser: they render, images load, nothing is fetched.

Uses Debian's `chromium` (.ci/run installs it); skipped, with the reason shown, where it is not on PATH.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.export import ExportOptions, load_reports, write_exports
from grader.reporters.plots import PNG_SIGNATURE

from sample_reports import graded_folder, report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")

# Added to a copy of the page only: report what the browser loaded, as attributes of <body>.
PROBE = ("<script>addEventListener('load',()=>{const b=document.body.dataset;"
         "b.images=document.images.length;"
         "b.imagesLoaded=[...document.images].filter(i=>i.complete&&i.naturalWidth>0).length;"
         "b.fetched=performance.getEntriesByType('resource').filter(e=>!e.name.startsWith('data:')).length;"
         "b.svgs=document.querySelectorAll('svg').length;})</script>")


def chromium(*args: str, profile: Path) -> str:
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def load(page: Path, tmp_path: Path) -> dict[str, str]:
    """Open a probed copy of `page` (same folder, same CSP plus the probe script); return the probe's findings."""
    html = page.read_text(encoding="utf-8")
    probed = page.with_name("probe-" + page.name)
    probed.write_text(html.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';")
                      .replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = chromium("--virtual-time-budget=5000", "--dump-dom", probed.as_uri(), profile=tmp_path / "profile")
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:500]
    found = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    found["text"] = re.sub(r"<[^>]+>", " ", dom)
    return found


def static_checks(html: str) -> int:
    """No http(s) reference anywhere; every <img> a data: URI holding a real PNG. Returns the image count."""
    assert not re.search(r"https?://", html)
    sources = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", html)
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG_SIGNATURE)
    return len(sources)


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    out = graded_folder(tmp_path_factory.mktemp("graded"), {"ada": report("ada"), "张伟": report("张伟", wrong=False)})
    write_exports(out, load_reports(out), course)
    return out


def test_feedback_renders_with_its_plots_and_fetches_nothing(graded, tmp_path):
    page = graded / "students" / "ada" / "feedback.html"
    images = static_checks(page.read_text(encoding="utf-8"))
    found = load(page, tmp_path)
    assert (found["images"], found["images-loaded"], found["fetched"]) == (str(images), str(images), "0")
    assert images == 2 and int(found["svgs"]) >= 1
    assert "Total: 8/24" in found["text"] and "Feedback for ada" in found["text"]
    shot = tmp_path / "feedback.png"
    chromium("--window-size=1000,1400", f"--screenshot={shot}", page.as_uri(), profile=tmp_path / "profile")
    assert shot.read_bytes().startswith(PNG_SIGNATURE) and shot.stat().st_size > 10_000


def test_chinese_feedback_renders(course, graded, tmp_path):
    out = shutil.copytree(graded, tmp_path / "zh")
    write_exports(out, load_reports(out), course, ExportOptions("zh"))
    page = out / "students" / "张伟" / "feedback.html"
    static_checks(page.read_text(encoding="utf-8"))
    found = load(page, tmp_path)
    assert "张伟 的作业反馈" in found["text"] and "总分: 16/24" in found["text"]
    assert found["images-loaded"] == found["images"] == "2" and found["fetched"] == "0"


def test_summary_renders_and_links_feedback(graded, tmp_path):
    page = graded / "summary.html"
    assert static_checks(page.read_text(encoding="utf-8")) == 0
    found = load(page, tmp_path)
    assert found["fetched"] == "0" and int(found["svgs"]) == 1
    assert "Class summary" in found["text"] and "autograd.grad_tensors.lesson_value" in found["text"]
    assert 'href="students/%E5%BC%A0%E4%BC%9F/feedback.html"' in page.read_text(encoding="utf-8")
