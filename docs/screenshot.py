"""Take docs/review.png: the `grade review` page of a graded OUT in headless chromium (Selenium, as the tests).

    grade examples/submissions --out /tmp/graded
    python docs/screenshot.py /tmp/graded

The page is served from a copy of OUT. `--answer` replaces the shown item's written answer in that copy's
executed notebook, so the picture can show LaTeX math rendered next to Chinese text (the example answers
have no math); the default is the text below. Chinese needs a CJK font for chromium
(`apt-get install fonts-wqy-zenhei` or `fonts-noto-cjk`); without one it shows boxes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import tornado.httpserver
import tornado.netutil

from grader.answers import tagged_answer
from grader.course import load_course
from grader.layout import OutLayout
from grader.manual import specs
from grader.review.app import make_app
from grader.review.items import Review

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "screenshot"
ANSWER = ("模型先计算线性得分 $z = w^\\top x + b$，再用 sigmoid 函数 $\\sigma(z) = \\frac{1}{1+e^{-z}}$ "
          "把它映射到 (0, 1) 之间，作为属于类别 1 的概率。\n\n"
          "Thresholding at 0.5 splits the plane along the straight line\n\n$$w^\\top x + b = 0,$$\n\n"
          "the decision boundary; training with `BCELoss` moves that line to separate the two classes.")


def demo_answer(out: Path, student: str, check: str, text: str) -> None:
    """Write `text` into the answer cell of `check` (exercise.question.answer) in the student's executed notebook."""
    spec = specs(load_course(ROOT))[check]
    exercise, answer = spec.exercise, spec.answer
    layout = OutLayout(out)
    report = json.loads(layout.report(student).read_text(encoding="utf-8"))
    name = next(ex["notebook"] for ex in report["exercises"] if ex["id"] == exercise)
    path = layout.executed(student, name)
    nb = nbformat.read(path, as_version=4)
    index = tagged_answer(nb, answer)
    if index is None:
        raise SystemExit(f"no answer cell {answer!r} in {path}")
    nb.cells[index].source = text
    nbformat.write(nb, path)


def serve(out: Path, lang: str) -> str:
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")

    def run() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        server = tornado.httpserver.HTTPServer(make_app(Review(OutLayout(out), load_course(ROOT), lang), TOKEN))
        server.add_sockets(sockets)
        asyncio.get_event_loop().run_forever()

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{sockets[0].getsockname()[1]}/?token={TOKEN}"


def shoot(url: str, item: str, dest: Path, size: tuple[int, int]) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                 f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 30)
        entry = wait.until(lambda d: [li for li in d.find_elements(By.CSS_SELECTOR, "#list li")
                                      if li.text.split(" ")[0] + "/" + li.text.split(" · ")[1].split(" ")[0] == item])
        entry[0].click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#answer .katex") or not d.find_elements(
            By.CSS_SELECTOR, "#answer span.math"))
        wait.until(lambda d: d.execute_script("return document.fonts.status === 'loaded'"))
        time.sleep(0.5)
        driver.save_screenshot(str(dest))
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a graded OUT folder (of examples/submissions)")
    parser.add_argument("--item", default="alice/logistic_regression.hw1.answer", help="STUDENT/CHECK to show")
    parser.add_argument("--answer", default=ANSWER, help="the answer shown (empty: the student's own)")
    parser.add_argument("--lang", default="zh", choices=("en", "zh"))
    parser.add_argument("--dest", type=Path, default=ROOT / "docs" / "review.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        shutil.copytree(args.out, out, ignore=shutil.ignore_patterns("cache", "lock"))
        student, check = args.item.split("/", 1)
        if args.answer:
            demo_answer(out, student, check, args.answer)
        shoot(serve(out, args.lang), args.item, args.dest, (1280, 900))
    print(args.dest)


if __name__ == "__main__":
    main()
