/*
 * app.js - the zerowg web UI: a one-page app over the /v1 JSON API
 * (docs/web-ui.md).  Hash routes: #/signin, #/peers, #/peers/NAME,
 * #/server, #/audit, #/account.  Each page is cloned from a <template> in
 * index.html and filled through textContent and attributes only: nothing
 * from the server is ever parsed as HTML, and the CSP forbids inline
 * script and style.
 *
 * Secrets (a client config, an API token, recovery codes, a one-time
 * link) are shown in one place each and removed from the page and from
 * every variable here when that place is closed.
 *
 * A peer's page has an "Edit" form for admins (PATCH /v1/peers/NAME):
 * only the fields changed are sent, and the answer is shown.
 *
 * One-time links: the server keeps a client's private key only if asked
 * (keep_key), so a link to a new config is asked for in the same call that
 * makes the key - add, or rotate ("link":{"ttl"}) - and shown in the
 * result with the config.  Only a peer whose key was kept offers a link
 * later (POST /v1/peers/NAME/links, the #link dialog).
 */

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

let me = null;			// {user, role, totp} once signed in
let afterSignin = '#/peers';	// where to go once signed in
let stopPage = null;		// the current page's clean-up (timers)
let pageSeq = 0;		// counts route changes: which page is shown
let handOver = null;		// {hash, msg, error}: go()'s message for the page it opens

/* ---------------------------------------------------------------- helpers */

// An element with attributes, listeners (onclick: fn) and text children.
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else if (v !== false && v != null) e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...kids.filter((k) => k != null));
  return e;
}

function bytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  for (n = Number(n) || 0; n >= 1024 && i < u.length - 1; i++) n /= 1024;
  return `${n < 10 && i ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}

function ago(t) {
  if (!t) return 'never';
  const s = Math.max(0, Math.round(Date.now() / 1000 - t));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

// Unix seconds or an RFC 3339 string -> local date and time.
function when(t) {
  if (!t) return 'never';
  const d = new Date(typeof t === 'number' ? t * 1000 : t);
  return isNaN(d) ? String(t) : d.toLocaleString();
}

function expiry(t) {
  if (!t) return 'never';
  const left = t - Date.now() / 1000;
  if (left <= 0) return `expired ${when(t)}`;
  return left < 86400 * 2 ? `in ${Math.ceil(left / 3600)} h` : `${new Date(t * 1000).toLocaleDateString()}`;
}

// base64 of a string's UTF-8 bytes, for data: URLs.
function b64(s) {
  let bin = '';
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin);
}

const svgUrl = (svg) => `data:image/svg+xml;base64,${b64(svg)}`;
const peerPath = (name) => `/v1/peers/${encodeURIComponent(name)}`;

// The one status line (aria-live): what just happened, or what failed, on
// the page shown.  A message belongs to the page (route) that said it:
// route() clears the line at every change, work that outlives an await
// speaks through thisPage() (silent once its page is left), and a step
// that ends on another page hands its message over with go().
function say(msg, error = false) {
  const s = $('#status');
  s.textContent = msg;
  s.classList.toggle('error', error);
}

// A handle on the page shown now: shown() turns false and say() silent
// once it is left, so an answer that comes back late is not told on (or
// does not steer) the next page.
function thisPage() {
  const seq = pageSeq;
  const shown = () => seq === pageSeq;
  return { shown, say: (msg, error = false) => { if (shown()) say(msg, error); } };
}

// Opens hash and shows msg there ("NAME revoked." on the list).
function go(hash, msg, error = false) {
  if (location.hash === hash) {		// no hashchange, no route()
    say(msg, error);
    return;
  }
  handOver = { hash, msg, error };
  location.hash = hash;
}

async function copyText(text, fallbackNode) {
  const here = thisPage();
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Plain http on a tunnel address is not a secure context: select and copy.
    if (fallbackNode instanceof HTMLInputElement) {
      fallbackNode.select();
      document.execCommand('copy');
      fallbackNode.setSelectionRange(0, 0);
    } else {
      const r = document.createRange();
      r.selectNodeContents(fallbackNode);
      getSelection().removeAllRanges();
      getSelection().addRange(r);
      document.execCommand('copy');
      getSelection().removeAllRanges();
    }
  }
  here.say('Copied.');
}

/* -------------------------------------------------------------------- API */

class ApiError extends Error {
  constructor(status, data) {
    super((data && data.error) || `The server answered ${status}.`);
    this.status = status;
    this.data = data || {};
    this.field = this.data.field || null;
  }
}

// One request: JSON in, JSON out (null for 204); throws ApiError.  A 401
// anywhere but sign-in means the session is gone: back to the sign-in page.
async function api(method, path, body) {
  const opt = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opt);
  } catch (e) {
    throw new ApiError(0, { error: `The server cannot be reached (${e.message}).` });
  }
  let data = null;
  if (res.status !== 204) data = await res.json().catch(() => null);
  if (res.status === 401 && path !== '/v1/login') signedOut();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function signedOut() {
  if (!me && location.hash.startsWith('#/signin')) return;
  me = null;
  if (!location.hash.startsWith('#/signin')) afterSignin = location.hash || '#/peers';
  location.hash = '#/signin';
}

// Shows err next to the field it names (an element [data-err=FIELD] in
// form), else at the form's own [data-err=form], and in the status line
// unless form's page was left while it waited (its form is gone).
function showError(form, err) {
  const slot = (err.field && $(`[data-err="${CSS.escape(err.field)}"]`, form)) ||
    $('[data-err="form"]', form);
  const input = err.field && form.elements[err.field];
  if (input && input.focus) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
  if (slot) slot.textContent = err.message;
  if (form.isConnected) say(err.message, true);
}

function clearErrors(form) {
  for (const e of $$('[data-err]', form)) e.textContent = '';
  for (const e of $$('[aria-invalid]', form)) e.removeAttribute('aria-invalid');
  say('');
}

// Calls fn now and every ms while the page is shown and the tab visible.
function poller(fn, ms) {
  let timer = 0, busy = false, stopped = false;
  const tick = async () => {
    clearTimeout(timer);
    if (busy || stopped || document.hidden) return;
    busy = true;
    try {
      await fn();
    } catch (e) {
      if (e.status !== 401 && !stopped) say(e.message, true);
    } finally {
      busy = false;
    }
    if (!stopped && !document.hidden) timer = setTimeout(tick, ms);
  };
  const vis = () => (document.hidden ? clearTimeout(timer) : tick());
  document.addEventListener('visibilitychange', vis);
  tick();
  return {
    now: tick,
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', vis);
    },
  };
}

/* ---------------------------------------------------------------- dialogs */

// The "also make a one-time link" box and its lifetime (add and rotate):
// the lifetime is offered only with the box ticked.
function linkChoice(root) {
  const box = $('[name=link]', root), ttl = $('[name=ttl]', root);
  return {
    reset() {
      box.checked = false;
      ttl.value = '1h';
      ttl.disabled = true;
    },
    watch() { box.addEventListener('change', () => { ttl.disabled = !box.checked; }); },
    // The API's "link" field, or undefined for none.
    value: () => (box.checked ? { ttl: ttl.value } : undefined),
  };
}

// A yes/no question in the #confirm dialog; resolves to null (no, or
// Escape) or {keep, link} (the "keep the key" box, offered with keep: true;
// the one-time link's {ttl} or undefined, offered with link: true).
function confirmDialog(title, message, okLabel, { keep = false, link = false } = {}) {
  const d = $('#confirm'), lc = linkChoice($('.link-opt', d));
  $('#confirm-title').textContent = title;
  $('.msg', d).textContent = message;
  $('.ok', d).textContent = okLabel;
  $('.keep', d).hidden = !keep;
  $('[name=keep]', d).checked = false;
  $('.link-opt', d).hidden = !link;
  lc.reset();
  d.returnValue = '';
  return new Promise((resolve) => {
    d.addEventListener('close', () =>
      resolve(d.returnValue === 'ok' ? { keep: $('[name=keep]', d).checked, link: link ? lc.value() : undefined }
        : null), { once: true });
    d.showModal();
    $('button[value=cancel]', d).focus();
  });
}

// The result of add / rotate / show config: QR, config, download, copy,
// and the one-time link if the call made one ({"link":{"url","expires"}},
// or "link_error" when the peer was changed but the link failed).
let shown = null;		// {name, config} while #result is open, else null

function showResult(title, name, answer) {
  const d = $('#result'), link = answer.link;
  shown = { name, config: answer.client_config };
  $('#result-title').textContent = title;
  $('.conf', d).textContent = answer.client_config;
  const img = $('.qr', d);
  img.hidden = !answer.qr_svg;
  if (answer.qr_svg) img.src = svgUrl(answer.qr_svg);
  $('.link-out', d).hidden = !link;
  $('.link-url', d).value = link ? link.url : '';
  $('.link-expires', d).textContent = link
    ? `It opens this config once, until ${when(link.expires)}; it also dies when the key changes.` : '';
  $('.link-err', d).textContent = answer.link_error ? `No one-time link was made: ${answer.link_error}` : '';
  // A later link needs the key on the server (the config of "Show config" is a kept one).
  const kept = answer.peer ? !!answer.peer.key_kept : true;
  $('[data-act=link]', d).hidden = !!link || !kept;
  for (const k of ['client_config', 'private_key', 'qr', 'qr_svg', 'link', 'link_error']) delete answer[k];
  d.showModal();
}

function wipeResult() {
  const d = $('#result');
  $('.conf', d).textContent = '';
  $('.qr', d).removeAttribute('src');
  $('.link-url', d).value = '';
  $('.link-expires', d).textContent = '';
  $('.link-out', d).hidden = true;
  shown = null;
}

function downloadConf() {
  const file = `${shown.name.replace(/[^A-Za-z0-9._-]/g, '_')}.conf`;
  const url = URL.createObjectURL(new Blob([shown.config], { type: 'application/octet-stream' }));
  const a = el('a', { href: url, download: file, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function openLinkDialog(name) {
  const d = $('#link'), f = $('#link-form');
  f.reset();
  clearErrors(f);
  f.dataset.peer = name;
  $('.url-out', f).hidden = true;
  $('.make', f).hidden = false;
  d.showModal();
}

async function createLink(ev) {
  ev.preventDefault();
  const f = ev.target, here = thisPage();
  clearErrors(f);
  try {
    const r = await api('POST', `${peerPath(f.dataset.peer)}/links`, { ttl: f.elements.ttl.value });
    f.elements.url.value = new URL(r.url, location.origin).href;
    $('.expires', f).textContent = `Works once, until ${when(r.expires)}.`;
    $('.url-out', f).hidden = false;
    $('.make', f).hidden = true;
    f.elements.url.select();
    here.say(`One-time link for ${f.dataset.peer} created.`);
  } catch (e) {
    showError(f, e);
  }
}

function openAddDialog() {
  const f = $('#add-form');
  f.reset();
  linkChoice(f).reset();
  clearErrors(f);
  $('#add').showModal();
  f.elements.name.focus();
}

async function addPeer(ev) {
  ev.preventDefault();
  const f = ev.target, v = (n) => f.elements[n].value.trim(), here = thisPage();
  const body = { name: v('name') };
  for (const k of ['expires', 'dns', 'allowed_ips']) if (v(k)) body[k] = v(k);
  if (v('routes')) body.routes = v('routes').split(/[\s,]+/).filter(Boolean);
  if (f.elements.keep_key.checked) body.keep_key = true;
  body.link = linkChoice(f).value();
  clearErrors(f);
  try {
    const r = await api('POST', '/v1/peers', body);
    $('#add').close();
    if (r.link_error) here.say(`Peer ${r.peer.name} added, but without a one-time link: ${r.link_error}`, true);
    else here.say(`Peer ${r.peer.name} added${r.link ? ' with a one-time link' : ''}.`);
    showResult(`Peer ${r.peer.name} added`, r.peer.name, r);
  } catch (e) {
    showError(f, e);
  }
}

function setupDialogs() {
  for (const b of $$('dialog [data-act=close]')) b.addEventListener('click', () => b.closest('dialog').close());
  $('#add-form').addEventListener('submit', addPeer);
  linkChoice($('#add-form')).watch();
  linkChoice($('#confirm .link-opt')).watch();
  $('#link-form').addEventListener('submit', createLink);
  $('#link').addEventListener('close', () => { $('#link-form').elements.url.value = ''; });
  $('#link [data-act=copy-link]').addEventListener('click', () =>
    copyText($('#link-form').elements.url.value, $('#link-form').elements.url));
  const r = $('#result');
  r.addEventListener('close', wipeResult);
  $('[data-act=download]', r).addEventListener('click', downloadConf);
  $('[data-act=copy]', r).addEventListener('click', () => copyText(shown.config, $('.conf', r)));
  $('[data-act=copy-link]', r).addEventListener('click', () => copyText($('.link-url', r).value, $('.link-url', r)));
  $('[data-act=link]', r).addEventListener('click', () => {
    const name = shown.name;
    r.close();
    openLinkDialog(name);
  });
}

/* ------------------------------------------------------------ peer actions */

async function setEnabled(name, on) {
  const here = thisPage();
  if (!on && !(await confirmDialog(`Disable ${name}?`,
    'The client is cut off at once. Its key stays valid: you can enable it again.', 'Disable')))
    return false;
  try {
    await api('POST', `${peerPath(name)}/${on ? 'enable' : 'disable'}`);
    here.say(`${name} ${on ? 'enabled' : 'disabled'}.`);
    return true;
  } catch (e) {
    here.say(e.message, true);
    return false;
  }
}

async function rotate(name) {
  const here = thisPage();
  const c = await confirmDialog(`Rotate the key of ${name}?`,
    'The old key stops working at once, and so do its one-time links; the client needs the new config.',
    'Rotate', { keep: true, link: true });
  if (!c) return;
  try {
    const body = {};
    if (c.keep) body.keep_key = true;
    if (c.link) body.link = c.link;
    const r = await api('POST', `${peerPath(name)}/rotate`, body);
    if (r.link_error) here.say(`New key for ${name}, but without a one-time link: ${r.link_error}`, true);
    else here.say(`New key for ${name}${r.link ? ' with a one-time link' : ''}.`);
    showResult(`New key for ${name}`, name, r);
  } catch (e) {
    here.say(e.message, true);
  }
}

// true once the peer is gone; the caller says so (on the page it opens).
async function revoke(name) {
  const here = thisPage();
  if (!(await confirmDialog(`Revoke ${name}?`,
    'The peer is deleted with its key and address. This cannot be undone.', 'Revoke')))
    return false;
  try {
    await api('DELETE', peerPath(name));
    return true;
  } catch (e) {
    here.say(e.message, true);
    return false;
  }
}

// The peer page's "Edit" form (admins): expiry (a date, UTC, or never),
// DNS, AllowedIPs, routes, keepalive.  Only the fields that differ from
// the peer as last filled in are sent (PATCH /v1/peers/NAME); saved(p,
// fields) gets the server's answer.  The live view never refills it while
// someone may be typing: fill() runs once, and after each save.
function peerEditForm(name, saved) {
  const input = (n, attrs = {}) => el('input', { name: n, autocomplete: 'off', ...attrs });
  const field = (label, inp) => [el('label', { text: `${label} ` }, inp),
    el('p', { class: 'err', 'data-err': inp.name })];
  const f = el('form', { id: 'peer-edit' }, el('label', {}, input('never', { type: 'checkbox' }), ' Never expires'),
    ...field('Expires on (a date, UTC)', input('expires', { type: 'date' })),
    ...field('DNS', input('dns', { placeholder: 'server default' })),
    ...field('Allowed IPs (what the client sends through the tunnel)', input('allowed_ips', { placeholder: 'server default' })),
    ...field('Routes (networks behind this client)', input('routes', { placeholder: '192.168.10.0/24' })),
    ...field('Persistent keepalive (seconds; 0 = server default)',
      input('persistent_keepalive', { type: 'number', min: '0', max: '65535', step: '1' })),
    el('p', { class: 'err', 'data-err': 'form' }), el('button', { type: 'submit', text: 'Save changes' }));
  const e = f.elements;
  let was = null;
  const values = () => ({
    expires: e.never.checked ? 0 : e.expires.value,
    dns: e.dns.value.trim(), allowed_ips: e.allowed_ips.value.trim(),
    routes: e.routes.value.split(/[\s,]+/).filter(Boolean).join(', '),
    persistent_keepalive: e.persistent_keepalive.value.trim(),
  });
  const fill = (p) => {
    e.never.checked = !p.expires;
    e.expires.value = p.expires ? new Date(p.expires * 1000).toISOString().slice(0, 10) : '';
    e.expires.disabled = !p.expires;
    e.dns.value = p.dns || '';
    e.allowed_ips.value = p.allowed_ips || '';
    e.routes.value = (p.routes || []).join(', ');
    e.persistent_keepalive.value = String(p.persistent_keepalive || 0);
    was = values();
  };
  e.never.addEventListener('change', () => { e.expires.disabled = e.never.checked; });
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const now = values(), body = {};
    for (const k of Object.keys(now)) if (was && now[k] !== was[k]) body[k] = now[k];
    if (body.expires === '') return showError(f, { field: 'expires', message: 'Choose a date, or Never expires.' });
    if ('persistent_keepalive' in body) {
      if (!/^\d+$/.test(now.persistent_keepalive) || Number(now.persistent_keepalive) > 65535)
        return showError(f, { field: 'persistent_keepalive', message: 'Keepalive: seconds from 0 to 65535.' });
      body.persistent_keepalive = Number(now.persistent_keepalive);
    }
    if ('routes' in body) body.routes = now.routes ? now.routes.split(', ') : [];
    if (!Object.keys(body).length) return say('Nothing to save: no field was changed.');
    try {
      const p = await api('PATCH', peerPath(name), body);
      fill(p);
      saved(p, Object.keys(body));
    } catch (err) {
      if (err.field) err.field = err.field.replace(/\[\d+\]$/, '');	// routes[1] -> routes
      showError(f, err);
    }
  });
  return { section: el('section', { class: 'card write' }, el('h2', { text: 'Edit' }), f), fill, filled: () => was !== null };
}

/* ------------------------------------------------------------------ pages */

function signinPage(view) {
  const f = $('#signin', view), totp = $('.totp', f), here = thisPage();
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(f);
    const body = { user: f.elements.user.value, password: f.elements.password.value };
    if (!totp.hidden) body.code = f.elements.code.value.trim();
    try {
      me = await api('POST', '/v1/login', body);
      f.reset();
      if (here.shown()) location.hash = afterSignin.startsWith('#/signin') ? '#/peers' : afterSignin;
    } catch (e) {
      if (e.data.totp_required) {
        const first = totp.hidden;
        totp.hidden = false;
        f.elements.code.required = true;
        f.elements.code.focus();
        if (first) {
          here.say('Enter the code from your authenticator app.');
          return;
        }
      }
      if (e.status === 429) e.message = `Too many attempts: try again in ${e.data.retry_after || 'a few'} s.`;
      showError(f, { message: e.message, field: null });
    }
  });
  f.elements.user.focus();
}

function peersPage(view) {
  const tbody = $('tbody', view), q = $('[name=q]', view);
  const rows = new Map();
  let peers = [];

  const makeRow = (name) => {
    const sw = el('input', { type: 'checkbox', class: 'switch', role: 'switch', 'aria-label': `${name} enabled` });
    sw.addEventListener('change', async () => {
      const want = sw.checked;
      sw.checked = !want;		// the server's answer decides
      if (await setEnabled(name, want)) poll.now();
    });
    const cells = {
      name: el('td', { 'data-label': 'Name' }, el('a', { href: `#/peers/${encodeURIComponent(name)}`, text: name })),
      addr: el('td', { 'data-label': 'Addresses', class: 'mono lines' }),
      status: el('td', { 'data-label': 'Status' }),
      endpoint: el('td', { 'data-label': 'Endpoint', class: 'mono' }),
      traffic: el('td', { 'data-label': 'Rx / Tx', class: 'num' }),
      expires: el('td', { 'data-label': 'Expires' }),
      enabled: el('td', { 'data-label': 'Enabled' }, sw),
    };
    return { tr: el('tr', { 'data-peer': name }, ...Object.values(cells)), cells, sw };
  };

  const fill = (r, p) => {
    // Unchanged since the last poll: leave the row alone (1,000 peers poll cheaply).
    const sig = JSON.stringify(p) + ago(p.latest_handshake);
    if (r.sig === sig) return;
    r.sig = sig;
    r.tr.classList.toggle('disabled', !p.enabled);
    r.cells.addr.textContent = [p.ipv4, p.ipv6].filter(Boolean).join('\n');
    r.cells.status.replaceChildren(el('span', {},
      el('span', { class: `dot${p.online ? ' on' : ''}`, 'aria-hidden': 'true' }), p.online ? 'online' : 'offline',
      el('br'), el('span', { class: 'muted', text: p.enabled ? `handshake ${ago(p.latest_handshake)}`
        : `disabled${p.disabled_reason ? ` (${p.disabled_reason})` : ''}` })));
    r.cells.endpoint.textContent = p.endpoint || '—';
    r.cells.traffic.textContent = `↓ ${bytes(p.rx_bytes)}  ↑ ${bytes(p.tx_bytes)}`;
    r.cells.expires.textContent = expiry(p.expires);
    r.cells.expires.classList.toggle('bad', !!p.expires && p.expires < Date.now() / 1000);
    r.sw.checked = !!p.enabled;
    r.sw.disabled = me && me.role !== 'admin';
  };

  const render = () => {
    const needle = q.value.trim().toLowerCase();
    const seen = new Set();
    let i = 0;
    for (const p of peers) {
      seen.add(p.name);
      if (!rows.has(p.name)) rows.set(p.name, makeRow(p.name));
      const r = rows.get(p.name);
      fill(r, p);
      r.tr.hidden = needle !== '' &&
        ![p.name, p.ipv4, p.ipv6, p.endpoint].some((s) => s && s.toLowerCase().includes(needle));
      // Move a row only when out of place: moving a focused switch would blur it.
      if (tbody.children[i] !== r.tr) tbody.insertBefore(r.tr, tbody.children[i] || null);
      i++;
    }
    for (const [name, r] of rows) if (!seen.has(name)) { r.tr.remove(); rows.delete(name); }
    $('.count', view).textContent = `(${peers.length})`;
    $('.empty', view).hidden = peers.length > 0;
  };

  q.addEventListener('input', render);
  $('#add-peer', view).addEventListener('click', openAddDialog);
  const poll = poller(async () => {
    peers = (await api('GET', '/v1/peers')).peers;
    peers.sort((a, b) => a.name.localeCompare(b.name));
    render();
  }, 2000);
  return poll.stop;
}

