"""The real thing: each page in headless chromium, loaded with no error, every chart decoded."""

from __future__ import annotations

import pytest
from browser_cdp import Browser, find_chromium

from reports import build_comparison, build_report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        find_chromium() is None,
        reason="chromium is not installed (`apt-get install chromium`; .ci/run does it)",
    ),
]

IMAGES = """(async () => {
  const images = [...document.images];
  const decoded = await Promise.all(images.map((img) => img.decode().then(
    () => ({alt: img.alt, width: img.naturalWidth, height: img.naturalHeight}),
    (error) => ({alt: img.alt, width: 0, height: 0, error: String(error)}))));
  return {decoded, verdict: document.getElementById("verdict").textContent,
          pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth};
})()"""
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


async def check_page(browser, path, min_images):
    await browser.load(path)
    page = await browser.evaluate(IMAGES)
    assert browser.problems() == []
    assert len(page["decoded"]) >= min_images
    assert [img for img in page["decoded"] if img["width"] <= 0 or img["height"] <= 0] == []
    assert page["pageWidth"] <= page["viewport"], "the page scrolls sideways"
    return page


async def test_reports_load_cleanly_in_chromium(result_folder, tmp_path):
    full = build_report(result_folder("full")).path
    load = build_report(result_folder("load_small")).path
    empty = tmp_path / "empty"
    empty.mkdir()
    bare = build_report(empty).path
    comparison = build_comparison(result_folder("load_small"), result_folder("full"), tmp_path / "cmp").path
    async with Browser() as browser:
        page = await check_page(browser, full, min_images=6)
        assert "FAIL" in page["verdict"]
        await check_page(browser, load, min_images=7)
        await check_page(browser, bare, min_images=0)
        await check_page(browser, comparison, min_images=1)
        await browser.send("Emulation.setDeviceMetricsOverride", **PHONE)
        await check_page(browser, load, min_images=7)  # phone width: tables scroll inside their boxes
        pdf = await browser.send("Page.printToPDF", printBackground=True)
        assert len(pdf["data"]) > 10_000


async def test_the_browser_check_catches_problems(tmp_path):
    """The same checks on a page that breaks every rule, so the test above can fail."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><div id="verdict">x</div><img alt="far" src="http://127.0.0.1:9/x.png">'
        '<img alt="broken" src="data:image/svg+xml;base64,AAAA"><script>console.error("boom"); missing();</script>'
        '<div style="width:3000px">wide</div>'
    )
    async with Browser() as browser:
        await browser.load(bad)
        page = await browser.evaluate(IMAGES)
    text = "\n".join(browser.problems())
    assert "external request: http://127.0.0.1:9/x.png" in text and "console error" in text
    assert "exception" in text and "failed resource" in text
    assert all(img["width"] == 0 for img in page["decoded"]) and page["pageWidth"] > page["viewport"]
