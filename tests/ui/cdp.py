"""Just enough of the Chrome DevTools Protocol to drive a real headless Chromium from a test.

Why not Selenium or Playwright: Playwright downloads its own browser (impossible here), and
Selenium needs a matching chromedriver; Debian's ``chromium`` speaks CDP itself, and the
``websockets`` and ``httpx`` packages the project already has are all a client needs.
Every wait is bounded.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--no-default-browser-check", "--mute-audio")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium process with its own profile folder."""

    def __init__(self, binary: str, profile: Path, *, width: int = 1400, height: int = 1000) -> None:
        self.profile = profile
        profile.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint within 30 s")
            time.sleep(0.1)
        self.port = int(port_file.read_text().splitlines()[0])

    def new_page(self) -> Page:
        import httpx

        info = httpx.put(f"http://127.0.0.1:{self.port}/json/new?about:blank", timeout=10).json()
        return Page(info["webSocketDebuggerUrl"])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Page:
    """One tab: send commands, evaluate JavaScript, wait for conditions, take screenshots."""

    def __init__(self, ws_url: str) -> None:
        from websockets.sync.client import connect

        # legacy=True: a connection held open across calls, not a "with" block (websockets 17.1+ warns otherwise)
        self.ws = connect(ws_url, max_size=64 * 1024 * 1024, open_timeout=10, legacy=True)
        self._id = 0
        for domain in ("Page", "Runtime", "Network"):
            self.send(f"{domain}.enable")

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30) -> dict[str, Any]:
        self._id += 1
        my_id = self._id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {method} within {timeout} s")
            msg = json.loads(self.ws.recv(timeout=left))
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"JavaScript failed: {res['exceptionDetails'].get('text')}: {expression[:80]}")
        return res.get("result", {}).get("value")

    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})

    def wait_for(self, expression: str, timeout: float = 30, what: str = "") -> Any:
        """Poll a JavaScript expression until it is truthy (page loads and React renders are async)."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.eval(expression)
            except RuntimeError:
                last = None                      # the page is between documents
            if last:
                return last
            time.sleep(0.2)
        raise TimeoutError(f"waited {timeout} s for {what or expression}; page is at {self.url()!r}")

    def url(self) -> str:
        try:
            return str(self.eval("location.href"))
        except RuntimeError:
            return "?"

    def type_into(self, selector: str, text: str) -> None:
        """Focus a field and type as a person would (real input events, so React sees them)."""
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", {"text": text})

    def clear_cookies(self) -> None:
        self.send("Network.clearBrowserCookies")

    def set_viewport(self, width: int, height: int = 900) -> None:
        """Lay the page out as in a window ``width`` CSS pixels wide (until ``screenshot`` resets it)."""
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False})

    def screenshot(self, path: Path, *, width: int = 1400, max_height: int = 6000) -> Path:
        """The whole page (up to ``max_height`` CSS pixels) as PNG."""
        height = int(self.eval("Math.max(document.documentElement.scrollHeight, document.body ? "
                               "document.body.scrollHeight : 0)") or 1000)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": min(max(height, 600), max_height),
                                                         "deviceScaleFactor": 1, "mobile": False})
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        self.send("Emulation.clearDeviceMetricsOverride")
        return path

    def close(self) -> None:
        self.ws.close()