// Draws the rx/tx rates between the counter samples pts ([{t,rx,tx}]).
function drawChart(canvas, pts) {
  const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth || 600, h = canvas.clientHeight || 240;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  const c = canvas.getContext('2d'), css = getComputedStyle(document.documentElement);
  const color = (n) => css.getPropertyValue(n).trim();
  c.scale(dpr, dpr);
  c.font = '12px system-ui, sans-serif';
  c.fillStyle = color('--muted');
  const rates = [];
  for (let i = 1; i < pts.length; i++) {
    const dt = pts[i].t - pts[i - 1].t;
    // A counter that went down was reset (server restart): no rate there.
    if (dt > 0) rates.push({ t: pts[i].t, rx: Math.max(0, (pts[i].rx - pts[i - 1].rx) / dt),
      tx: Math.max(0, (pts[i].tx - pts[i - 1].tx) / dt) });
  }
  if (rates.length < 2) {
    c.fillText('Not enough samples yet.', 12, h / 2);
    return;
  }
  const pad = { l: 72, r: 10, t: 10, b: 24 };
  const top = Math.max(1, ...rates.map((r) => Math.max(r.rx, r.tx)));
  const mag = 10 ** Math.floor(Math.log10(top));
  const max = [1, 2, 5, 10].map((m) => m * mag).find((m) => m >= top);
  const t0 = rates[0].t, t1 = rates[rates.length - 1].t;
  const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (w - pad.l - pad.r);
  const y = (v) => h - pad.b - (v / max) * (h - pad.t - pad.b);
  c.strokeStyle = color('--line');
  c.lineWidth = 1;
  c.textAlign = 'right';
  c.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const yy = Math.round(y((max * i) / 4)) + 0.5;
    c.beginPath();
    c.moveTo(pad.l, yy);
    c.lineTo(w - pad.r, yy);
    c.stroke();
    c.fillText(`${bytes((max * i) / 4)}/s`, pad.l - 6, yy);
  }
  const hm = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  c.textBaseline = 'top';
  c.textAlign = 'left';
  c.fillText(hm(t0), pad.l, h - pad.b + 6);
  c.textAlign = 'right';
  c.fillText(hm(t1), w - pad.r, h - pad.b + 6);
  for (const k of ['rx', 'tx']) {
    c.strokeStyle = color(`--${k}`);
    c.lineWidth = 2;
    c.beginPath();
    rates.forEach((r, i) => (i ? c.lineTo(x(r.t), y(r[k])) : c.moveTo(x(r.t), y(r[k]))));
    c.stroke();
  }
}

