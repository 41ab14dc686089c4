#!/usr/bin/python3
"""cdp.py - drives a headless Debian chromium through the DevTools protocol
(python3-websocket) for the web UI tests (tests/netns/webui_test.sh).

    from cdp import Browser
    with Browser(artifacts="/tmp/shots") as b:
        b.goto("http://127.0.0.1:51821/#/signin")
        b.type("#signin [name=user]", "admin")
        b.click("#signin button[type=submit]")
        b.wait_text("h1", "Peers")
        b.check_clean()          # no console error, exception or CSP violation

Sandbox: run as root, chromium is started as the unprivileged user
CDP_USER (default "nobody") with its own sandbox (user namespaces) kept on;
only CDP_NO_SANDBOX=1 adds --no-sandbox (for hosts without unprivileged
user namespaces).  Run as any other user, chromium runs as that user.

Bounds: every wait has a timeout (seconds, default 10) and every protocol
read a socket timeout; chromium is killed (its process group, by id) on
close.  Only loopback URLs are allowed (127.0.0.0/8, ::1, localhost).
A failed wait or check raises CDPError after saving a screenshot (and the
page's text) in artifacts.  `cdp.py URL` alone loads the page and prints
its errors: a quick check by hand.
"""

import base64
import ipaddress
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import websocket  # python3-websocket

CHROMIUM = os.environ.get("CDP_CHROMIUM", "chromium")


class CDPError(Exception):
    pass


