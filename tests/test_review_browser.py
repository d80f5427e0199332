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
