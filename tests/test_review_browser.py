"""`grade review` in a real headless chromium (Selenium + Debian's chromium-driver; .ci/run installs both).

Opens the page with its token, grades two written answers by keyboard only, and sees report.json, feedback
and the gradebook change; the page without its token is refused.
"""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from review_server import TOKEN, call, running
from test_review import graded  # noqa: F401  (the fixture)

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
DRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(DRIVER is None or CHROMIUM is None,
                                reason="chromium and chromium-driver are not installed (apt-get install chromium-driver)")


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_for(driver, condition, timeout: float = 20):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # the page re-renders an item as it loads: an element read mid-render is looked up again
    return WebDriverWait(driver, timeout, ignored_exceptions=(NoSuchElementException,
                                                              StaleElementReferenceException)).until(condition)


def test_grading_two_answers_by_keyboard_updates_report_feedback_and_gradebook(graded, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    out, course = graded
    with running(out, course) as base:
        assert call(base + "/", token=None)[0] == 403
        browser.get(f"{base}/?token={TOKEN}")
        wait_for(browser, lambda d: "s0" in d.find_element(By.ID, "item").text)
        body = browser.find_element(By.TAG_NAME, "body")
        assert "Model: squares are areas" in body.text  # the instructor's note is shown here
        # first item of the queue by question: alpha/beta checks need nobody; the essays come in student order
        body.send_keys("3")
        body.send_keys("s")
        wait_for(browser, lambda d: "saved: beta.essay.answer = 3" in d.find_element(By.ID, "status").text)
        body.send_keys("j")
        wait_for(browser, lambda d: "s1" in d.find_element(By.CSS_SELECTOR, "#item h2").text)
        body.send_keys("4")
        body.send_keys("s")
        wait_for(browser, lambda d: "saved: beta.essay.answer = 4" in d.find_element(By.ID, "status").text)
        body.send_keys("j")  # s2's answer: the hostile markup is shown as text, never run
        wait_for(browser, lambda d: "s2" in d.find_element(By.CSS_SELECTOR, "#item h2").text)
        answer = browser.find_element(By.ID, "answer")
        assert "<script>alert(1)</script>" in answer.text and not answer.find_elements(By.TAG_NAME, "img")
        assert browser.execute_script("return window.__alerted === undefined")
        body.send_keys(Keys.ESCAPE)

    reports = {s: json.loads((out / "students" / s / "report.json").read_text(encoding="utf-8")) for s in ("s0", "s1", "s2")}
    assert [(reports[s]["score"], reports[s]["pending"]) for s in ("s0", "s1", "s2")] == [(13, 0), (14, 0), (10, 4)]
    assert "13/14" in (out / "students" / "s0" / "feedback.html").read_text(encoding="utf-8")
    assert "14/14" in (out / "students" / "s1" / "feedback.md").read_text(encoding="utf-8")
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open(encoding="utf-8"))}
    assert [(rows[s]["score"], rows[s]["pending"]) for s in ("s0", "s1", "s2")] == [("13", "0"), ("14", "0"), ("10", "4")]


MATH = r"The sigmoid $\frac{1}{1+e^{-z}}$ gives a probability, and \[ w^\top x + b = 0 \] is the boundary."


@pytest.fixture
def with_math(tmp_path):
    """s0's answer and the note have math; s0 and s1 share a training loop (a near-copy pair)."""
    import dataclasses

    from grader.batch import grade_batch
    from grader.export import ExportOptions, load_reports, write_exports
    from review_fakes import PassingExecutor, add_instructor_note, mini_batch, write_essay
    from test_class_summary import OTHER, TRAIN
    from test_review_pairs import add_code

    course, subs, options = mini_batch(tmp_path, students=3)
    write_essay(subs, "s0", MATH)
    for student, code in (("s0", TRAIN), ("s1", TRAIN.replace("opt", "optimizer")), ("s2", OTHER)):
        add_code(subs, student, code)
    loaded = add_instructor_note(course, "Model: $x^2 \\\\geq 0$ for every x.")
    out = tmp_path / "out"
    grade_batch(subs, out, dataclasses.replace(options, course=loaded), executor=PassingExecutor())
    write_exports(out, load_reports(out), loaded, ExportOptions())
    return out, loaded


def test_math_renders_with_the_vendored_katex_and_no_request_leaves_the_machine(with_math, tmp_path):
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # every request the page makes
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    out, course = with_math
    try:
        with running(out, course) as base:
            driver.get(f"{base}/?token={TOKEN}")
            wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#answer .katex"))
            answer = driver.find_element(By.ID, "answer")
            assert len(answer.find_elements(By.CSS_SELECTOR, ".katex")) == 2
            assert answer.find_elements(By.CSS_SELECTOR, ".katex-display")  # \[...\] is display math
            assert "\\frac" not in answer.text and "$" not in answer.text
            assert driver.find_elements(By.CSS_SELECTOR, ".note .katex")  # the instructor note's math too
            wait_for(driver, lambda d: d.execute_script(
                "return document.fonts.status === 'loaded' && document.fonts.check('16px KaTeX_Main')"))
            # the near-copy pair, anonymous: no name on the page, the shared code shown
            driver.find_element(By.ID, "anon").click()
            pair = wait_for(driver, lambda d: [li for li in d.find_elements(By.CSS_SELECTOR, "#list li")
                                               if "↔" in li.text])
            assert "s0" not in pair[0].text and "s1" not in pair[0].text
            pair[0].click()
            wait_for(driver, lambda d: "loss.backward()" in d.find_element(By.ID, "passages").text)
            item = driver.find_element(By.ID, "item").text
            assert "student #1 ↔ student #2" in item and "s0" not in item and "s1" not in item
            driver.find_element(By.ID, "noted").click()
            wait_for(driver, lambda d: "saved: noted" in d.find_element(By.ID, "status").text)
            urls = [entry["message"] for entry in driver.get_log("performance")]
        assert json.loads((out / ".instructor" / "scores.json").read_text())["pairs"]["beta/s0/s1"]["decision"] == "noted"
        sent = [json.loads(m)["message"]["params"]["request"]["url"] for m in urls
                if json.loads(m)["message"]["method"] == "Network.requestWillBeSent"]
        assert any("/static/katex/fonts/" in url for url in sent) and any("/api/pairs" in url for url in sent)
        # chrome:// is the browser's own new-tab page, not the network; everything else went to this app only
        assert [url for url in sent if not url.startswith((base + "/", "data:", "chrome:"))] == []
    finally:
        driver.quit()
