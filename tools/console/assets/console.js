/* ringdrop console: the page's script (no framework, no network but this server).
 *
 * The contract with the server is docs/console.md (its API section).
 * CSP: no inline script/style/handlers, so every event is wired here, and data from
 * the API is only ever put in the page with textContent (never innerHTML).
 *
 * Stable ids and classes (used by tests/console/test_console_browser.py):
 *   #status                 the status line (results of actions, errors)
 *   #session-user, #session-version, #operator (operator name, kept in localStorage)
 *   #nav-overview, #nav-dead-letters
 *   Overview (#overview):   #view-overview, #overview-time (last refresh), #overview-refresh,
 *                           #rings-table  rows tr[data-ring="LABEL"], td.fill .bar, canvas.spark,
 *                                         a.dl-link (to #dead-letters/LABEL), span.badge.stale
 *                           #channels-table rows tr[data-channel="ROOT"]
 *                           #services-table rows tr[data-service="NAME"], span.badge.dead / .alive
 *   Dead letters (#dead-letters[/encodeURIComponent(LABEL)]):
 *                           #view-dead-letters, #store-select, #dl-refresh,
 *                           #dl-filters (#filter-reason, #filter-older, #filter-newer, #filter-apply, #filter-clear),
 *                           #retry-selected, #retry-all, #purge-selected, #purge-all,
 *                           #dl-table rows tr.dl-row[data-id="ID"] with input.dl-check, td.summary,
 *                                     td.origin, td.age, button.show, button.retry; #dl-select-all, #dl-empty
 *                           #dl-detail (panel: #dl-detail-id, #dl-detail-reason, #dl-detail-headers,
 *                                     #dl-detail-body, #dl-detail-close)
 *                           #actions-table (action log, newest first)
 *   #confirm-dialog (<dialog>), #confirm-text, #confirm-ok, #confirm-cancel
 */
'use strict';

const OPERATOR_KEY = 'ringdrop.console.operator';
const state = {
  csrf: '', sampleMs: 5000, view: '', store: '', timer: 0,
  letters: [], selected: new Set(), filter: {}, detailId: '',
};

const $ = (id) => document.getElementById(id);

/* One element: el('td', {className: 'num', text: 3}, [children...]). */
function el(tag, props, children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'text') node.textContent = v === undefined || v === null ? '' : String(v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node[k] = v;
  }
  for (const c of children || []) node.append(c);
  return node;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function setStatus(text, kind) {
  const s = $('status');
  s.textContent = text || '';
  s.className = 'status' + (kind ? ' ' + kind : '');
}

/* ---------------------------------------------------------------- the API */

async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (method === 'POST') {
    init.headers['Content-Type'] = 'application/json';
    init.headers['X-CSRF-Token'] = state.csrf;
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new Error('The console server cannot be reached (' + e.message + ').');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!res.ok) {
    let msg = data && typeof data.error === 'string' ? data.error : 'HTTP ' + res.status + ' from ' + path;
    if (res.status === 401) msg += ' Open the console with the URL it printed (with ?token=...).';
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return data;
}

function query(path, params) {
  const q = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
  return q ? path + '?' + q : path;
}

/* ---------------------------------------------------------------- formatting */

function human(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm';
  if (s < 48 * 3600) return Math.floor(s / 3600) + 'h';
  return Math.floor(s / 86400) + 'd';
}

function ageOf(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '?' : human((Date.now() - t) / 1000);
}

function timeOf(iso) {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? String(iso || '') : t.toLocaleString();
}

function num(v) { return typeof v === 'number' ? v.toLocaleString() : (v === undefined || v === null ? '' : String(v)); }

function firstLine(text) { return String(text || '').split('\n')[0]; }

function origin(headers) {
  const h = headers || {};
  return h.source || h['original-name'] || h['source-kind'] || '\u2014';
}

function dlLink(label, count) {
  return el('a', { href: '#dead-letters/' + encodeURIComponent(label), className: 'dl-link' + (count ? ' some' : ''), text: num(count) });
}