function peerPage(view, name) {
  const facts = $('.facts', view), fw = $('#firewall', view), canvas = $('canvas', view), here = thisPage();
  let peer = null, range = '1h', samples = [], fwLoaded = false;
  $('.name', view).textContent = name;
  document.title = `${name} · zerowg`;
  // Viewers get no edit form (the server would refuse them anyway).
  const edit = me && me.role === 'admin' ? peerEditForm(name, (p, fields) => {
    show(p);
    const client = fields.some((k) => ['dns', 'allowed_ips', 'persistent_keepalive'].includes(k));
    here.say(`${name} saved (${fields.join(', ')}).${client ? ` Its client needs its config again: ${
      p.key_kept ? 'Show config or One-time link' : 'Rotate key (its key was not kept)'}.` : ''}`);
  }) : null;
  if (edit) facts.after(edit.section);

  const show = (p) => {
    peer = p;
    const rows = [
      ['Status', `${p.online ? 'online' : 'offline'}, ${p.enabled ? 'enabled' : `disabled${p.disabled_reason ? ` (${p.disabled_reason})` : ''}`}`],
      ['Latest handshake', p.latest_handshake ? `${ago(p.latest_handshake)} (${when(p.latest_handshake)})` : 'never'],
      ['Endpoint', p.endpoint || '—'],
      ['Received / sent', `${bytes(p.rx_bytes)} / ${bytes(p.tx_bytes)}`],
      ['IPv4', p.ipv4], ['IPv6', p.ipv6],
      ['Routes', (p.routes || []).join(', ') || '—'],
      ['DNS', p.dns || 'server default'], ['Allowed IPs', p.allowed_ips || 'server default'],
      ['Public key', p.public_key], ['Key kept on server', p.key_kept ? 'yes' : 'no'],
      ['Created', when(p.created)], ['Expires', expiry(p.expires)],
    ];
    facts.replaceChildren(...rows.filter((r) => r[1]).flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));
    $('[data-act=toggle]', view).textContent = p.enabled ? 'Disable' : 'Enable';
    $('[data-act=config]', view).hidden = !p.key_kept;
    $('[data-act=link]', view).hidden = !p.key_kept;	// else: rotate offers one
    if (edit && !edit.filled()) edit.fill(p);
    if (!fwLoaded) {
      fwLoaded = true;
      fw.elements.restrict.checked = !!p.firewall;
      fw.elements.allow.value = p.firewall ? p.firewall.allow.join('\n') : '';
      fw.elements.allow.disabled = !p.firewall;
    }
  };

  const loadStats = async () => {
    const d = await api('GET', `/v1/stats${range === '24h' ? '?range=24h' : ''}`);
    samples = (d.peers && d.peers[name]) || [];
    drawChart(canvas, samples);
  };

  const live = poller(async () => {
    try {
      show(await api('GET', peerPath(name)));
    } catch (e) {
      if (e.status === 404 && here.shown()) go('#/peers', `There is no peer "${name}" (any more).`, true);
      throw e;
    }
  }, 2000);
  let chart = poller(loadStats, 10000);

  for (const b of $$('[data-range]', view)) {
    b.addEventListener('click', () => {
      range = b.dataset.range;
      for (const o of $$('[data-range]', view)) o.setAttribute('aria-pressed', String(o === b));
      chart.stop();
      chart = poller(loadStats, range === '24h' ? 60000 : 10000);
    });
  }
  const redraw = () => drawChart(canvas, samples);
  const scheme = matchMedia('(prefers-color-scheme: dark)');
  window.addEventListener('resize', redraw);
  scheme.addEventListener('change', redraw);

  $('[data-act=toggle]', view).addEventListener('click', async () => {
    if (peer && (await setEnabled(name, !peer.enabled))) live.now();
  });
  $('[data-act=rotate]', view).addEventListener('click', () => rotate(name).then(live.now));
  $('[data-act=link]', view).addEventListener('click', () => openLinkDialog(name));
  $('[data-act=revoke]', view).addEventListener('click', async () => {
    if ((await revoke(name)) && here.shown()) go('#/peers', `${name} revoked.`);
  });
  $('[data-act=config]', view).addEventListener('click', async () => {
    try {
      showResult(`Config of ${name}`, name, await api('GET', `${peerPath(name)}/config`));
    } catch (e) {
      here.say(e.message, true);
    }
  });
  fw.elements.restrict.addEventListener('change', () => {
    fw.elements.allow.disabled = !fw.elements.restrict.checked;
  });
  fw.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(fw);
    const allow = fw.elements.restrict.checked
      ? fw.elements.allow.value.split('\n').map((s) => s.trim()).filter(Boolean) : null;
    try {
      show(await api('PUT', `${peerPath(name)}/firewall`, { allow }));
      here.say(allow ? `Firewall of ${name} saved: ${allow.length} rule(s).` : `${name} may reach everything again.`);
    } catch (e) {
      showError(fw, e);
    }
  });
  return () => {
    live.stop();
    chart.stop();
    window.removeEventListener('resize', redraw);
    scheme.removeEventListener('change', redraw);
  };
}

