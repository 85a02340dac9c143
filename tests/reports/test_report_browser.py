"""The real thing: each page in headless chromium, loaded with no error, every chart decoded."""

from __future__ import annotations

import base64

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
READABLE = r"""(() => {
  const looksJson = /\{\s*"[^"]*"\s*:|\[\s*\[|\[\s*\{/;
  const scientific = /\d(?:\.\d+)?e[+\-\u2212]?\d|\\times\s*10|10\^\{|\\mathdefault\{10/;
  const shownJson = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent.closest("script, style")) continue;
    const closed = parent.closest("details:not([open])");
    if (closed && !parent.closest("summary")) continue;
    if (looksJson.test(node.textContent)) shownJson.push(node.textContent.trim().slice(0, 120));
  }
  const scientificTicks = [];
  for (const img of document.images) {
    const match = img.src.match(/^data:image\/svg\+xml;base64,(.*)$/);
    if (!match) continue;
    for (const comment of atob(match[1]).matchAll(/<!-- (.*?) -->/g)) {
      if (scientific.test(comment[1])) scientificTicks.push(img.alt + ": " + comment[1]);
    }
  }
  return {shownJson, scientificTicks};
})()"""
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


async def check_page(browser, path, min_images):
    await browser.load(path)
    page = await browser.evaluate(IMAGES)
    assert browser.problems() == []
    assert len(page["decoded"]) >= min_images
    assert [img for img in page["decoded"] if img["width"] <= 0 or img["height"] <= 0] == []
    assert page["pageWidth"] <= page["viewport"], "the page scrolls sideways"
    readable = await browser.evaluate(READABLE)
    assert readable["shownJson"] == [], "raw JSON outside a collapsed details element"
    assert readable["scientificTicks"] == [], "a tick label in scientific notation"
    return page


async def test_reports_load_cleanly_in_chromium(result_folder, tmp_path):
    full = build_report(result_folder("full")).path
    load = build_report(result_folder("load_small")).path
    limits = build_report(result_folder("limits_only")).path
    empty = tmp_path / "empty"
    empty.mkdir()
    bare = build_report(empty).path
    comparison = build_comparison(result_folder("load_small"), result_folder("full"), tmp_path / "cmp").path
    async with Browser() as browser:
        page = await check_page(browser, full, min_images=6)
        assert "FAIL" in page["verdict"]
        await check_page(browser, load, min_images=7)
        await check_page(browser, bare, min_images=0)
        await check_page(browser, limits, min_images=2)
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
        '<div style="width:3000px">wide</div><pre>{"raw": 1}</pre>'
        '<img alt="sci" src="data:image/svg+xml;base64,'
        + base64.b64encode(
            b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><!-- 6e-01 --></svg>'
        ).decode()
        + '">'
    )
    async with Browser() as browser:
        await browser.load(bad)
        page = await browser.evaluate(IMAGES)
        readable = await browser.evaluate(READABLE)
    assert readable == {"shownJson": ['{"raw": 1}'], "scientificTicks": ["sci: 6e-01"]}
    text = "\n".join(browser.problems())
    assert "external request: http://127.0.0.1:9/x.png" in text and "console error" in text
    assert "exception" in text and "failed resource" in text
    broken = [img for img in page["decoded"] if img["alt"] != "sci"]
    assert all(img["width"] == 0 for img in broken) and page["pageWidth"] > page["viewport"]