/* A sparkline of `rates` (messages/s per sample, oldest first). */
function sparkline(rates, sampleMs) {
  const w = 140, h = 28, ratio = window.devicePixelRatio || 1;
  const canvas = el('canvas', { className: 'spark', width: w * ratio, height: h * ratio });
  canvas.style.width = w + 'px';
  canvas.style.height = h + 'px';
  const values = Array.isArray(rates) ? rates : [];
  const last = values.length ? values[values.length - 1] : 0;
  canvas.title = values.length ? 'last ' + last.toFixed(1) + ' msg/s, max ' + Math.max(...values).toFixed(1) +
    ' msg/s over ' + human(values.length * sampleMs / 1000) : 'no samples yet';
  const g = canvas.getContext('2d');
  if (!g) return canvas;
  g.scale(ratio, ratio);
  g.strokeStyle = '#d5dae1';
  g.beginPath(); g.moveTo(0, h - 0.5); g.lineTo(w, h - 0.5); g.stroke();
  if (values.length > 1) {
    const max = Math.max(1, ...values);
    const step = w / (values.length - 1);
    const y = (v) => h - 2 - (Math.max(0, v) / max) * (h - 4);
    g.beginPath();
    values.forEach((v, i) => (i ? g.lineTo(i * step, y(v)) : g.moveTo(0, y(v))));
    g.strokeStyle = '#2f6fdd';
    g.lineWidth = 1.5;
    g.stroke();
    g.lineTo(w, h); g.lineTo(0, h); g.closePath();
    g.fillStyle = 'rgba(47, 111, 221, 0.12)';
    g.fill();
  }
  return canvas;
}

function bar(ratio, text) {
  const r = Math.max(0, Math.min(1, Number(ratio) || 0));
  const fill = el('div', { className: 'bar-fill' + (r > 0.9 ? ' high' : r > 0.6 ? ' mid' : '') });
  fill.style.width = (r * 100).toFixed(1) + '%';
  return el('div', { className: 'bar', title: text }, [fill, el('span', { className: 'bar-text', text })]);
}

function badge(kind, text) { return el('span', { className: 'badge ' + kind, text }); }

/* ---------------------------------------------------------------- overview */

function fillTable(id, rows, emptyId) {
  const body = $(id).tBodies[0];
  clear(body);
  rows.forEach((r) => body.append(r));
  $(emptyId).hidden = rows.length > 0;
}

function renderOverview(o) {
  const inv = o.inventory || {};
  const rates = o.rates || {};
  const sampleMs = o.sample_ms || state.sampleMs;
  fillTable('rings-table', (inv.rings || []).map((r) => {
    const name = el('td', { className: 'name' }, [el('code', { text: r.name })]);
    if (r.stale) name.append(' ', badge('stale', 'stale'));
    return el('tr', { dataset: { ring: r.name }, className: r.stale ? 'is-stale' : '' }, [
      name,
      el('td', { text: r.kind }),
      el('td', { className: 'fill' }, [bar(r.fill_ratio, num(r.fill) + ' / ' + num(r.cells || r.capacity))]),
      el('td', { className: 'num', text: num(r.committed) }),
      el('td', { className: 'num', text: num(r.consumed) }),
      el('td', { className: 'num', text: num((r.peers || []).length) }),
      el('td', { className: 'num' }, [dlLink(r.name, r.dead_letters)]),
      el('td', { className: 'rate' }, [sparkline(rates[r.name], sampleMs)]),
    ]);
  }), 'rings-empty');
  fillTable('channels-table', (inv.channels || []).map((c) => el('tr', { dataset: { channel: c.root } }, [
    el('td', { className: 'name' }, [el('code', { text: c.root })]),
    ...['incoming', 'ready', 'claimed', 'retrying'].map((k) => el('td', { className: 'num', text: num(c[k]) })),
    el('td', { className: 'num' }, [dlLink(c.root, c.dead_letters)]),
    ...['done', 'receipts'].map((k) => el('td', { className: 'num', text: num(c[k]) })),
  ])), 'channels-empty');
  fillTable('services-table', (inv.services || []).map((s) => el('tr', { dataset: { service: s.service }, className: s.alive ? '' : 'is-dead' }, [
    el('td', { className: 'name', text: s.service }),
    el('td', {}, [el('code', { text: s.ring })]),
    el('td', { className: 'num', text: s.pid }),
    el('td', {}, [s.alive ? badge('alive', 'alive') : badge('dead', 'dead')]),
    el('td', { className: 'muted', text: s.info }),
  ])), 'services-empty');
  const bad = inv.unreadable || [];
  const notes = bad.map((u) => u.name + ': ' + u.why);
  if (inv.not_permitted) notes.push(inv.not_permitted + ' ring(s) not permitted to this user');
  $('unreadable').textContent = notes.length ? 'Not shown: ' + notes.join('; ') : '';
  $('unreadable').hidden = notes.length === 0;
}