async function serverPage(view) {
  const facts = $('.facts', view);	// this page's, even if another is shown by the answer
  const s = await api('GET', '/v1/server');
  const rows = [
    ['Interface', s.interface], ['Public key', s.public_key], ['Endpoint', s.endpoint],
    ['Listen port', s.listen_port], ['IPv4 subnet', s.ipv4], ['IPv6 subnet', s.ipv6],
    ['Clients\u2019 DNS', s.dns], ['Clients\u2019 allowed IPs', s.client_allowed_ips],
    ['Peers', s.online != null ? `${s.peers} (${s.online} online)` : s.peers],
    ['Keepalive', s.persistent_keepalive ? `${s.persistent_keepalive} s` : 'off'],
    ['MTU', s.mtu], ['NAT', s.nat == null ? null : s.nat ? 'on' : 'off'], ['Created', s.created && when(s.created)],
  ];
  facts.replaceChildren(...rows.filter((r) => r[1] != null && r[1] !== '')
    .flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: String(v) })]));
}

function auditPage(view) {
  const tbody = $('tbody', view), q = $('[name=q]', view), failed = $('[name=failed]', view);
  let entries = [];
  const render = () => {
    const needle = q.value.trim().toLowerCase();
    tbody.replaceChildren(...entries
      .filter((e) => !failed.checked || e.ok === false)
      .filter((e) => !needle || [e.event, e.peer, e.actor, e.via, e.error].some((s) => s && String(s).toLowerCase().includes(needle)))
      .map((e) => el('tr', {},
        el('td', { 'data-label': 'Time', text: when(e.ts) }),
        el('td', { 'data-label': 'Event', text: e.event }),
        el('td', { 'data-label': 'Peer', text: e.peer || '—' }),
        el('td', { 'data-label': 'Actor', text: e.actor || '—' }),
        el('td', { 'data-label': 'Via', text: e.via || '—' }),
        el('td', { 'data-label': 'Result', class: e.ok === false ? 'bad' : '', text: e.ok === false ? `failed: ${e.error || ''}` : 'ok' }))));
  };
  q.addEventListener('input', render);
  failed.addEventListener('change', render);
  const poll = poller(async () => {
    entries = (await api('GET', '/v1/audit?limit=200')).entries || [];
    render();
  }, 10000);
  return poll.stop;
}