def _loopback(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "about":
        return True
    if u.scheme not in ("http", "https") or not u.hostname:
        return False
    if u.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(u.hostname).is_loopback
    except ValueError:
        return False


class Browser:
    def __init__(self, artifacts=None, width=1280, height=900, timeout=10.0):
        self.timeout = timeout
        self.artifacts = artifacts or tempfile.mkdtemp(prefix="cdp-art.")
        os.makedirs(self.artifacts, exist_ok=True)
        self.errors = []          # console errors, exceptions, CSP violations
        self.network_errors = []  # failed loads (a 401 before sign-in is one)
        self.next_id = 0
        self.proc = None
        self.ws = None
        self.dir = tempfile.mkdtemp(prefix="cdp.")
        self.downloads = os.path.join(self.dir, "downloads")
        os.makedirs(self.downloads)
        try:
            self._launch()
            self._attach()
            self.viewport(width, height)
        except Exception:
            self.close()
            raise

    # -------------------------------------------------------- set-up
    def _launch(self):
        argv = [CHROMIUM, "--headless=new", "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={self.dir}/profile", "--no-first-run",
                "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-features=Translate,MediaRouter",
                "--password-store=basic", "--mute-audio", "about:blank"]
        if os.environ.get("CDP_NO_SANDBOX") == "1":
            argv.insert(1, "--no-sandbox")
        env = dict(os.environ, HOME=self.dir)
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        if os.geteuid() == 0:
            user = os.environ.get("CDP_USER", "nobody")
            pw = pwd.getpwnam(user)
            for root, dirs, files in os.walk(self.dir):
                os.chown(root, pw.pw_uid, pw.pw_gid)
            argv = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                    "--clear-groups", "--"] + argv
        self.log = open(os.path.join(self.dir, "chromium.log"), "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        port_file = os.path.join(self.dir, "profile", "DevToolsActivePort")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CDPError(f"chromium exited ({self.proc.returncode}) at start; "
                               f"see {self.dir}/chromium.log")
            try:
                with open(port_file) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].isdigit():
                    self.port = int(lines[0])
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.1)
        raise CDPError("chromium did not open its DevTools port in 20 s")

    def _attach(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list",
                                    timeout=5) as r:
            targets = json.load(r)
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise CDPError("chromium has no page target")
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"],
                                              timeout=self.timeout, suppress_origin=True)
        for m in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.call(m)
        # CSP violations as the page sees them (DevTools' own script is
        # exempt from the page's CSP).
        self.call("Page.addScriptToEvaluateOnNewDocument", source=(
            "window.__csp=[];document.addEventListener('securitypolicyviolation',"
            "e=>window.__csp.push(e.violatedDirective+' '+e.blockedURI+' '+"
            "(e.sourceFile||'')+':'+e.lineNumber));"))
        self.call("Browser.setDownloadBehavior", behavior="allow",
                  downloadPath=self.downloads)

    def close(self):
        if self.ws:
            try:
                self.ws.close()
            except Exception:
                pass
            self.ws = None
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------ protocol
    def _event(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            self.errors.append(f"console.{p['type']}: {text}")
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            ex = d.get("exception", {}).get("description") or d.get("text")
            self.errors.append(f"exception: {ex} at {d.get('url', '')}:{d.get('lineNumber')}")
        elif m == "Log.entryAdded":
            e = p.get("entry", {})
            if e.get("level") == "error":
                line = f"log ({e.get('source')}): {e.get('text')} {e.get('url', '')}"
                (self.network_errors if e.get("source") == "network" else self.errors).append(line)

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout + 5
        while time.monotonic() < deadline:
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CDPError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})
            self._event(msg)
        raise CDPError(f"{method}: no answer from chromium")

    def pump(self, seconds=0.0):
        """Reads pending events for up to seconds."""
        end = time.monotonic() + seconds
        self.ws.settimeout(0.05)
        try:
            while True:
                try:
                    self._event(json.loads(self.ws.recv()))
                except websocket.WebSocketTimeoutException:
                    if time.monotonic() >= end:
                        break
        finally:
            self.ws.settimeout(self.timeout)

    def js(self, expr, await_promise=True):
        """The value of a JavaScript expression (JSON-able), or CDPError."""
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=await_promise, userGesture=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError(f"js {expr[:80]!r}: {d.get('exception', {}).get('description') or d.get('text')}")
        return r.get("result", {}).get("value")

    # ------------------------------------------------------- actions
    def goto(self, url):
        if not _loopback(url):
            raise CDPError(f"refusing {url!r}: the tests load loopback URLs only")
        self.call("Page.navigate", url=url)
        self.wait("document.readyState === 'complete'", what=f"loading {url}")

    def reload(self):
        self.call("Page.reload", ignoreCache=True)
        self.pump(0.3)
        self.wait("document.readyState === 'complete'", what="reload")

    def wait(self, expr, timeout=None, what=None):
        """Polls a JavaScript expression until it is truthy; returns its value."""
        end = time.monotonic() + (timeout or self.timeout)
        last = None
        while True:
            try:
                v = self.js(f"(()=>{{try{{return ({expr})}}catch(e){{return null}}}})()")
                if v:
                    return v
            except CDPError as e:
                last = e
            if time.monotonic() >= end:
                self.fail(f"timed out after {timeout or self.timeout} s waiting for "
                          f"{what or expr}{f' ({last})' if last else ''}")
            self.pump(0.1)

    def _q(self, sel):
        return f"document.querySelector({json.dumps(sel)})"

    def visible_expr(self, sel):
        return (f"(e=>e&&!e.closest('[hidden]')&&e.getClientRects().length>0&&"
                f"getComputedStyle(e).visibility!=='hidden')({self._q(sel)})")

    def wait_visible(self, sel, timeout=None):
        return self.wait(self.visible_expr(sel), timeout, what=f"{sel} to be visible")

    def wait_gone(self, sel, timeout=None):
        return self.wait(f"!{self.visible_expr(sel)}", timeout, what=f"{sel} to go away")

    def wait_text(self, sel, text, timeout=None):
        return self.wait(f"(e=>e&&e.innerText.includes({json.dumps(text)}))({self._q(sel)})",
                         timeout, what=f"{sel} to show {text!r}")

    def text(self, sel):
        return self.js(f"(e=>e?e.innerText:null)({self._q(sel)})")

    def is_visible(self, sel):
        return bool(self.js(self.visible_expr(sel)))

    def click(self, sel):
        """A real mouse click in the middle of the (visible) element."""
        self.wait_visible(sel)
        box = self.js(f"(e=>{{e.scrollIntoView({{block:'center'}});const r=e.getBoundingClientRect();"
                      f"return [r.x+r.width/2,r.y+r.height/2]}})({self._q(sel)})")
        for t in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=t, x=box[0], y=box[1],
                      button="left", clickCount=1)
        self.pump(0.05)

    def type(self, sel, text, clear=True):
        """Focuses the field and types text into it (real input events)."""
        self.wait_visible(sel)
        reset = "e.value='';" if clear else ""
        self.js(f"(e=>{{e.focus();{reset}}})({self._q(sel)})")
        if text:
            self.call("Input.insertText", text=text)

    def key(self, key):
        codes = {"Escape": 27, "Enter": 13, "Tab": 9}
        for t in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=t, key=key, code=key,
                      windowsVirtualKeyCode=codes.get(key, 0))
        self.pump(0.05)

    def viewport(self, width, height, mobile=False):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)

    def color_scheme(self, scheme):
        """'light' or 'dark': emulates prefers-color-scheme."""
        self.call("Emulation.setEmulatedMedia",
                  features=[{"name": "prefers-color-scheme", "value": scheme}])

    def screenshot(self, name, full_page=False):
        """Saves artifacts/NAME.png: the viewport, or (full_page) the whole
        page however long it is (a phone's list of cards)."""
        path = os.path.join(self.artifacts, f"{name}.png")
        opt = {}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            opt = {"captureBeyondViewport": True,
                   "clip": {"x": 0, "y": 0, "width": size["width"],
                            "height": size["height"], "scale": 1}}
        data = self.call("Page.captureScreenshot", format="png", **opt)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def wait_download(self, filename, timeout=None):
        """The bytes of a finished download named filename."""
        path = os.path.join(self.downloads, filename)
        end = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < end:
            if os.path.exists(path) and not os.path.exists(path + ".crdownload"):
                with open(path, "rb") as f:
                    return f.read()
            self.pump(0.1)
        self.fail(f"no download {filename} in {timeout or self.timeout} s "
                  f"(have: {os.listdir(self.downloads)})")

    # ------------------------------------------------------- verdicts
    def csp_violations(self):
        try:
            return self.js("window.__csp || []") or []
        except CDPError:
            return []

    def check_clean(self, allow=()):
        """Fails on any console error, exception or CSP violation so far
        (except messages containing one of allow).  Failed loads (HTTP
        errors the tests provoke) are in network_errors, not here."""
        self.pump(0.2)
        errs = [e for e in self.errors if not any(a in e for a in allow)]
        csp = self.csp_violations()
        if errs or csp:
            self.fail("page errors: " + "; ".join(errs + [f"CSP: {v}" for v in csp]))

    def fail(self, why):
        shot = ""
        try:
            stamp = time.strftime("%H%M%S")
            shot = self.screenshot(f"failure-{stamp}")
            with open(os.path.join(self.artifacts, f"failure-{stamp}.txt"), "w") as f:
                f.write(f"{why}\nURL: {self.js('location.href')}\n\n{self.text('body')}\n")
        except Exception:
            pass
        raise CDPError(f"{why}{f' (screenshot {shot})' if shot else ''}")


def main():
    if len(sys.argv) != 2:
        print("usage: cdp.py URL   (loads it headless, prints errors and CSP violations)")
        return 2
    with Browser() as b:
        b.goto(sys.argv[1])
        b.pump(1.0)
        print(f"title: {b.js('document.title')}")
        for e in b.errors + [f"CSP: {v}" for v in b.csp_violations()]:
            print(e)
        print(f"screenshot: {b.screenshot('page')}")
        return 1 if b.errors or b.csp_violations() else 0


if __name__ == "__main__":
    sys.exit(main())
