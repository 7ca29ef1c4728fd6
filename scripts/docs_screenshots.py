"""Take the screenshots of docs/img/ from the example project, in Debian's Chromium.

    bash scripts/demo.sh                       # once: environment, database, sample files
    .venv/bin/python scripts/docs_screenshots.py

It starts the example project's development server on a fresh SQLite database in a
temporary folder, logs in as the demo superuser, imports the sample authors, and walks a
book import through every step, saving one PNG per step into docs/img/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_project"
SAMPLES = EXAMPLE / "sample_files" / "generated"
OUT = ROOT / "docs" / "img"
CHROMIUM = os.environ.get("BULK_ADMIN_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=EXAMPLE, env=env, check=True)


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bulk-admin-shots-"))
    env = {
        **os.environ,
        "BULK_ADMIN_EXAMPLE_DB": str(workdir / "db.sqlite3"),
        "BULK_ADMIN_EXAMPLE_MEDIA": str(workdir / "media"),
    }
    env.pop("DATABASE_URL", None)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_superuser('demo', 'demo@example.com', 'demo')",
    )
    manage(env, "bulk_import", "library.Author", str(SAMPLES / "authors.csv"))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "127.0.0.1:%d" % port],
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = "http://127.0.0.1:%d" % port
    try:
        for _attempt in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.goto(base + "/admin/login/?next=/admin/library/book/")
            page.fill("#id_username", "demo")
            page.fill("#id_password", "demo")
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/library/book/")
            page.screenshot(path=OUT / "changelist.png")

            page.click("text=Import (fast)")
            page.wait_for_url("**/bulk-import/")
            page.set_input_files("input[type=file]", str(SAMPLES / "books_with_errors.csv"))
            page.screenshot(path=OUT / "upload.png", full_page=True)
            page.click("form.bulk-import-upload input[type=submit]")
            page.wait_for_url("**/mapping/")
            page.screenshot(path=OUT / "mapping.png", full_page=True)
            page.click("form.bulk-import-mapping input[type=submit]")
            page.wait_for_url("**/preview/", timeout=60_000)
            page.screenshot(path=OUT / "preview.png", full_page=True)

            # A clean file, imported with the valid rows only of the bad one shown above.
            page.check("#id_skip_invalid")
            page.click("form.bulk-import-commit input[type=submit]")
            page.wait_for_url("**/result/", timeout=60_000)
            page.screenshot(path=OUT / "result.png", full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    print("Screenshots in", OUT)


if __name__ == "__main__":
    main()
