// The dashboard's one stylesheet and one small script, served from the bundle (no build step, no
// CDN, no inline code: the pages run under a CSP of 'self' only). Kept as strings so the same
// module serves them on Node and on Workers.

const CSS = `
:root{--bg:#f5f6f8;--panel:#fff;--text:#17202b;--muted:#5d6878;--line:#e2e6eb;--soft:#f0f2f5;
--accent:#2f63e0;--accent-soft:#e8efff;--ok:#13803b;--ok-soft:#e3f5e9;--bad:#c4291c;--bad-soft:#fdeceb;
--warn:#a85d00;--warn-soft:#fff3df;--info:#2f63e0;--r:10px;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0f141a;--panel:#161d26;--text:#e4e9ef;--muted:#93a0b1;--line:#263140;
--soft:#1d2631;--accent:#6d9cff;--accent-soft:#1c2a45;--ok:#4cc27a;--ok-soft:#15301f;--bad:#ff7a6e;--bad-soft:#3a1c1a;
--warn:#f0b050;--warn-soft:#3a2a12}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text)}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
h1{font-size:20px;margin:0 0 16px}h2{font-size:15px;margin:0 0 12px}h3{font-size:14px;margin:0}
.top{background:var(--panel);border-bottom:1px solid var(--line)}
.top .bar{display:flex;align-items:center;gap:16px;max-width:1240px;margin:0 auto;padding:10px 20px}
.brand{font-weight:700;font-size:16px;color:var(--text)}.brand span{color:var(--muted);font-weight:500}
.who{margin-left:auto;display:flex;align-items:center;gap:12px;color:var(--muted)}
.tabs{display:flex;gap:2px;max-width:1240px;margin:0 auto;padding:0 14px;overflow-x:auto}
.tabs a{padding:10px 12px;color:var(--muted);border-bottom:2px solid transparent;white-space:nowrap;font-weight:500}
.tabs a:hover{color:var(--text);text-decoration:none}
.tabs a[aria-current=page]{color:var(--accent);border-bottom-color:var(--accent)}
main{max-width:1240px;margin:0 auto;padding:20px}
.grid{display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));margin-bottom:16px}
.grid.two{grid-template-columns:repeat(auto-fit,minmax(420px,1fr))}
.card{background:var(--panel);border:1px solid var(--line);border-radius:var(--r);padding:16px;min-width:0}
.card.wide{margin-bottom:16px}
.card header{display:flex;align-items:center;justify-content:space-between;gap:8px;margin-bottom:10px}
.stat{font-size:28px;font-weight:650;letter-spacing:-.02em}.stat.bad{color:var(--bad)}.sub{color:var(--muted);font-size:12.5px}
.label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em;font-weight:600}
.kv{display:grid;grid-template-columns:auto 1fr;gap:4px 14px;margin:0}.kv dt{color:var(--muted)}.kv dd{margin:0;min-width:0;overflow-wrap:anywhere}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;background:var(--muted);margin-right:6px}
.dot.ok{background:var(--ok)}.dot.bad{background:var(--bad)}.dot.warn{background:var(--warn)}
.badge{display:inline-block;padding:1px 8px;border-radius:99px;font-size:12px;font-weight:600;background:var(--soft);color:var(--muted)}
.badge.ok{background:var(--ok-soft);color:var(--ok)}.badge.bad{background:var(--bad-soft);color:var(--bad)}
.badge.warn{background:var(--warn-soft);color:var(--warn)}.badge.info{background:var(--accent-soft);color:var(--accent)}
.health{display:flex;align-items:center;gap:10px;padding:10px 12px;border-radius:8px;background:var(--soft);margin-bottom:8px}
.health.ok{background:var(--ok-soft)}.health.bad{background:var(--bad-soft)}.health .sub{margin-left:auto;text-align:right}
.meter{margin:10px 0}.meter .row{display:flex;justify-content:space-between;font-size:13px;margin-bottom:4px}
.meter svg{display:block;width:100%;height:8px;border-radius:4px;overflow:hidden}
.meter.compact{display:grid;grid-template-columns:1fr 52px;align-items:center;gap:8px;margin:5px 0;min-width:120px}.meter.compact span{text-align:right;font-size:12px}
.track{fill:var(--soft)}.fill{fill:var(--accent)}.fill.warn{fill:var(--warn)}.fill.bad{fill:var(--bad)}.fill.ok{fill:var(--ok)}
.chart svg{display:block;width:100%;height:auto}
.chart .axis{display:flex;justify-content:space-between;color:var(--muted);font-size:11.5px;padding-left:7.8%}
.grid-line{stroke:var(--line);stroke-width:1}.tick{fill:var(--muted);font-size:11px}
.bar-req{fill:var(--accent);opacity:.75}.bar-err{fill:var(--bad)}.hit{fill:transparent}.hit:hover{fill:var(--soft);opacity:.5}
.line{fill:none;stroke:var(--warn);stroke-width:2;stroke-linejoin:round}.pt{fill:var(--warn)}
.legend{display:flex;gap:14px;color:var(--muted);font-size:12px}.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.legend .req{background:var(--accent)}.legend .err{background:var(--bad)}.legend .p95{background:var(--warn)}
table.data{width:100%;border-collapse:collapse;font-size:13px}
.data th{text-align:left;color:var(--muted);font-weight:600;font-size:12px;padding:8px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
.data td{padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
.data tr:last-child td{border-bottom:0}.data tr.hl td{background:var(--accent-soft)}
.data .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.data .path{max-width:460px;overflow-wrap:anywhere}.nowrap{white-space:nowrap}
.scroll{overflow-x:auto}
.st{display:inline-block;min-width:42px;text-align:center;border-radius:6px;padding:1px 6px;font-weight:650;font-size:12px}
.s2{background:var(--ok-soft);color:var(--ok)}.s3{background:var(--accent-soft);color:var(--accent)}
.s4{background:var(--warn-soft);color:var(--warn)}.s5{background:var(--bad-soft);color:var(--bad)}
.sub.bad{color:var(--bad)}.err-msg{color:var(--bad);font-size:12px;margin-top:2px}
form.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end;margin-bottom:14px}
form.filters label{display:flex;flex-direction:column;gap:3px;font-size:12px;color:var(--muted);font-weight:600}
input,select,button{font:inherit;color:inherit}
input[type=text],input[type=search],input[type=email],input[type=password],select{background:var(--panel);border:1px solid var(--line);border-radius:7px;padding:6px 9px;min-width:0}
input:focus,select:focus,button:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
.btn{display:inline-block;border:1px solid var(--line);background:var(--panel);border-radius:7px;padding:6px 12px;cursor:pointer;font-weight:600;color:var(--text)}
.btn:hover{background:var(--soft);text-decoration:none}.btn.primary{background:var(--accent);border-color:var(--accent);color:#fff}
.btn.primary:hover{filter:brightness(1.07)}.btn.link{border:0;background:none;color:var(--accent);padding:0;font-weight:500}
.btn[disabled]{opacity:.6;cursor:progress}
.check{flex-direction:row!important;align-items:center;gap:6px!important;padding-bottom:7px}
.pager{display:flex;gap:10px;align-items:center;justify-content:space-between;margin-top:12px;color:var(--muted)}
.empty{text-align:center;color:var(--muted);padding:28px 16px}.empty strong{display:block;color:var(--text);margin-bottom:4px}
.alert{border-radius:8px;padding:10px 14px;margin-bottom:14px;border:1px solid transparent}
.alert.bad{background:var(--bad-soft);color:var(--bad)}.alert.warn{background:var(--warn-soft);color:var(--warn)}
.alert.ok{background:var(--ok-soft);color:var(--ok)}.alert.info{background:var(--accent-soft);color:var(--accent)}
.jobs{display:grid;gap:16px;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));margin-bottom:16px}
.job .kv{margin:10px 0}.job p{margin:4px 0 0;color:var(--muted)}
details.group{border-bottom:1px solid var(--line)}details.group:last-child{border-bottom:0}
details.group summary{display:grid;grid-template-columns:1fr auto auto auto;gap:14px;align-items:center;padding:10px 4px;cursor:pointer;list-style:none}
details.group summary::-webkit-details-marker{display:none}
details.group summary::before{content:"\\25B8";color:var(--muted);position:absolute;margin-left:-14px}
details.group[open] summary::before{content:"\\25BE"}
details.group summary{position:relative;padding-left:18px}
details.group ul{margin:0 0 12px 18px;padding:0;list-style:none}details.group li{padding:6px 10px;background:var(--soft);border-radius:6px;margin-bottom:6px;overflow-wrap:anywhere}
.muted{color:var(--muted)}.right{text-align:right}.toolbar{display:flex;align-items:center;gap:12px;margin-bottom:14px;flex-wrap:wrap}
.toolbar h1{margin:0;margin-right:auto}.toolbar .check{padding:0}
.login{max-width:380px;margin:9vh auto;padding:0 16px}.login .card{padding:26px}
.login form{display:flex;flex-direction:column;gap:12px}.login label{display:flex;flex-direction:column;gap:4px;font-weight:600;font-size:13px}
.login .btn{padding:9px}.login .brand{display:block;text-align:center;margin-bottom:18px;font-size:20px}
footer{max-width:1240px;margin:0 auto;padding:6px 20px 30px;color:var(--muted);font-size:12px}
@media (max-width:640px){main{padding:12px}.grid.two{grid-template-columns:1fr}.stat{font-size:23px}.who .email{display:none}
details.group summary{grid-template-columns:1fr auto}details.group summary .hide-sm{display:none}}
`;

