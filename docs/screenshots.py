"""The README's screenshots of report pages: the top of each page at 1200 x 1500 pixels, palette PNG.

    python docs/screenshots.py RUN/report.html COMPARISON.html REPRODUCTION/report.html

writes docs/report-run.png, docs/report-comparison.png and docs/report-reproduction.png. Needs Chromium,
chromedriver and selenium (see the README's Development section)."""

import sys
from pathlib import Path

from genlab.report.browser import chromium, screenshot

NAMES = ("report-run.png", "report-comparison.png", "report-reproduction.png")

if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    with chromium() as driver:
        for page, name in zip(sys.argv[1:], NAMES):
            png = screenshot(driver, Path(page), Path(__file__).parent / name, height=1500, colors=128)
            print(f"wrote {png} ({png.stat().st_size // 1024} KiB)")