async function refreshOverview() {
  clearTimeout(state.timer);
  try {
    const o = await api('GET', '/api/overview');
    if (state.view !== 'overview') return;
    if (o.sample_ms) state.sampleMs = o.sample_ms;
    renderOverview(o);
    $('overview-time').textContent = new Date().toLocaleTimeString();
    $('overview-time').title = o.time || '';
    if ($('status').classList.contains('error')) setStatus('');
  } catch (e) {
    setStatus(e.message, 'error');
  }
  if (state.view === 'overview') {
    state.timer = setTimeout(refreshOverview, Math.max(1000, state.sampleMs || 5000));
  }
}

/* ---------------------------------------------------------------- dead letters */

function readFilter() {
  return {
    reason: $('filter-reason').value.trim(),
    older_than: $('filter-older').value.trim(),
    newer_than: $('filter-newer').value.trim(),
  };
}

function describeFilter(f) {
  const parts = [];
  if (f.reason) parts.push('reason containing \u201c' + f.reason + '\u201d');
  if (f.older_than) parts.push('older than ' + f.older_than);
  if (f.newer_than) parts.push('newer than ' + f.newer_than);
  return parts.join(', ');
}

async function loadStores() {
  const select = $('store-select');
  let entries = [];
  try {
    entries = await api('GET', '/api/dead-letters') || [];
  } catch (e) {
    setStatus(e.message, 'error');
  }
  const labels = entries.map((s) => s.store);
  clear(select);
  select.append(el('option', { value: '', text: '(choose a store)' }));
  entries.forEach((s) => select.append(el('option', {
    value: s.store, text: s.store + ' \u2014 ' + (s.dead_letters || []).length + ' (' + s.kind + ')',
  })));
  if (state.store && !labels.includes(state.store)) select.append(el('option', { value: state.store, text: state.store }));
  select.value = state.store;
  if (!state.store && labels.length) location.replace('#dead-letters/' + encodeURIComponent(labels[0]));
}

async function loadLetters() {
  const body = $('dl-table').tBodies[0];
  state.selected.clear();
  updateSelection();
  if (!state.store) {
    clear(body);
    state.letters = [];
    $('dl-empty').textContent = 'Choose a store.';
    $('dl-empty').hidden = false;
    return;
  }
  const f = state.filter;
  const store = state.store;
  let entries;
  try {
    entries = await api('GET', query('/api/dead-letters', { store, ...f }));
  } catch (e) {
    setStatus(e.message, 'error');
    return;
  }
  if (store !== state.store) return;
  const entry = (entries || []).find((s) => s.store === store) || (entries || [])[0] || { dead_letters: [] };
  state.letters = entry.dead_letters || [];
  clear(body);
  state.letters.forEach((d) => body.append(letterRow(d)));
  $('dl-empty').textContent = describeFilter(f) ? 'No dead letters match.' : 'No dead letters in ' + store + '.';
  $('dl-empty').hidden = state.letters.length > 0;
  const desc = describeFilter(f);
  $('filter-summary').textContent = state.letters.length + ' shown' + (desc ? ', ' + desc : '');
  if (state.detailId && !state.letters.some((d) => d.id === state.detailId)) closeDetail();
}