const SCRIPT = `(function () {
  'use strict';
  var FORMATS = {
    datetime: { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' },
    date: { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' },
    time: { hour: '2-digit', minute: '2-digit' }
  };
  function utc(d) { return d.toISOString().replace('T', ' ').replace(/\\.\\d+Z$/, ' UTC'); }
  // Server-rendered times are UTC; show them in the viewer's zone and keep UTC on hover.
  function localise(root) {
    var els = root.querySelectorAll('time[datetime]');
    for (var i = 0; i < els.length; i++) {
      var el = els[i], d = new Date(el.getAttribute('datetime'));
      if (isNaN(d.getTime())) continue;
      var f = FORMATS[el.getAttribute('data-format') || 'datetime'];
      if (f) el.textContent = new Intl.DateTimeFormat(undefined, f).format(d);
      el.title = utc(d);
    }
  }
  localise(document);
  var zone = document.querySelector('[data-zone]');
  if (zone) zone.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';

  // Buttons that start work (Run now) show that it is running and are not pressed twice.
  document.addEventListener('submit', function (e) {
    var b = e.target.querySelector('button[data-busy]');
    if (b) { b.disabled = true; b.textContent = b.getAttribute('data-busy'); }
  });

  // Auto-refresh: re-fetch this page and swap its live region, every few seconds while ticked.
  var toggle = document.querySelector('input[data-auto-refresh]');
  if (!toggle || toggle.getAttribute('data-refreshable') !== 'yes') return;
  var KEY = 'opsbase.autoRefresh', timer = null, note = document.querySelector('[data-refresh-note]');
  var every = Number(toggle.getAttribute('data-auto-refresh')) || 5000;
  function say(text, bad) { if (note) { note.textContent = text; note.className = bad ? 'sub bad' : 'sub'; } }
  function tick() {
    fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } }).then(function (res) {
      if (res.redirected || res.status === 401 || res.status === 403) { location.reload(); return null; }
      if (!res.ok) throw new Error('the server answered ' + res.status);
      return res.text();
    }).then(function (html) {
      if (html === null) return;
      var fresh = new DOMParser().parseFromString(html, 'text/html').querySelectorAll('[data-live]');
      var current = document.querySelectorAll('[data-live]');
      for (var i = 0; i < current.length && i < fresh.length; i++) { current[i].replaceWith(fresh[i]); localise(fresh[i]); }
      say('updated ' + new Date().toLocaleTimeString());
    }).catch(function (err) { say('refresh failed: ' + err.message, true); });
  }
  function set(on) {
    toggle.checked = on;
    clearInterval(timer);
    timer = on ? setInterval(tick, every) : null;
    try { localStorage.setItem(KEY, on ? '1' : '0'); } catch (e) {}
    say(on ? 'refreshing every ' + every / 1000 + ' s' : '');
  }
  toggle.disabled = false;
  toggle.addEventListener('change', function () { set(toggle.checked); });
  var saved = null;
  try { saved = localStorage.getItem(KEY); } catch (e) {}
  set(saved === '1');
})();
`;

/** A short content hash (FNV-1a) for cache-busting asset URLs. */
function contentHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

export type DashboardAsset = { body: string; type: string; version: string };

/** The files under /admin/assets/, by name. */
export const DASHBOARD_ASSETS: Record<string, DashboardAsset> = {
  'dashboard.css': { body: CSS.trim(), type: 'text/css; charset=utf-8', version: contentHash(CSS) },
  'dashboard.js': { body: SCRIPT, type: 'text/javascript; charset=utf-8', version: contentHash(SCRIPT) },
};

/** The URL of an asset with its content hash, so browsers may cache it for good. */
export function assetUrl(name: keyof typeof DASHBOARD_ASSETS & string): string {
  return `/admin/assets/${name}?v=${DASHBOARD_ASSETS[name]?.version ?? '0'}`;
}