function accountPage(view) {
  const pw = $('#password', view), sec = $('#totp', view);
  const enroll = $('[data-act=enroll]', sec), confirm = $('#totp-confirm', sec), off = $('#totp-off', sec);
  const recovery = $('.recovery', sec), here = thisPage();

  pw.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(pw);
    const e = pw.elements;
    if (e.new.value !== e.again.value) return showError(pw, { field: 'new', message: 'The two new passwords differ.' });
    try {
      await api('POST', '/v1/me/password', { old: e.old.value, new: e.new.value });
      pw.reset();
      here.say('Password changed. Your other sessions were signed out.');
    } catch (err) {
      showError(pw, err);
    }
  });

  const totpState = () => {
    $('.totp-state', sec).textContent = me.totp ? '2FA is on: sign-in asks for a code.' : '2FA is off.';
    enroll.hidden = me.totp || !confirm.hidden || !recovery.hidden;
    off.hidden = !me.totp || !recovery.hidden;
  };
  const wipeEnroll = () => {
    $('.qr', confirm).removeAttribute('src');
    $('.uri', confirm).textContent = '';
    confirm.reset();
    confirm.hidden = true;
  };
  enroll.addEventListener('click', async () => {
    try {
      const r = await api('POST', '/v1/me/totp');
      $('.qr', confirm).src = svgUrl(r.qr_svg);
      $('.uri', confirm).textContent = r.uri;
      confirm.hidden = false;
      totpState();
      confirm.elements.code.focus();
    } catch (e) {
      here.say(e.message, true);
    }
  });
  confirm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(confirm);
    try {
      const r = await api('POST', '/v1/me/totp/confirm', { code: confirm.elements.code.value.trim() });
      wipeEnroll();
      me.totp = true;
      $('.codes', recovery).replaceChildren(...r.recovery_codes.map((c) => el('li', { class: 'mono', text: c })));
      recovery.hidden = false;
      totpState();
      here.say('2FA is on. Save the recovery codes now.');
    } catch (e) {
      showError(confirm, e);
    }
  });
  $('[data-act=recovery-done]', sec).addEventListener('click', () => {
    $('.codes', recovery).replaceChildren();
    recovery.hidden = true;
    totpState();
  });
  off.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(off);
    try {
      await api('DELETE', '/v1/me/totp', { code: off.elements.code.value.trim() });
      off.reset();
      me.totp = false;
      totpState();
      here.say('2FA is off.');
    } catch (e) {
      showError(off, e);
    }
  });
  totpState();

  // Tokens (admins only) and sessions: lists with a revoke button per row.
  const tokenList = $('.tokens tbody', view), tokenForm = $('#token-add', view), once = $('.token-once', view);
  const loadTokens = async () => {
    if (me.role !== 'admin') return;
    const { tokens } = await api('GET', '/v1/tokens');
    tokenList.replaceChildren(...tokens.map((t) => el('tr', {},
      el('td', { 'data-label': 'Name', text: t.name }), el('td', { 'data-label': 'Role', text: t.role }),
      el('td', { 'data-label': 'Created', text: when(t.created) }), el('td', { 'data-label': 'Expires', text: expiry(t.expires) }),
      el('td', {}, el('button', { type: 'button', class: 'danger', 'aria-label': `Revoke token ${t.name}`, text: 'Revoke',
        onclick: async () => {
          if (!(await confirmDialog(`Revoke token ${t.name}?`, 'Scripts using it stop working at once.', 'Revoke'))) return;
          await api('DELETE', `/v1/tokens/${encodeURIComponent(t.name)}`).catch((e) => here.say(e.message, true));
          loadTokens();
        } })))));
  };
  tokenForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(tokenForm);
    const e = tokenForm.elements, body = { name: e.name.value.trim(), role: e.role.value };
    if (e.expires.value.trim()) body.expires = e.expires.value.trim();
    try {
      const r = await api('POST', '/v1/tokens', body);
      $('.secret', once).textContent = r.token;
      once.hidden = false;
      tokenForm.reset();
      here.say(`Token ${body.name} added. Copy it now: it is not shown again.`);
      loadTokens();
    } catch (err) {
      showError(tokenForm, err);
    }
  });
  $('[data-act=copy-token]', once).addEventListener('click', () =>
    copyText($('.secret', once).textContent, $('.secret', once)));
  const wipeToken = () => {
    $('.secret', once).textContent = '';
    once.hidden = true;
  };
  $('[data-act=token-done]', once).addEventListener('click', wipeToken);

  const sessionList = $('.sessions tbody', view);
  const loadSessions = async () => {
    const { sessions } = await api('GET', '/v1/me/sessions');
    sessionList.replaceChildren(...sessions.map((s) => el('tr', {},
      el('td', { 'data-label': 'Session', class: 'mono', text: `${s.id_hint}${s.current ? ' (this one)' : ''}` }),
      el('td', { 'data-label': 'Started', text: when(s.created) }),
      el('td', { 'data-label': 'Last seen', text: ago(s.last_seen) }),
      el('td', { 'data-label': 'From', text: s.source || '—' }),
      el('td', {}, el('button', { type: 'button', 'aria-label': `Sign out session ${s.id_hint}`, text: 'Sign out',
        onclick: async () => {
          if (!(await confirmDialog('Sign this session out?', s.current ? 'That is this browser: you will need to sign in again.'
            : 'The browser using it must sign in again.', 'Sign out'))) return;
          await api('DELETE', `/v1/me/sessions/${encodeURIComponent(s.id_hint)}`).catch((e) => here.say(e.message, true));
          if (s.current) signedOut(); else loadSessions();
        } })))));
  };
  loadTokens().catch((e) => here.say(e.message, true));
  loadSessions().catch((e) => here.say(e.message, true));
  return () => {
    wipeEnroll();
    wipeToken();
    $('.codes', recovery).replaceChildren();
  };
}