function letterRow(d) {
  const check = el('input', { type: 'checkbox', className: 'dl-check', title: 'Select ' + d.id });
  check.addEventListener('change', () => {
    if (check.checked) state.selected.add(d.id); else state.selected.delete(d.id);
    updateSelection();
  });
  const show = el('button', { type: 'button', className: 'show', text: 'Show' });
  show.addEventListener('click', () => openDetail(d.id));
  const retry = el('button', { type: 'button', className: 'retry', text: 'Retry' });
  retry.addEventListener('click', () => act('retry', { ids: [d.id] }));
  const row = el('tr', { className: 'dl-row' + (d.id === state.detailId ? ' current' : ''), dataset: { id: d.id } }, [
    el('td', {}, [check]),
    el('td', { className: 'id' }, [el('code', { text: d.id })]),
    el('td', { className: 'summary', text: d.summary || firstLine(d.reason), title: d.reason || '' }),
    el('td', { className: 'num', text: d.attempts }),
    el('td', { className: 'origin', text: origin(d.headers) }),
    el('td', { className: 'age', text: ageOf(d.failed_at), title: d.failed_at || '' }),
    el('td', { className: 'row-buttons' }, [show, ' ', retry]),
  ]);
  row.addEventListener('click', (ev) => {
    if (ev.target.closest('button, input, a')) return;
    openDetail(d.id);
  });
  return row;
}

function updateSelection() {
  const n = state.selected.size;
  $('retry-selected').disabled = $('purge-selected').disabled = n === 0;
  $('retry-selected').textContent = 'Retry selected' + (n ? ' (' + n + ')' : '');
  $('purge-selected').textContent = 'Purge selected' + (n ? ' (' + n + ')' : '');
  const all = $('dl-select-all');
  all.checked = n > 0 && n === state.letters.length;
  all.indeterminate = n > 0 && n < state.letters.length;
}

function selectAll(on) {
  state.selected.clear();
  document.querySelectorAll('#dl-table tr.dl-row').forEach((row) => {
    row.querySelector('input.dl-check').checked = on;
    if (on) state.selected.add(row.dataset.id);
  });
  updateSelection();
}

