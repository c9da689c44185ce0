// Nines NOC wall: renders the board pushed over Server-Sent Events.
// Plain JavaScript, no libraries; every value is set with textContent.
(function () {
  'use strict';
  var root = document.getElementById('wall');
  var opts = {
    groups: (root.dataset.groups || '').split(',').map(function (s) { return s.trim(); }).filter(Boolean),
    rotate: parseInt(root.dataset.rotate || '0', 10) || 0,
    controls: root.dataset.controls === 'true',
    flash: root.dataset.flash === 'true',
    sound: root.dataset.sound === 'true'
  };
  var STALE_AFTER = (parseInt(root.dataset.stale || '15', 10) || 15) * 1000;
  var board = JSON.parse(root.dataset.board);
  var lastMessage = Date.now();
  var knownP1 = null;

  // Shapes as well as colours, so state never depends on colour alone.
  var ICONS = {
    up: '<path d="M5 13l4 4L19 7"/>',
    degraded: '<path d="M12 3L22 20H2Z"/><path d="M12 9v5M12 17v.5"/>',
    down: '<path d="M6 6l12 12M18 6L6 18"/>',
    maintenance: '<path d="M9 5v14M15 5v14"/>',
    shutdown: '<path d="M12 3v8"/><path d="M6.3 7a8 8 0 1 0 11.4 0"/>',
    unknown: '<path d="M9 9a3 3 0 1 1 4 2.8c-.7.3-1 1-1 1.7V15M12 18v.5"/>'
  };
  var LABELS = { up: 'UP', degraded: 'DEGRADED', down: 'DOWN', maintenance: 'MAINTENANCE', shutdown: 'SHUT DOWN', unknown: 'UNKNOWN' };
  var ORDER = ['down', 'degraded', 'unknown', 'maintenance', 'shutdown', 'up'];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function icon(state) {
    var s = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('class', 'icon');
    s.setAttribute('aria-hidden', 'true');
    s.innerHTML = ICONS[state] || ICONS.unknown;
    return s;
  }
  function pct(r) { return (r * 100).toFixed(3).replace(/\.?0+$/, '') + ' %'; }
  function dur(ms) {
    var neg = ms < 0; ms = Math.abs(ms);
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    var out = d > 0 ? d + 'd ' + h + 'h' : h > 0 ? h + 'h ' + m + 'm' : m > 0 ? m + 'm ' + (s % 60) + 's' : s + 's';
    return neg ? '-' + out : out;
  }
  function link(href, child) {
    if (!opts.controls) return child;
    var a = el('a', 'tile-link'); a.href = href; a.appendChild(child); return a;
  }
  function wanted(group) { return opts.groups.length === 0 || opts.groups.indexOf(group) >= 0; }

  function serviceTile(s) {
    var t = el('div', 'tile st-' + s.state);
    t.dataset.name = s.name; t.dataset.state = s.state;
    var head = el('div', 'tile-head');
    head.appendChild(icon(s.state));
    head.appendChild(el('span', 'tile-name', s.name));
    t.appendChild(head);
    t.appendChild(el('div', 'tile-state', LABELS[s.state] || s.state.toUpperCase()));
    var detail = s.components_down > 0 ? s.components_down + ' of ' + s.components + ' components down'
      : s.components + (s.components === 1 ? ' component' : ' components');
    t.appendChild(el('div', 'tile-detail', detail));
    if (s.availability !== undefined) {
      t.appendChild(el('div', 'tile-avail', '30 d ' + pct(s.availability) + ' / objective ' + pct(s.objective)));
      var bar = el('div', 'budget'); bar.setAttribute('role', 'meter');
      var left = Math.max(0, Math.min(1, s.budget_remaining));
      bar.setAttribute('aria-valuenow', String(Math.round(left * 100)));
      bar.setAttribute('aria-label', 'error budget left');
      var fill = el('div', 'budget-fill' + (left < 0.25 ? ' low' : ''));
      fill.style.width = (left * 100).toFixed(1) + '%';
      bar.appendChild(fill);
      t.appendChild(bar);
      t.appendChild(el('div', 'tile-budget', 'error budget left ' + Math.round(s.budget_remaining * 100) + ' %'));
    } else {
      t.appendChild(el('div', 'tile-avail', 'objective ' + pct(s.objective)));
    }
    return link('/ui/services/' + encodeURIComponent(s.name), t);
  }

  function groupTile(g) {
    var t = el('div', 'tile st-' + g.state);
    t.dataset.name = g.name; t.dataset.state = g.state;
    var head = el('div', 'tile-head');
    head.appendChild(icon(g.state));
    head.appendChild(el('span', 'tile-name', g.name));
    t.appendChild(head);
    t.appendChild(el('div', 'tile-state', LABELS[g.state] || g.state.toUpperCase()));
    var parts = [];
    ORDER.forEach(function (st) { if (g.counts[st]) parts.push(g.counts[st] + ' ' + st); });
    t.appendChild(el('div', 'tile-detail', parts.join(' · ')));
    return t;
  }

  function incidentItem(i, now) {
    var li = el('li', 'incident inc-' + i.priority + ' is-' + i.status);
    li.dataset.id = String(i.id);
    var top = el('div', 'incident-top');
    top.appendChild(el('span', 'prio prio-' + i.priority, i.priority));
    var title = el('span', 'incident-title', i.title);
    top.appendChild(opts.controls ? (function () { var a = el('a'); a.href = '/ui/incidents/' + i.id; a.appendChild(title); return a; })() : title);
    li.appendChild(top);
    var meta = el('div', 'incident-meta');
    meta.appendChild(el('span', '', (i.target || i.service || '') + ' · open '));
    var age = el('span', 'age', dur(now - Date.parse(i.opened_at)));
    age.dataset.since = i.opened_at;
    meta.appendChild(age);
    if (i.status === 'acknowledged') meta.appendChild(el('span', 'ack', ' · acknowledged'));
    li.appendChild(meta);
    var timers = el('div', 'incident-timers');
    [['respond', i.respond_due], ['resolve', i.resolve_due]].forEach(function (p) {
      if (!p[1]) return;
      var left = Date.parse(p[1]) - now;
      var span = el('span', 'timer' + (left < 0 ? ' breached' : ''), left < 0 ? p[0] + ' OVERDUE ' + dur(-left) : p[0] + ' in ' + dur(left));
      span.dataset.due = p[1]; span.dataset.kind = p[0];
      timers.appendChild(span);
    });
    li.appendChild(timers);
    return li;
  }

  function render() {
    var now = Date.now();
    var services = document.getElementById('services');
    services.replaceChildren.apply(services, board.services.filter(function (s) { return wanted(s.group || ''); }).map(serviceTile));
    var groups = document.getElementById('groups');
    groups.replaceChildren.apply(groups, board.groups.filter(function (g) { return wanted(g.name); }).map(groupTile));
    var list = document.getElementById('incidents');
    list.replaceChildren.apply(list, board.incidents.map(function (i) { return incidentItem(i, now); }));
    document.getElementById('incident-count').textContent = '(' + board.incidents.length + ')';
    var counts = document.getElementById('counts');
    var parts = [];
    ORDER.forEach(function (st) {
      var n = board.counts[st] || 0;
      if (!n && st !== 'up' && st !== 'down') return;
      var c = el('span', 'count st-' + st); c.appendChild(icon(st)); c.appendChild(el('span', '', n + ' ' + st));
      parts.push(c);
    });
    counts.replaceChildren.apply(counts, parts);
    checkP1();
  }

  function checkP1() {
    var ids = board.incidents.filter(function (i) { return i.priority === 'P1'; }).map(function (i) { return i.id; });
    if (knownP1 === null) { knownP1 = ids; return; }
    var fresh = ids.some(function (id) { return knownP1.indexOf(id) < 0; });
    knownP1 = ids;
    if (!fresh) return;
    if (opts.flash) {
      document.body.classList.add('flash');
      setTimeout(function () { document.body.classList.remove('flash'); }, 10000);
    }
    if (opts.sound) beep();
  }

  function beep() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.4, 0.8].forEach(function (at) {
        var o = ctx.createOscillator(), g = ctx.createGain();
        o.frequency.value = 880; g.gain.value = 0.2;
        o.connect(g); g.connect(ctx.destination);
        o.start(ctx.currentTime + at); o.stop(ctx.currentTime + at + 0.25);
      });
    } catch (e) { /* no audio device: the flash still shows */ }
  }

  // Live clock, countdowns and staleness, every second.
  function tick() {
    var now = Date.now();
    document.getElementById('clock').textContent = new Date(now).toLocaleTimeString();
    document.querySelectorAll('.timer').forEach(function (t) {
      var left = Date.parse(t.dataset.due) - now;
      t.textContent = left < 0 ? t.dataset.kind + ' OVERDUE ' + dur(-left) : t.dataset.kind + ' in ' + dur(left);
      t.classList.toggle('breached', left < 0);
    });
    document.querySelectorAll('.age').forEach(function (a) { a.textContent = dur(now - Date.parse(a.dataset.since)); });
    var stale = now - lastMessage > STALE_AFTER;
    var banner = document.getElementById('stale');
    banner.hidden = !stale;
    root.classList.toggle('is-stale', stale);
    if (stale) banner.textContent = 'STALE: no update from the collector since ' + new Date(lastMessage).toLocaleTimeString() + ' (' + dur(now - lastMessage) + ' ago). Showing the last known state.';
  }

  var source = null;
  function connect() {
    var conn = document.getElementById('conn');
    source = new EventSource('/ui/events');
    source.onopen = function () { conn.textContent = 'live'; conn.className = 'conn live'; };
    source.addEventListener('board', function (e) {
      board = JSON.parse(e.data);
      lastMessage = Date.now();
      render();
    });
    source.addEventListener('ping', function () { lastMessage = Date.now(); });
    source.onerror = function () {
      conn.textContent = 'reconnecting…'; conn.className = 'conn down';
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(connect, 3000);
      }
    };
  }

  if (opts.rotate > 0) {
    var pages = ['page-services', 'page-groups'], cur = 0;
    var show = function () { pages.forEach(function (p, i) { document.getElementById(p).hidden = i !== cur; }); };
    show();
    setInterval(function () { cur = (cur + 1) % pages.length; show(); }, opts.rotate * 1000);
  }
  if (!opts.controls) root.classList.add('kiosk');
  render();
  tick();
  setInterval(tick, 1000);
  connect();
})();