/* ----------------------------------------------------------------- router */

const pages = {
  signin: { tpl: 't-signin', title: 'Sign in', show: signinPage },
  peers: { tpl: 't-peers', title: 'Peers', show: peersPage },
  peer: { tpl: 't-peer', title: 'Peer', show: peerPage },
  server: { tpl: 't-server', title: 'Server', show: serverPage },
  audit: { tpl: 't-audit', title: 'Audit log', show: auditPage },
  account: { tpl: 't-account', title: 'Account', show: accountPage },
};

async function route() {
  if (stopPage) stopPage();
  stopPage = null;
  pageSeq++;
  const here = thisPage(), h = handOver;
  handOver = null;
  if (h && h.hash === location.hash) say(h.msg, h.error);
  else say('');
  const [, what = 'peers', arg] = location.hash.split('/');
  const key = what === 'peers' && arg ? 'peer' : pages[what] ? what : 'peers';
  if (key !== 'signin' && !me) {
    try {
      me = await api('GET', '/v1/me');
    } catch (e) {
      if (e.status !== 401) here.say(e.message, true);
      return;			// 401: api() went to #/signin
    }
    if (!here.shown()) return;	// the address changed meanwhile: that route() draws
  }
  const page = pages[key];
  $('.top').hidden = key === 'signin';
  if (me) {
    $('#who').textContent = `${me.user} (${me.role})`;
    document.body.classList.toggle('viewer', me.role !== 'admin');
  }
  for (const a of $$('[data-nav]')) {
    if (a.dataset.nav === (key === 'peer' ? 'peers' : key)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${page.title} · zerowg`;
  const view = $('#view');
  view.replaceChildren(document.getElementById(page.tpl).content.cloneNode(true));
  try {
    const stop = (await page.show(view, arg && decodeURIComponent(arg))) || null;
    if (here.shown()) stopPage = stop;
    else if (stop) stop();		// left while it loaded
  } catch (e) {
    if (e.status !== 401) here.say(e.message, true);
  }
}

$('#signout').addEventListener('click', async () => {
  await api('POST', '/v1/logout').catch(() => {});
  me = null;
  afterSignin = '#/peers';
  location.hash = '#/signin';
});
setupDialogs();
window.addEventListener('hashchange', route);
route();
