/*
 * link.js - the one-time link page (/l/TOKEN, served as link.html): on a
 * click, fetches GET /v1/links/TOKEN once ({"client_config","qr_svg",
 * "name"?}; 404 or 410 once used or expired) and shows the QR code and the
 * config, with a download.  The token leaves the address bar as soon as it
 * is used; "Done" clears the config from the page and from memory here.
 */

const $ = (sel) => document.querySelector(sel);
const token = location.pathname.split('/').filter(Boolean).pop() || '';
let conf = null;		// {name, text} while shown

function say(msg, error = false) {
  $('#status').textContent = msg;
  $('#status').classList.toggle('error', error);
}

function b64(s) {
  let bin = '';
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin);
}

async function reveal() {
  $('#reveal').disabled = true;
  let res;
  try {
    res = await fetch(`/v1/links/${encodeURIComponent(token)}`, { cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    $('#reveal').disabled = false;
    return say(`The server cannot be reached (${e.message}). Try again.`, true);
  }
  // Used once (or not at all): either way the token is of no more use here.
  history.replaceState(null, '', '/l/');
  if (!res.ok) {
    $('.intro').hidden = true;
    return say(res.status === 404 || res.status === 410
      ? 'This link was already used or has expired. Ask your administrator for a new one.'
      : `The server answered ${res.status}. Ask your administrator for a new link.`, true);
  }
  const r = await res.json();
  conf = { name: (r.name || 'wireguard').replace(/[^A-Za-z0-9._-]/g, '_'), text: r.client_config };
  $('.conf').textContent = r.client_config;
  if (r.qr_svg) $('.qr').src = `data:image/svg+xml;base64,${b64(r.qr_svg)}`;
  else $('.qr').hidden = true;
  $('.intro').hidden = true;
  $('.result').hidden = false;
  say('Shown once: this link no longer works.');
}

function download() {
  const url = URL.createObjectURL(new Blob([conf.text], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `${conf.name}.conf`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function done() {
  $('.conf').textContent = '';
  $('.qr').removeAttribute('src');
  $('.result').hidden = true;
  conf = null;
  say('Cleared. Close this page.');
}

$('#reveal').addEventListener('click', reveal);
$('#download').addEventListener('click', download);
$('#done').addEventListener('click', done);