function hexDump(hex) {
  const lines = [];
  for (let at = 0; at < hex.length; at += 32) {
    const chunk = hex.slice(at, at + 32);
    const bytes = chunk.match(/../g) || [];
    const ascii = bytes.map((b) => { const c = parseInt(b, 16); return c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.'; }).join('');
    lines.push((at / 2).toString(16).padStart(8, '0') + '  ' + bytes.join(' ').padEnd(47) + '  ' + ascii);
  }
  return lines.join('\n');
}

async function openDetail(id) {
  state.detailId = id;
  document.querySelectorAll('#dl-table tr.dl-row').forEach((r) => r.classList.toggle('current', r.dataset.id === id));
  let d;
  try {
    d = await api('GET', query('/api/dead-letter', { store: state.store, id }));
  } catch (e) {
    setStatus(e.message, 'error');
    return;
  }
  if (state.detailId !== id) return;
  $('dl-detail-id').textContent = d.id;
  $('dl-detail-store').textContent = d.store || state.store;
  $('dl-detail-attempts').textContent = d.attempts;
  $('dl-detail-failed').textContent = d.failed_at ? timeOf(d.failed_at) + ' (' + ageOf(d.failed_at) + ' ago)' : '';
  $('dl-detail-path').textContent = d.path || '';
  $('dl-detail-reason').textContent = d.reason || '';
  const headers = $('dl-detail-headers').tBodies[0];
  clear(headers);
  const entries = Object.entries(d.headers || {});
  entries.forEach(([k, v]) => headers.append(el('tr', {}, [el('th', { text: k }), el('td', { text: v })])));
  if (!entries.length) headers.append(el('tr', {}, [el('td', { className: 'muted', text: 'none' })]));
  const b = d.body || {};
  let kind, text;
  if (b.typed) {
    const rest = Object.fromEntries(Object.entries(b).filter(([k]) => k !== 'typed' && k !== 'size'));
    kind = 'typed message, ' + num(b.size) + ' bytes';
    text = JSON.stringify(rest.envelope && Object.keys(rest).length === 1 ? rest.envelope : rest, null, 2);
  } else if (typeof b.text === 'string') {
    kind = num(b.size) + ' bytes of text';
    text = b.text;
  } else {
    kind = num(b.size) + ' bytes (hex)';
    text = hexDump(String(b.hex || ''));
  }
  $('dl-detail-body-kind').textContent = '(' + kind + ')';
  $('dl-detail-body').textContent = text;
  $('dl-detail').hidden = false;
  $('dl-layout').classList.add('with-detail');
}

function closeDetail() {
  state.detailId = '';
  $('dl-detail').hidden = true;
  $('dl-layout').classList.remove('with-detail');
  document.querySelectorAll('#dl-table tr.current').forEach((r) => r.classList.remove('current'));
}

/* ---------------------------------------------------------------- actions */

/* Asks in the page's <dialog>; resolves true on OK. */
function confirmInPage(text) {
  const dialog = $('confirm-dialog');
  $('confirm-text').textContent = text;
  return new Promise((resolve) => {
    const done = (answer) => {
      $('confirm-ok').removeEventListener('click', ok);
      $('confirm-cancel').removeEventListener('click', cancel);
      dialog.removeEventListener('cancel', cancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const ok = () => done(true);
    const cancel = (ev) => { if (ev) ev.preventDefault(); done(false); };
    $('confirm-ok').addEventListener('click', ok);
    $('confirm-cancel').addEventListener('click', cancel);
    dialog.addEventListener('cancel', cancel);
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

/* action: 'retry' | 'purge'; what: {ids: [...]} or {all: true}. */
async function act(action, what) {
  const store = state.store;
  if (!store) { setStatus('Choose a store first.', 'error'); return; }
  const verb = action === 'retry' ? 'Retry' : 'Purge';
  const body = { store };
  let question;
  if (what.all) {
    Object.assign(body, { all: true }, Object.fromEntries(Object.entries(state.filter).filter(([, v]) => v)));
    const n = state.letters.length;
    body.expect = n;  // the server does nothing (409) if the filter matches another count by now
    const desc = describeFilter(state.filter);
    question = verb + ' all ' + n + ' dead letter' + (n === 1 ? '' : 's') + ' of ' + store +
      (desc ? ' with ' + desc : '') + '?';
  } else {
    if (!what.ids.length) { setStatus('Nothing selected.', 'error'); return; }
    body.ids = what.ids;
    question = verb + ' ' + what.ids.length + ' dead letter' + (what.ids.length === 1 ? '' : 's') + ' of ' + store + '?';
  }
  if (action === 'purge') question += ' They are deleted for good.';
  const operator = $('operator').value.trim().slice(0, 64);
  if (operator) body.operator = operator;
  if (!(await confirmInPage(question))) { setStatus(verb + ' cancelled.'); return; }
  setStatus((action === 'retry' ? 'Retrying' : 'Purging') + '\u2026');
  try {
    const r = await api('POST', '/api/' + action, body);
    const failed = (r.results || []).find((x) => !x.ok);
    setStatus((action === 'retry' ? 'Retried ' : 'Purged ') + r.done + ' of ' + r.matched +
      (failed ? ' \u2014 ' + failed.id + ': ' + (failed.error || 'failed') : ''), failed ? 'error' : 'ok');
  } catch (e) {
    setStatus(verb + ' failed: ' + e.message, 'error');
  }
  await Promise.all([loadLetters(), loadActions()]);
}

async function loadActions() {
  let log;
  try {
    log = await api('GET', '/api/actions?limit=50') || [];
  } catch (e) {
    setStatus(e.message, 'error');
    return;
  }
  fillTable('actions-table', log.map((a) => el('tr', { className: 'action-' + a.action }, [
    el('td', { text: timeOf(a.time), title: a.remote ? 'from ' + a.remote : '' }),
    el('td', { text: a.user }),
    el('td', { text: a.operator || '\u2014' }),
    el('td', { text: a.action }),
    el('td', {}, [el('code', { text: a.store })]),
    el('td', {
      className: 'num', text: a.done + ' of ' + a.matched,
      title: a.filter ? 'all matching ' + JSON.stringify(a.filter) : (a.ids || []).join(', '),
    }),
  ])), 'actions-empty');
}

/* ---------------------------------------------------------------- views */

function route() {
  const hash = location.hash || '#overview';
  let view = 'overview', store = '';
  if (hash === '#dead-letters' || hash.startsWith('#dead-letters/')) {
    view = 'dead-letters';
    try { store = decodeURIComponent(hash.slice('#dead-letters/'.length)); } catch (e) { store = ''; }
  }
  const entering = view !== state.view;
  state.view = view;
  $('view-overview').hidden = view !== 'overview';
  $('view-dead-letters').hidden = view !== 'dead-letters';
  $('nav-overview').classList.toggle('current', view === 'overview');
  $('nav-dead-letters').classList.toggle('current', view === 'dead-letters');
  clearTimeout(state.timer);
  if (view === 'overview') {
    refreshOverview();
    return;
  }
  if (entering || store !== state.store) {
    if (store !== state.store) closeDetail();
    state.store = store;
    loadStores();
    loadLetters();
    loadActions();
  }
}

async function start() {
  const operator = $('operator');
  try { operator.value = localStorage.getItem(OPERATOR_KEY) || ''; } catch (e) { /* storage off */ }
  operator.addEventListener('input', () => {
    try { localStorage.setItem(OPERATOR_KEY, operator.value.trim()); } catch (e) { /* storage off */ }
  });
  $('overview-refresh').addEventListener('click', refreshOverview);
  $('dl-refresh').addEventListener('click', () => { loadStores(); loadLetters(); loadActions(); });
  $('store-select').addEventListener('change', (ev) => {
    location.hash = ev.target.value ? '#dead-letters/' + encodeURIComponent(ev.target.value) : '#dead-letters';
  });
  $('dl-filters').addEventListener('submit', (ev) => { ev.preventDefault(); state.filter = readFilter(); loadLetters(); });
  $('filter-clear').addEventListener('click', () => {
    ['filter-reason', 'filter-older', 'filter-newer'].forEach((id) => { $(id).value = ''; });
    state.filter = {};
    loadLetters();
  });
  $('dl-select-all').addEventListener('change', (ev) => selectAll(ev.target.checked));
  $('retry-selected').addEventListener('click', () => act('retry', { ids: [...state.selected] }));
  $('purge-selected').addEventListener('click', () => act('purge', { ids: [...state.selected] }));
  $('retry-all').addEventListener('click', () => act('retry', { all: true }));
  $('purge-all').addEventListener('click', () => act('purge', { all: true }));
  $('dl-detail-close').addEventListener('click', closeDetail);
  window.addEventListener('hashchange', route);
  updateSelection();

  try {
    const s = await api('GET', '/api/session');
    state.csrf = s.csrf;
    state.sampleMs = Math.max(1000, s.sample_ms || 5000);
    $('session-user').textContent = s.user;
    $('session-version').textContent = 'ringdrop ' + s.version + (s.schema ? ' \u00b7 schema ' + s.schema : '');
  } catch (e) {
    setStatus(e.message, 'error');
    return;
  }
  route();
}

document.addEventListener('DOMContentLoaded', start);
