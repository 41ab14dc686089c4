#!/bin/sh
# webui_test.sh - the web UI (web/, built into the server) in a real headless
# chromium driven through the DevTools protocol (tests/tools/cdp.py), against
# a real `zerowg up` in a namespace with a wireguard-go client in another:
# sign in (password, then password + TOTP, a replayed code refused, a
# recovery code once); add a peer with a one-time link and see its QR image,
# config and link once; the downloaded NAME.conf is the config shown and
# names the server's key and the peer's address; the result (config, QR,
# link) is wiped from the page when closed; search; disable (asks first;
# Escape cancels) and enable show within 3 s; rx/tx update live after
# traffic and the Tx/Rx chart draws; the link shows that config and QR once,
# then says it was used; rotate with a kept key and a link (the result shows
# the new config and link), then the peer page's "One-time link" (kept key
# only) makes another; both open the new config; the peer page's "Edit"
# form changes routes and expiry (a bad route is named next to its field,
# nothing stored; a viewer gets no form); revoke asks and removes;
# disable through the API (curl on the admin socket, not the UI) shows on
# the peers page within 3 s of the call (the page polls every 2 s);
# server, audit and account pages (2FA, tokens, sessions); the status
# line's message belongs to the page that said it: gone after a route
# change (Account -> Peers -> Account), while the error of a failed action
# on the new page shows; a viewer is offered no change and the server
# refuses one; dark mode and a phone viewport; and no console error,
# exception or CSP violation anywhere.
#
# Screenshots (light, dark, phone, and any failure) are test artifacts,
# kept by default in $O/artifacts/webui/ (O is the build dir; WEBUI_SHOTS=DIR
# puts them elsewhere); the test prints their paths.  light, dark and phone
# show the peers page with three peers: the one that carried traffic, one
# more with an expiry, one disabled (the two extra peers stay on the server);
# phone is the whole page, every card.
#
# chromium runs as the unprivileged user "nobody" with its own sandbox on
# (see cdp.py); it runs inside the server's namespace and loads only
# http://127.0.0.1:51821 there.
#
# Until the server serves the UI (GET /) and the sign-in route (POST
# /v1/login), the test says which route is missing and FAILs: it never skips.
#
# Development against any running server or mock (no namespaces, no traffic
# unless WEBUI_TRAFFIC is a shell command; it gets PEER and CONF_FILE):
#   WEBUI_URL=http://127.0.0.1:51899 WEBUI_USER=admin WEBUI_PASS='...' \
#   [WEBUI_VIEWER=name:password] tests/netns/webui_test.sh
T=webui
TESTS_DIR=${0%/*}
CDP_DIR=$(cd "$TESTS_DIR/../tools" && pwd)
PY=/usr/bin/python3	# Debian's, with python3-websocket

# The browser half: runs inside the server's namespace, prints one verdict
# per step; stops at the first failing step (the later ones build on it).
# RUN_IN: a command prefix (ip netns exec NS) or empty.
scenario() {
	CDP_DIR=$CDP_DIR ${RUN_IN:-} "$PY" - <<'EOF'
import base64, hashlib, hmac, json, os, re, struct, subprocess, sys, time, urllib.parse
sys.path.insert(0, os.environ["CDP_DIR"])
from cdp import Browser, CDPError

BASE = os.environ["WEBUI_URL"].rstrip("/")
USER, PASS = os.environ["WEBUI_USER"], os.environ["WEBUI_PASS"]
VIEWER = os.environ.get("WEBUI_VIEWER", "")
TRAFFIC = os.environ.get("WEBUI_TRAFFIC", "")
# Shell commands that disable / enable peer $PEER through the API, not the UI.
API_DISABLE = os.environ.get("WEBUI_API_DISABLE", "")
API_ENABLE = os.environ.get("WEBUI_API_ENABLE", "")
ALLOWED = os.environ.get("WEBUI_ALLOWED_IPS", "")
SHOTS = os.environ["WEBUI_SHOTS"]
NAME = f"web{os.getpid() % 100000}"
S = {}
steps = []

# soft: a feature the later steps do not build on (one-time links, the chart): its
# failure is reported, the open dialogs are closed, and the run goes on.
def step(what, soft=False):
    def add(fn):
        steps.append((what, fn, soft))
        return fn
    return add

def check(cond, why):
    if not cond:
        b.fail(why)

def fetch(path, method="GET", body=None):
    """[status, json or null] of a same-origin request with the session."""
    opt = {"method": method, "credentials": "same-origin", "headers": {}}
    if body is not None:
        opt["headers"]["Content-Type"] = "application/json"
        opt["body"] = json.dumps(body)
    return b.js(f"fetch({json.dumps(path)},{json.dumps(opt)}).then(async r=>[r.status,"
                f"await r.json().catch(()=>null)])")

def totp(secret, step_no):
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    h = hmac.new(key, struct.pack(">Q", step_no), hashlib.sha1).digest()
    o = h[-1] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)

def row(sel=""):
    return f"tr[data-peer='{NAME}']{sel}"

def q(sel):
    return f"document.querySelector({json.dumps(sel)})"

def sign_in(user, password, code=None, expect_ok=True):
    b.goto(BASE + "/#/signin")
    b.wait_visible("#signin")
    b.type("#signin [name=user]", user)
    b.type("#signin [name=password]", password)
    b.click("#signin button[type=submit]")
    if code is not None:
        b.wait_visible("#signin [name=code]")
        b.type("#signin [name=code]", code)
        b.click("#signin button[type=submit]")
    if expect_ok:
        b.wait("location.hash === '#/peers'", what="the peers page after sign-in")
        b.wait_text("main h1", "Peers")

def sign_out():
    b.click("#signout")
    b.wait_visible("#signin")

def rx_pixels(var="--rx"):
    # Pixels of the chart in the rx (or tx) colour: the line is drawn.
    return b.js("""(()=>{const c=document.querySelector('canvas.chart');if(!c)return 0;
      const d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;
      const m=getComputedStyle(document.documentElement).getPropertyValue('--rx').trim();
      const t=document.createElement('canvas').getContext('2d');t.fillStyle=m;t.fillRect(0,0,1,1);
      const [r,g,bb]=t.getImageData(0,0,1,1).data;let n=0;
      for(let i=0;i<d.length;i+=4)if(Math.abs(d[i]-r)<30&&Math.abs(d[i+1]-g)<30&&Math.abs(d[i+2]-bb)<30&&d[i+3]>200)n++;
      return n})()""".replace("--rx", var))

@step("sign-in page: shown to a visitor without a session")
def _():
    b.goto(BASE + "/")
    b.wait_visible("#signin")
    check(b.js("location.hash") == "#/signin", "not routed to #/signin")
    check(not b.is_visible("header.top"), "the navigation shows before sign-in")

@step("the page is served with the UI's CSP, nosniff and no-referrer")
def _():
    h = b.js("fetch('/',{cache:'no-store'}).then(r=>Object.fromEntries(r.headers))")
    csp = h.get("content-security-policy", "")
    for d in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"):
        check(d in csp, f"CSP {csp!r} lacks {d!r}")
    check("unsafe-inline" not in csp and "unsafe-eval" not in csp, f"CSP {csp!r} is not strict")
    check(h.get("x-content-type-options") == "nosniff", f"X-Content-Type-Options: {h.get('x-content-type-options')}")
    check(h.get("referrer-policy") == "no-referrer", f"Referrer-Policy: {h.get('referrer-policy')}")

@step("sign-in: a wrong password is refused with a message, no session")
def _():
    b.type("#signin [name=user]", USER)
    b.type("#signin [name=password]", PASS + "x")
    b.click("#signin button[type=submit]")
    b.wait("document.querySelector('#signin [data-err=form]').textContent.length > 0",
           what="an error message on the sign-in form")
    check(fetch("/v1/me")[0] == 401, "GET /v1/me answers without a session")

@step("sign-in: the right password opens the peers page")
def _():
    sign_in(USER, PASS)
    b.wait_text("#who", USER)

@step("add peer: a name the server refuses shows its message next to the field")
def _():
    b.click("#add-peer")
    b.wait_visible("#add-form")
    b.type("#add-form [name=name]", "no spaces/here")
    b.click("#add-form button[type=submit]")
    b.wait("document.querySelector('#add [data-err=name]').textContent.length > 0 || "
           "document.querySelector('#add [data-err=form]').textContent.length > 0",
           what="the server's message in the add dialog")
    check(b.js("document.querySelector('#add').open"), "the dialog closed on an error")

@step("add peer (with a one-time link, 24 h): the result shows the QR code (an SVG image) and the config, once")
def _():
    b.type("#add-form [name=name]", NAME)
    if ALLOWED:
        b.type("#add-form [name=allowed_ips]", ALLOWED)
    check(b.js("document.querySelector('#add-form [name=ttl]').disabled"), "the lifetime is offered without a link")
    b.click("#add-form [name=link]")
    check(not b.js("document.querySelector('#add-form [name=ttl]').disabled"), "ticking the link box offers no lifetime")
    b.js("(s=>{s.value='24h';s.dispatchEvent(new Event('change'))})(document.querySelector('#add-form [name=ttl]'))")
    b.click("#add-form button[type=submit]")
    b.wait_visible("#result")
    b.wait("document.querySelector('#result img.qr').complete && "
           "document.querySelector('#result img.qr').naturalWidth > 0", what="the QR image to load")
    src = b.js("document.querySelector('#result img.qr').getAttribute('src')")
    check(src.startswith("data:image/svg+xml;base64,"), f"QR src is {src[:40]!r}")
    svg = base64.b64decode(src.split(",", 1)[1]).decode()
    check("<svg" in svg and "<script" not in svg.lower(), "the QR is not a plain SVG document")
    conf = b.text("#result pre.conf")
    check("[Interface]" in conf and re.search(r"^PrivateKey *= *\S{43}=", conf, re.M),
          "the config shown has no [Interface] with a PrivateKey")
    S["conf"] = conf
    S["priv"] = re.search(r"^PrivateKey *= *(\S+)", conf, re.M).group(1)

@step("add peer: the config names the server's public key and the peer's address")
def _():
    st, srv = fetch("/v1/server")
    check(st == 200, f"GET /v1/server: {st}")
    st, peer = fetch(f"/v1/peers/{NAME}")
    check(st == 200, f"GET /v1/peers/{NAME}: {st}")
    conf = S["conf"]
    check(re.search(r"^PublicKey *= *" + re.escape(srv["public_key"]), conf, re.M),
          "the config's [Peer] PublicKey is not the server's")
    check(re.search(r"^Address *=.*" + re.escape(peer["ipv4"].split("/")[0]), conf, re.M),
          f"the config's Address is not the peer's {peer['ipv4']}")
    S["pub"] = peer["public_key"]

@step("add peer: Download saves NAME.conf with exactly the config shown")
def _():
    b.click("#result [data-act=download]")
    got = b.wait_download(f"{NAME}.conf").decode()
    check(got.strip() == S["conf"].strip(), "the downloaded file differs from the config shown")
    os.makedirs(os.path.dirname(os.environ["WEBUI_CONF_OUT"]), exist_ok=True)
    with open(os.environ["WEBUI_CONF_OUT"], "w") as f:
        f.write(got)
    os.chmod(os.environ["WEBUI_CONF_OUT"], 0o600)

@step("one-time link: in the add result with its expiry and a copy button; no later-link button (key not kept)")
def _():
    b.wait_visible("#result .link-url")
    url = b.js("document.querySelector('#result .link-url').value")
    check(re.fullmatch(r"https?://[^/]+/l/[A-Za-z0-9_-]{22}", url or ""), f"the link is {url!r}")
    S["link"] = url
    exp = b.text("#result .link-expires")
    check("once" in exp, f"the link's expiry text is {exp!r}")
    check(not b.is_visible("#result [data-act=link]"),
          "the result offers a later link for a peer whose key the server does not keep")
    b.click("#result [data-act=copy-link]")
    b.wait_text("#status", "Copied")
    b.click("#result [data-act=close]")
    b.wait("!document.querySelector('#result').open", what="the result to close")

@step("the result is wiped from the page when closed")
def _():
    check(b.js("document.querySelector('#result pre.conf').textContent") == "", "the config is still in the DOM")
    check(not b.js("document.querySelector('#result img.qr').hasAttribute('src')"), "the QR is still in the DOM")
    check(not b.js(f"document.documentElement.outerHTML.includes({json.dumps(S['priv'])})"),
          "the private key is still somewhere in the page")
    check(b.js("document.querySelector('#result .link-url').value") == "", "the link is still in the page")
    tok = S["link"].rsplit("/", 1)[-1]
    check(not b.js(f"document.documentElement.outerHTML.includes({json.dumps(tok)})"),
          "the link's token is still somewhere in the page")

@step("peers: the new peer is listed with its address (live, without reload)")
def _():
    b.wait_visible(row())
    ip = fetch(f"/v1/peers/{NAME}")[1]["ipv4"].split("/")[0]
    b.wait_text(row(), ip)

@step("peers: search filters the rows")
def _():
    b.type("main [name=q]", NAME[:5])
    b.wait_visible(row())
    b.type("main [name=q]", "no-such-peer-xyz")
    b.wait_gone(row())
    b.type("main [name=q]", "")
    b.wait_visible(row())

@step("disable: the switch asks first; Escape cancels it")
def _():
    b.click(row(" input.switch"))
    b.wait("document.querySelector('#confirm').open", what="the confirm dialog")
    b.key("Escape")
    b.wait("!document.querySelector('#confirm').open", what="Escape to close the dialog")
    time.sleep(0.5)
    check(fetch(f"/v1/peers/{NAME}")[1]["enabled"] is True, "Escape disabled the peer")

@step("disable: confirmed, the row shows it within 3 s")
def _():
    b.click(row(" input.switch"))
    b.wait("document.querySelector('#confirm').open", what="the confirm dialog")
    b.click("#confirm .ok")
    b.wait(f"{q(row('.disabled'))} && !{q(row(' input.switch'))}.checked", timeout=3,
           what="the row to show disabled")
    check(fetch(f"/v1/peers/{NAME}")[1]["enabled"] is False, "the server still has it enabled")

@step("enable: the switch turns it back on within 3 s")
def _():
    b.click(row(" input.switch"))
    b.wait(f"!{q(row('.disabled'))} && {q(row(' input.switch'))}.checked", timeout=3,
           what="the row to show enabled")
    check(fetch(f"/v1/peers/{NAME}")[1]["enabled"] is True, "the server still has it disabled")

@step("disable through the API (curl): the peers page shows it within 3 s of the call", soft=True)
def _():
    if not API_DISABLE or not API_ENABLE:
        b.fail("no API command in this run (WEBUI_API_DISABLE, WEBUI_API_ENABLE)")
    b.wait(f"!{q(row('.disabled'))} && {q(row(' input.switch'))}.checked", what="the row enabled")
    env = dict(os.environ, PEER=NAME)
    t0 = time.monotonic()
    r = subprocess.run(["sh", "-c", API_DISABLE], env=env, timeout=5)
    check(r.returncode == 0, f"the API's disable failed ({r.returncode})")
    left = 3.0 - (time.monotonic() - t0)
    check(left > 0.05, "the API call alone took 3 s")
    b.wait(f"{q(row('.disabled'))} && !{q(row(' input.switch'))}.checked", timeout=left,
           what="the row to show disabled within 3 s of the API call")
    print(f"    shown {time.monotonic() - t0:.2f} s after the API call", flush=True)
    t0 = time.monotonic()
    r = subprocess.run(["sh", "-c", API_ENABLE], env=env, timeout=5)
    check(r.returncode == 0, f"the API's enable failed ({r.returncode})")
    b.wait(f"!{q(row('.disabled'))} && {q(row(' input.switch'))}.checked",
           timeout=max(0.1, 3.0 - (time.monotonic() - t0)), what="the row to show enabled again")

@step("live: rx/tx and online update in the table after traffic (within 10 s)")
def _():
    if not TRAFFIC:
        b.fail("no traffic generator (WEBUI_TRAFFIC) in this run")
    cell = row(' td[data-label="Rx / Tx"]')
    before = b.text(cell)
    r = subprocess.run(["sh", "-c", TRAFFIC], env=dict(os.environ, PEER=NAME,
                       CONF_FILE=os.environ["WEBUI_CONF_OUT"]), timeout=60)
    check(r.returncode == 0, f"the traffic command failed ({r.returncode})")
    b.wait(f"(t=>t && t !== {json.dumps(before)} && !t.startsWith('↓ 0 B'))({q(cell)}.innerText)",
           timeout=10, what="rx/tx to change")
    b.wait_text(row(' td[data-label="Status"]'), "online", timeout=10)

@step("chart: the peer page draws the Tx/Rx chart after traffic (within 45 s)", soft=True)
def _():
    b.click(row(" a"))
    b.wait_text("main h1", NAME)
    end = time.monotonic() + 45
    # Ping traffic is symmetric: the tx line may cover the rx line.
    while rx_pixels() + rx_pixels("--tx") < 40:
        if time.monotonic() > end:
            b.fail("the chart shows no rx line after 45 s")
        b.pump(1.0)
    b.click("[data-range='24h']")
    b.wait("document.querySelector(\"[data-range='24h']\").getAttribute('aria-pressed') === 'true'")

# The screenshots document the real page: the peers list with the peer that
# carried traffic (online, rx/tx), one more enabled and one disabled (both
# left on the server: the viewer step below sees them too).
EXTRA = [f"{NAME}-laptop", f"{NAME}-tablet"]

@step("peers page for the screenshots: three peers, one with traffic, one disabled")
def _():
    for n, body in ((EXTRA[0], {"expires": "30d"}), (EXTRA[1], {})):
        st, _ = fetch("/v1/peers", "POST", dict(body, name=n))
        check(st == 201, f"POST /v1/peers {n}: {st}")
    st, _ = fetch(f"/v1/peers/{EXTRA[1]}/disable", "POST")
    check(st == 200, f"POST /v1/peers/{EXTRA[1]}/disable: {st}")
    b.goto(BASE + "/#/peers")
    b.wait_text("main h1", "Peers")
    for n in [NAME] + EXTRA:
        b.wait_visible(f"tr[data-peer='{n}']")
    b.wait("!!" + q(f"tr[data-peer='{EXTRA[1]}'].disabled"), what=f"{EXTRA[1]} to show disabled")
    if TRAFFIC:
        b.wait_text(row(' td[data-label="Status"]'), "online")

@step("dark mode: prefers-color-scheme dark gives a dark page (screenshots light and dark)")
def _():
    b.goto(BASE + "/#/peers")
    b.wait_text("main h1", "Peers")
    b.color_scheme("light")
    b.pump(0.3)
    b.screenshot("peers-light")
    lum = "(c=>{const [r,g,bl]=c.match(/\\d+/g).map(Number);return (0.2126*r+0.7152*g+0.0722*bl)/255})(getComputedStyle(document.body).backgroundColor)"
    check(b.js(lum) > 0.8, "the light page is not light")
    b.color_scheme("dark")
    b.pump(0.3)
    check(b.js(lum) < 0.2, "the dark page is not dark")
    b.screenshot("peers-dark")
    b.color_scheme("light")

@step("phone: at 390 px the peer table turns into cards and nothing scrolls sideways")
def _():
    b.viewport(390, 844, mobile=True)
    b.reload()
    b.wait_text("main h1", "Peers")
    for n in [NAME] + EXTRA:
        b.wait_visible(f"tr[data-peer='{n}']")
    b.pump(0.5)
    check(b.js("(r=>r.length>=3&&r.every(t=>getComputedStyle(t).display==='block'))"
               "([...document.querySelectorAll('table.peers tbody tr')])"), "rows are not cards")
    check(b.js("document.documentElement.scrollWidth <= innerWidth + 1"), "the page scrolls sideways")
    b.screenshot("peers-phone", full_page=True)
    b.viewport(1280, 900)

def open_link(url, want_conf):
    """Opens a one-time link in the browser: the config (want_conf) and
    its QR once, the token gone from the address bar."""
    u = urllib.parse.urlsplit(url)
    link = BASE + u.path       # the test's loopback origin, whatever host the server named
    b.goto(link)
    b.click("#reveal")
    b.wait_visible("pre.conf")
    conf = b.text("pre.conf")
    check("[Interface]" in conf and "PrivateKey" in conf, "the link page shows no config")
    check(conf.strip() == want_conf.strip(), "the link shows another config than the result did")
    b.wait("document.querySelector('img.qr').naturalWidth > 0", what="the QR on the link page")
    check("/l/" + u.path.rsplit("/", 1)[-1] not in b.js("location.href"), "the token stays in the address bar")
    b.click("#done")
    check(b.js("document.querySelector('pre.conf').textContent") == "", "Done leaves the config in the page")
    return link

@step("one-time link: shows the add result's config and QR once; opened again it says it was used")
def _():
    link = open_link(S["link"], S["conf"])
    b.goto(link)
    b.click("#reveal")
    b.wait_text("#status", "already used")
    check(not b.is_visible("pre.conf"), "a used link shows a config again")
    b.goto(BASE + f"/#/peers/{NAME}")
    b.wait_text("main h1", NAME)
    check(not b.is_visible("main [data-act=link]"), "the peer page offers a link for a key not kept")

@step("rotate: asks first; Escape closes the dialog and changes nothing")
def _():
    b.click("[data-act=rotate]")
    b.wait("document.querySelector('#confirm').open", what="the confirm dialog")
    b.key("Escape")
    b.wait("!document.querySelector('#confirm').open", what="Escape to close the dialog")
    time.sleep(0.5)
    check(fetch(f"/v1/peers/{NAME}")[1]["public_key"] == S["pub"], "the key changed")

@step("rotate: keeping the key, with a one-time link (15 min): the result shows the new config and its link")
def _():
    b.click("[data-act=rotate]")
    b.wait("document.querySelector('#confirm').open", what="the confirm dialog")
    b.wait_visible("#confirm [name=link]")
    b.click("#confirm [name=keep]")
    b.click("#confirm [name=link]")
    b.js("(s=>{s.value='15m';s.dispatchEvent(new Event('change'))})(document.querySelector('#confirm [name=ttl]'))")
    b.click("#confirm .ok")
    b.wait_visible("#result .link-url")
    conf = b.text("#result pre.conf")
    priv = re.search(r"^PrivateKey *= *(\S+)", conf, re.M)
    check(priv and priv.group(1) != S["priv"], "the rotation's config has the old private key")
    S["conf2"] = conf
    S["link2"] = b.js("document.querySelector('#result .link-url').value")
    check("/l/" in S["link2"] and S["link2"] != S["link"], f"the rotation's link is {S['link2']!r}")
    check(not b.is_visible("#result [data-act=link]"), "the result offers a second link")
    b.click("#result [data-act=close]")
    check(b.js("document.querySelector('#result .link-url').value") == "", "the link stays in the page")
    check(fetch(f"/v1/peers/{NAME}")[1]["public_key"] != S["pub"], "the key did not change")

@step("kept key: the peer page offers \"One-time link\"; it makes one from the kept key")
def _():
    b.wait_visible("main [data-act=link]", timeout=5)
    b.click("main [data-act=link]")
    b.wait_visible("#link-form")
    b.click("#link-form .make")
    b.wait("document.querySelector('#link-form [name=url]').value.includes('/l/')", what="the link URL")
    S["link3"] = b.js("document.querySelector('#link-form [name=url]').value")
    check(S["link3"] != S["link2"], "the same link twice")
    b.click("#link [data-act=close]")
    check(b.js("document.querySelector('#link-form [name=url]').value") == "", "the link stays in the page")

@step("the rotation's link and the kept key's link both open the new config once")
def _():
    open_link(S["link2"], S["conf2"])
    open_link(S["link3"], S["conf2"])
    b.goto(BASE + f"/#/peers/{NAME}")
    b.wait_text("main h1", NAME)

@step("edit: the peer page's Edit form changes routes and expiry, the answer shows; a bad route is named")
def _():
    b.wait_visible("#peer-edit [name=routes]", timeout=5)
    check(b.js("document.querySelector('#peer-edit [name=never]').checked"),
          "a peer without an expiry is not shown as never expiring")
    b.type("#peer-edit [name=routes]", "192.168.201.0/24")
    b.click("#peer-edit [name=never]")
    b.js("(i=>{i.value='2031-01-01';i.dispatchEvent(new Event('input'))})"
         "(document.querySelector('#peer-edit [name=expires]'))")
    b.click("#peer-edit button[type=submit]")
    b.wait_text("#status", f"{NAME} saved (")
    p = fetch(f"/v1/peers/{NAME}")[1]
    check(p["routes"] == ["192.168.201.0/24"], f"routes after the edit: {p['routes']!r}")
    check(p["expires"] == 1924992000, f"expires after the edit: {p['expires']!r} (2031-01-01 UTC)")
    check(p["enabled"] and not p.get("dns"), "the edit changed a field it was not given")
    b.wait_text("dl.facts", "192.168.201.0/24")
    b.type("#peer-edit [name=routes]", "10.0.0.0/33")
    b.click("#peer-edit button[type=submit]")
    b.wait_text("#peer-edit [data-err=routes]", "not a prefix")
    check(fetch(f"/v1/peers/{NAME}")[1]["routes"] == ["192.168.201.0/24"], "a refused edit was stored")

@step("revoke: asks, then the peer is gone")
def _():
    b.click("[data-act=revoke]")
    b.wait("document.querySelector('#confirm').open", what="the confirm dialog")
    b.click("#confirm .ok")
    b.wait("location.hash === '#/peers'", what="back to the peers list")
    b.wait(f"!{q(row())}", timeout=3, what="the row to go")
    b.wait_text("#status", f"{NAME} revoked")	# said by the peer's page, for the list
    check(fetch(f"/v1/peers/{NAME}")[0] == 404, "the server still has the peer")

@step("server page: public key and listen port")
def _():
    b.click("a[data-nav=server]")
    srv = fetch("/v1/server")[1]
    b.wait_text("dl.facts", srv["public_key"])
    b.wait_text("dl.facts", str(srv["listen_port"]))

@step("audit page: lists this run's changes, filterable")
def _():
    st = fetch("/v1/audit?limit=200")[0]
    check(st == 200, f"GET /v1/audit?limit=200 answers {st}: the audit route is missing")
    b.click("a[data-nav=audit]")
    b.wait_text("table.audit", NAME, timeout=12)
    b.type("main [name=q]", "no-such-event-xyz")
    b.wait(f"!document.querySelector('table.audit tbody').innerText.includes({json.dumps(NAME)})")

@step("2FA: enrolment shows a QR; the code turns it on; recovery codes shown once")
def _():
    b.click("a[data-nav=account]")
    b.click("#totp [data-act=enroll]")
    b.wait("document.querySelector('#totp-confirm img.qr').naturalWidth > 0", what="the 2FA QR")
    uri = b.js("document.querySelector('#totp-confirm .uri').textContent")
    secret = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)["secret"][0]
    S["secret"], S["step"] = secret, int(time.time()) // 30
    b.type("#totp-confirm [name=code]", totp(secret, S["step"]))
    b.click("#totp-confirm button[type=submit]")
    b.wait_visible("#totp .recovery")
    codes = b.js("[...document.querySelectorAll('#totp .codes li')].map(e=>e.textContent)")
    check(len(codes) >= 1, "no recovery codes")
    S["recovery"] = codes[0]
    check(b.js("document.querySelector('#totp-confirm .uri').textContent") == "", "the secret stays in the page")
    b.click("#totp [data-act=recovery-done]")
    check(b.js("document.querySelectorAll('#totp .codes li').length") == 0, "the codes stay in the page")

@step("2FA: sign-in asks for the code after the password and accepts it")
def _():
    sign_out()
    sign_in(USER, PASS, code=totp(S["secret"], S["step"] + 1))

@step("2FA: a code used once is refused; a recovery code works")
def _():
    sign_out()
    sign_in(USER, PASS, code=totp(S["secret"], S["step"] + 1), expect_ok=False)
    b.wait("document.querySelector('#signin [data-err=form]').textContent.length > 0",
           what="the replayed code to be refused")
    check(fetch("/v1/me")[0] == 401, "a replayed code signed in")
    b.type("#signin [name=code]", S["recovery"])
    b.click("#signin button[type=submit]")
    b.wait("location.hash === '#/peers'", what="sign-in with a recovery code")

@step("tokens: a new token is shown once and listed; revoke asks and removes it")
def _():
    b.click("a[data-nav=account]")
    b.type("#token-add [name=name]", f"t{NAME}")
    b.click("#token-add button[type=submit]")
    b.wait_visible(".token-once .secret")
    check(len(b.text(".token-once .secret")) >= 20, "no token shown")
    b.wait_text("table.tokens", f"t{NAME}")
    b.click(".token-once [data-act=token-done]")
    check(b.js("document.querySelector('.token-once .secret').textContent") == "", "the token stays in the page")
    b.click(f"table.tokens button[aria-label='Revoke token t{NAME}']")
    b.wait("document.querySelector('#confirm').open", what="the confirm dialog")
    b.click("#confirm .ok")
    b.wait(f"!document.querySelector('table.tokens').innerText.includes('t{NAME}')", what="the token to go")

@step("sessions: listed, this one marked")
def _():
    b.wait_text("table.sessions", "(this one)")

def status_shows(text, timeout=None):
    """The status line shows text, as an error, where a person sees it."""
    b.wait_text("#status", text, timeout)
    check(b.js(f"{q('#status')}.classList.contains('error')"), f"the status line shows {text!r}, but not as an error")
    check(b.is_visible("#status"), "the status line is not visible")

def status_empty(page):
    """The status line is empty on the page just opened, and stays so (an
    answer to the page left behind must not land here either)."""
    end = time.monotonic() + 2
    while b.js(f"{q('#status')}.textContent") != "":
        if time.monotonic() > end:
            b.fail(f"the status line on {page} says {b.text('#status')!r}")
        b.pump(0.1)
    b.pump(1.0)
    check(b.js(f"{q('#status')}.textContent") == "", f"the status line on {page} says {b.text('#status')!r}")

@step("status line: a message stays with its page (Account -> Peers -> Account), "
      "and an error of a failed action on the new page shows")
def _():
    tok = f"u{NAME}"
    b.wait_text("main h1", "Account")
    b.type("#token-add [name=name]", tok)
    b.click("#token-add button[type=submit]")
    b.wait_visible(".token-once .secret")
    b.wait_text("#status", f"Token {tok} added")
    secret = b.text(".token-once .secret")
    b.click("a[data-nav=peers]")	# at once: the message is fresh
    b.wait_text("main h1", "Peers")
    status_empty("the Peers page after a token was added on the Account page")
    check(not b.js(f"document.documentElement.outerHTML.includes({json.dumps(secret)})"),
          "the token is still somewhere in the page")
    st = fetch(f"/v1/tokens/{tok}", "DELETE")[0]
    check(st == 204, f"DELETE /v1/tokens/{tok}: {st}")
    # A failed action on Peers: the server refuses the name; its message shows.
    b.click("#add-peer")
    b.type("#add-form [name=name]", "no spaces/here")
    b.click("#add-form button[type=submit]")
    b.wait("document.querySelector('#add [data-err=name]').textContent.length > 0 || "
           "document.querySelector('#add [data-err=form]').textContent.length > 0",
           what="the server's message in the add dialog")
    err = b.js("document.querySelector('#add [data-err=name]').textContent || "
               "document.querySelector('#add [data-err=form]').textContent")
    status_shows(err)
    b.click("#add [data-act=close]")
    b.wait("!document.querySelector('#add').open", what="the add dialog to close")
    check(b.text("#status") == err, "closing the dialog changed the status line")
    # ... and that error does not follow to Account, where a failure shows again.
    b.click("a[data-nav=account]")
    b.wait_text("main h1", "Account")
    status_empty("the Account page after an error on the Peers page")
    # (the name field's pattern stops a bad name in the browser: a bad expiry
    # reaches the server, and its form has no slot for it but the status line)
    b.type("#token-add [name=name]", f"v{NAME}")
    b.type("#token-add [name=expires]", "yesterday-ish")
    b.click("#token-add button[type=submit]")
    b.wait(f"{q('#status')}.classList.contains('error') && {q('#status')}.textContent.length > 0",
           what="the server's refusal of the expiry in the status line")
    status_shows(b.text("#status"))
    check(all(t["name"] != f"v{NAME}" for t in fetch("/v1/tokens")[1]["tokens"]),
          "the server made a token with a bad expiry")
    check(not b.is_visible(".token-once"), "a refused token shows a token")

@step("viewer: offered no change, and the server refuses one")
def _():
    if not VIEWER:
        b.fail("no viewer account in this run (WEBUI_VIEWER)")
    sign_out()
    vu, vp = VIEWER.split(":", 1)
    sign_in(vu, vp)
    check(b.js("document.body.classList.contains('viewer')"), "the page is not in viewer mode")
    for n in EXTRA:
        b.wait_visible(f"tr[data-peer='{n}']")
    check(not b.is_visible("#add-peer"), "a viewer is offered Add peer")
    check(b.js("[...document.querySelectorAll('input.switch')].every(s=>s.disabled)"), "a viewer can flip a switch")
    st = fetch("/v1/peers", "POST", {"name": "viewer-was-here"})[0]
    check(st == 403, f"POST /v1/peers as a viewer answered {st}")
    b.goto(BASE + f"/#/peers/{EXTRA[0]}")
    b.wait_text("main h1", EXTRA[0])
    b.wait_text("dl.facts", "Expires")
    check(not b.is_visible("#peer-edit"), "a viewer is offered the Edit form")
    st = fetch(f"/v1/peers/{EXTRA[0]}", "PATCH", {"dns": "9.9.9.9"})[0]
    check(st == 403, f"PATCH /v1/peers/NAME as a viewer answered {st}")

@step("sign out ends the session")
def _():
    sign_out()
    check(fetch("/v1/me")[0] == 401, "GET /v1/me still answers")

@step("no console error, exception or CSP violation on any page")
def _():
    b.check_clean()

failed = 0
with Browser(artifacts=SHOTS) as b:
    for i, (what, fn, soft) in enumerate(steps):
        try:
            fn()
            print(f"PASS webui: {what}", flush=True)
        except (CDPError, Exception) as e:
            print(f"FAIL webui: {what}\n    {type(e).__name__}: {e}", flush=True)
            try:
                b.fail(str(e))
            except CDPError:
                pass
            failed = 1
            if soft:
                try:
                    b.js("document.querySelectorAll('dialog[open]').forEach((d) => d.close())")
                    if "/l/" in b.js("location.href"):
                        b.goto(BASE + f"/#/peers/{NAME}")
                except CDPError:
                    pass
                continue
            if len(steps) - i - 1:
                print(f"FAIL webui: {len(steps) - i - 1} later steps not run (they build on this one)")
            break
sys.exit(failed)
EOF
}

# --- development mode: a server (or mock) that is already running ----------
if [ -n "${WEBUI_URL:-}" ]; then
	WEBUI_SHOTS=${WEBUI_SHOTS:-$(mktemp -d /tmp/webui-shots.XXXXXX)}
	WEBUI_CONF_OUT=$(mktemp -d /tmp/webui-conf.XXXXXX)/peer.conf
	export WEBUI_URL WEBUI_SHOTS WEBUI_CONF_OUT
	scenario
	rc=$?
	rm -rf "${WEBUI_CONF_OUT%/*}"
	echo "# screenshots: $WEBUI_SHOTS"
	exit $rc
fi

. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/server_lib.sh"

need wg wg-quick wireguard-go curl chromium setpriv "$PY" "$ZWG" "$ZWGD"
"$PY" -c 'import websocket' 2>/dev/null || { fail "prerequisite: python3-websocket is not installed"; finish; }

WEBPORT=51821
BASE=http://127.0.0.1:$WEBPORT
WEBUI_USER=admin
WEBUI_PASS="web $(head -c 12 /dev/urandom | base64)"
VIEWER_PASS="view $(head -c 12 /dev/urandom | base64)"

# make_user NAME ROLE PASSWORD: `zerowg user add` on the store (the password
# on stdin, the unseal key on fd 3).
make_user() {
	printf '%s\n' "$3" | "$ZWG" user add "$1" --role "$2" --data "$W/data" --key-fd 3 \
		3<<KEY >>"$W/users.log" 2>&1
$UNSEAL
KEY
}

hosts s a
check "init: a sealed store is created" srv_init --subnet "$SUBNET4" || finish
if srv_start --web "127.0.0.1:$WEBPORT" >"$W/start.out" 2>&1; then
	pass "up: the server starts with its web listener on $BASE"
else
	grep -q -e '--web' -e 'unknown option' -e 'unrecognized option' "$W/server.log" &&
		why="\`zerowg up --web ADDR:PORT\` is refused: the TCP listener (src/api) is not wired yet" ||
		why="see the server log"
	fail "up: the server starts with its web listener on $BASE" "$why
$(tail -n 5 "$W/start.out")"
	finish
fi

# The routes this test needs, named when missing (never a silent skip).
code=$(X s curl -s -o "$W/index.html" -w '%{http_code} %{content_type}' --max-time 5 "$BASE/")
case $code in
"200 text/html"*) pass "route: GET / serves the UI (index.html)" ;;
*)	fail "route: GET / does not serve the UI (got HTTP '$code'): add the web asset routes (src/api/web_assets.h: / -> index.html, /assets/NAME, /l/TOKEN -> link.html)"
	finish ;;
esac
code=$(X s curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H 'Content-Type: application/json' \
	-H "Origin: $BASE" -d '{"user":"nobody-here","password":"x"}' "$BASE/v1/login")
case $code in
401 | 429) pass "route: POST /v1/login answers (HTTP $code for a wrong password)" ;;
*)	fail "route: POST /v1/login is missing or wrong (HTTP '$code', want 401): the accounts wiring has not landed"
	finish ;;
esac

# Accounts: made with the CLI on the store, then the server re-reads it.
if make_user "$WEBUI_USER" admin "$WEBUI_PASS" && make_user viewer viewer "$VIEWER_PASS"; then
	pass "user add: an admin and a viewer account (password on stdin)"
else
	fail "user add: \`zerowg user add NAME --role ROLE --data DIR --key-fd 3\` failed" "$(tail -n 5 "$W/users.log")"
	finish
fi
check "reload: the server re-reads the store with the new accounts" \
	sh -c "curl -sS --max-time 5 --unix-socket '$ADMIN' -X POST http://zerowg/v1/reload >/dev/null"

# Traffic for the live-update and chart steps: wireguard-go in host a with
# the config the browser downloaded, then pings to the server for 40 s.
TRAFFIC="sed '/^DNS *=/d' \"\$CONF_FILE\" >'$W/$(cif a).conf' && chmod 600 '$W/$(cif a).conf' &&
	echo a >'$W/$(cif a).host' &&
	ip netns exec '$(H a)' env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go \
		wg-quick up '$W/$(cif a).conf' >>'$W/client.log' 2>&1 &&
	ip netns exec '$(H a)' ping -c 3 -W 2 '$SRV4' >/dev/null &&
	{ ip netns exec '$(H a)' timeout 45 ping -i 0.5 -s 1000 '$SRV4' >/dev/null 2>&1 & }"

# The screenshots are this run's artifacts: $O/artifacts/webui/ (old ones
# removed), unless WEBUI_SHOTS says elsewhere.
SHOTS=${WEBUI_SHOTS:-$O/artifacts/webui}
mkdir -p "$SHOTS"
[ -z "${WEBUI_SHOTS:-}" ] && rm -f "$SHOTS"/*.png "$SHOTS"/failure-*.txt
API_CMD="curl -sS -f -o /dev/null --max-time 5 --unix-socket '$ADMIN' -X POST http://zerowg/v1/peers/\$PEER"
out="$W/scenario.out"
(
	RUN_IN="ip netns exec $(H s)"
	export WEBUI_URL="$BASE" WEBUI_USER WEBUI_PASS WEBUI_VIEWER="viewer:$VIEWER_PASS" \
		WEBUI_TRAFFIC="$TRAFFIC" WEBUI_ALLOWED_IPS="$SUBNET4" \
		WEBUI_SHOTS="$SHOTS" WEBUI_CONF_OUT="$W/dl/peer.conf" \
		WEBUI_API_DISABLE="$API_CMD/disable" WEBUI_API_ENABLE="$API_CMD/enable"
	scenario
) >"$out" 2>&1
rc=$?
cat "$out"
npass=$((npass + $(grep -c '^PASS ' "$out")))
nfail=$((nfail + $(grep -c '^FAIL ' "$out")))
[ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out" && fail "browser scenario: exited $rc without a verdict"
[ "$(grep -c '^FAIL ' "$out")" -gt 0 ] && show_logs
for f in "$SHOTS"/*.png; do
	[ -f "$f" ] && echo "# artifact: $f"
done
check "artifacts: the light, dark and phone screenshots are saved" \
	sh -c "[ -s '$SHOTS/peers-light.png' ] && [ -s '$SHOTS/peers-dark.png' ] && [ -s '$SHOTS/peers-phone.png' ]"
finish
