// Nines NOC wall: renders the board pushed over Server-Sent Events.
// Plain JavaScript, no libraries; every value is set with textContent.
//
// The layout fits what there is to the screen: worst states first; when
// the tiles do not fit they shrink to one line each, then the healthy
// ones fold into a summary line, then what is still left out is counted
// in a "+N more" line. Incidents come by priority, then the oldest first,
// and those that do not fit are counted the same way.
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
  // How often the wall checks (and, for a kiosk session, renews) its
  // session: a quarter of the session lifetime, at most every minute.
  var RENEW_EVERY = Math.max(500, Math.min(60000, (parseFloat(root.dataset.renew || '0') || 240) * 1000 / 4));
  var board = JSON.parse(root.dataset.board);
  var lastMessage = Date.now();
  var live = false;
  var ended = null; // why the session ended, once it has
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
  var PRIOS = ['P1', 'P2', 'P3', 'P4'];
  var clockFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short' });

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
  function rank(state) { var i = ORDER.indexOf(state); return i < 0 ? 2 : i; }
  function worstFirst(list) {
    return list.map(function (x, i) { return [x, i]; })
      .sort(function (a, b) { return rank(a[0].state) - rank(b[0].state) || a[1] - b[1]; })
      .map(function (p) { return p[0]; });
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
  function named(cls, text) { var e = el('span', cls, text); e.title = text; return e; }

  function tile(item, details) {
    var t = el('div', 'tile st-' + item.state);
    t.dataset.name = item.name; t.dataset.state = item.state;
    var head = el('div', 'tile-head');
    head.appendChild(icon(item.state));
    head.appendChild(named('tile-name', item.name));
    head.appendChild(el('span', 'tile-state', LABELS[item.state] || item.state.toUpperCase()));
    t.appendChild(head);
    details.forEach(function (d) { t.appendChild(d); });
    return t;
  }

  function serviceTile(s) {
    var details = [];
    details.push(el('div', 'tile-detail', s.components_down > 0 ? s.components_down + ' of ' + s.components + ' components down'
      : s.components + (s.components === 1 ? ' component' : ' components')));
    if (s.availability !== undefined) {
      details.push(el('div', 'tile-avail', '30 d ' + pct(s.availability) + ' / objective ' + pct(s.objective)));
      var bar = el('div', 'budget'); bar.setAttribute('role', 'meter');
      var left = Math.max(0, Math.min(1, s.budget_remaining));
      bar.setAttribute('aria-valuenow', String(Math.round(left * 100)));
      bar.setAttribute('aria-valuemin', '0'); bar.setAttribute('aria-valuemax', '100');
      bar.setAttribute('aria-label', 'error budget left');
      var fill = el('div', 'budget-fill' + (left < 0.25 ? ' low' : ''));
      fill.style.width = (left * 100).toFixed(1) + '%';
      bar.appendChild(fill);
      details.push(bar);
    } else {
      details.push(el('div', 'tile-avail', 'objective ' + pct(s.objective)));
    }
    // The budget is gone or burning fast enough to go before the window ends.
    if (s.at_risk) details.push(el('div', 'tile-detail tile-risk', 'SLA at risk' + (s.burn_rate ? ' · burn ' + s.burn_rate.toFixed(1) + 'x' : '')));
    return link('/ui/services/' + encodeURIComponent(s.name), tile(s, details));
  }

  function groupTile(g) {
    var parts = [];
    ORDER.forEach(function (st) { if (g.counts[st]) parts.push(g.counts[st] + ' ' + st); });
    return tile(g, [el('div', 'tile-detail', parts.join(' · '))]);
  }

  function who(i) {
    if (i.assignee) return i.assignee;
    if (i.acknowledged_by) return 'ack ' + i.acknowledged_by;
    return i.status === 'acknowledged' ? 'acknowledged' : 'unowned';
  }
  function timerText(kind, left) { return left < 0 ? kind + ' OVERDUE ' + dur(-left) : kind + ' in ' + dur(left); }

  function incidentItem(i, now) {
    var li = el('li', 'incident inc-' + i.priority + ' is-' + i.status);
    li.dataset.id = String(i.id); li.dataset.priority = i.priority;
    var top = el('div', 'incident-top');
    top.appendChild(el('span', 'prio prio-' + i.priority, i.priority));
    var title = named('incident-title', i.title);
    top.appendChild(opts.controls ? (function () { var a = el('a'); a.href = '/ui/incidents/' + i.id; a.appendChild(title); return a; })() : title);
    var age = el('span', 'age', dur(now - Date.parse(i.opened_at)));
    age.dataset.since = i.opened_at;
    age.title = 'open since ' + new Date(i.opened_at).toLocaleString();
    top.appendChild(age);
    li.appendChild(top);
    var meta = el('div', 'incident-meta');
    // Where it is, and the services it hits (from the service catalogue).
    var where = i.title.indexOf(i.target || '\u0000') < 0 ? (i.target || '') : '';
    var hit = (i.services || (i.service ? [i.service] : [])).filter(function (s) { return s !== i.target; });
    if (hit.length) where = (where ? where + ' → ' : '') + hit.join(', ');
    if (where) meta.appendChild(named('where', where));
    var w = el('span', 'who' + (i.assignee || i.acknowledged_by || i.status === 'acknowledged' ? '' : ' nobody'), who(i));
    meta.appendChild(w);
    // The nearer of the two deadlines: respond until acknowledged, then resolve.
    var due = i.respond_due ? ['respond', i.respond_due] : i.resolve_due ? ['resolve', i.resolve_due] : null;
    if (due) {
      var left = Date.parse(due[1]) - now;
      var span = el('span', 'timer' + (left < 0 ? ' breached' : ''), timerText(due[0], left));
      span.dataset.due = due[1]; span.dataset.kind = due[0];
      meta.appendChild(span);
    }
    li.appendChild(meta);
    return li;
  }

  function overflows(box) { return box.scrollHeight > box.clientHeight + 1; }
  // firstBelow is the index of the first of items that ends below box's
  // content, or -1: one layout pass instead of one per item.
  function firstBelow(items, box) {
    var limit = box.getBoundingClientRect().bottom - parseFloat(getComputedStyle(box).paddingBottom);
    for (var i = 0; i < items.length; i++) if (items[i].getBoundingClientRect().bottom > limit + 0.5) return i;
    return -1;
  }

  function countBy(list, key, order) {
    var c = {};
    list.forEach(function (x) { c[x[key]] = (c[x[key]] || 0) + 1; });
    return order.filter(function (k) { return c[k]; }).map(function (k) { return c[k] + ' ' + k; }).join(', ');
  }

  // A section of tiles: what to show, how, and what was left out.
  function Section(id, items, make, noun) {
    this.box = document.getElementById(id);
    this.page = this.box.parentNode;
    this.summary = document.getElementById(id + '-summary');
    this.more = document.getElementById(id + '-more');
    this.items = worstFirst(items);
    this.make = make;
    this.noun = noun;
  }
  Section.prototype.render = function (foldUp) {
    var shown = foldUp ? this.items.filter(function (x) { return x.state !== 'up'; }) : this.items;
    var up = this.items.length - shown.length;
    this.shown = shown;
    this.box.replaceChildren.apply(this.box, shown.map(this.make));
    this.summary.hidden = up === 0;
    this.summary.replaceChildren();
    if (up > 0) { this.summary.appendChild(icon('up')); this.summary.appendChild(el('span', '', up + ' more ' + this.noun + ' UP')); }
    this.more.hidden = true;
  };
  // trim drops tiles from the end while box overflows, counting them.
  Section.prototype.trim = function (box) {
    var left = [];
    // Drop at once what lies below the box, then one by one while the
    // "+N more" line itself does not fit.
    var cut = firstBelow(this.box.children, box);
    while (cut >= 0 && this.box.children.length > cut) {
      this.box.removeChild(this.box.lastChild);
      left.unshift(this.shown[this.box.children.length]);
    }
    if (left.length) {
      this.more.hidden = false;
      this.more.textContent = '+' + left.length + ' more ' + this.noun + ': ' + countBy(left, 'state', ORDER);
    }
    while (overflows(box) && this.box.lastChild) {
      this.box.removeChild(this.box.lastChild);
      left.unshift(this.shown[this.box.children.length]);
      this.more.hidden = false;
      this.more.textContent = '+' + left.length + ' more ' + this.noun + ': ' + countBy(left, 'state', ORDER);
    }
  };

  var sections = [];
  var rotation = 0; // the section shown when pages rotate
  function layout() {
    var pages = document.querySelector('.pages');
    sections.forEach(function (s, i) { s.page.hidden = s.items.length === 0 || (opts.rotate > 0 && i !== rotation); });
    var visible = sections.filter(function (s) { return !s.page.hidden; });
    root.classList.remove('compact');
    visible.forEach(function (s) { s.render(false); });
    if (overflows(pages)) root.classList.add('compact');
    if (overflows(pages)) visible.forEach(function (s) { s.render(true); });
    // Left out first from the last section (sites), then the first.
    for (var i = visible.length - 1; i >= 0 && overflows(pages); i--) visible[i].trim(pages);
    layoutIncidents();
    root.dataset.layout = window.innerWidth + 'x' + window.innerHeight; // tests wait for it
  }

  function layoutIncidents() {
    var now = Date.now();
    var panel = document.querySelector('.incidents-panel');
    var list = document.getElementById('incidents');
    var incs = board.incidents.slice().sort(function (a, b) {
      return PRIOS.indexOf(a.priority) - PRIOS.indexOf(b.priority) || Date.parse(a.opened_at) - Date.parse(b.opened_at) || a.id - b.id;
    });
    list.replaceChildren.apply(list, incs.map(function (i) { return incidentItem(i, now); }));
    var active = board.active || countsOf(incs);
    var total = PRIOS.reduce(function (n, p) { return n + (active[p] || 0); }, 0);
    document.getElementById('incident-count').textContent = '(' + total + ')';
    document.getElementById('incidents-clear').hidden = total > 0;
    var more = document.getElementById('incidents-more');
    var say = function () {
      var shown = countsOf(incs.slice(0, list.children.length));
      var parts = PRIOS.filter(function (p) { return (active[p] || 0) > (shown[p] || 0); })
        .map(function (p) { return (active[p] - (shown[p] || 0)) + ' ' + p; });
      more.hidden = parts.length === 0;
      more.textContent = '+' + (total - list.children.length) + ' more: ' + parts.join(', ');
    };
    var cut = firstBelow(list.children, panel);
    while (cut >= 0 && list.children.length > cut) list.removeChild(list.lastChild);
    say();
    while (overflows(panel) && list.lastChild) { list.removeChild(list.lastChild); say(); }
  }
  function countsOf(incs) {
    var c = {};
    incs.forEach(function (i) { c[i.priority] = (c[i.priority] || 0) + 1; });
    return c;
  }

  function render() {
    var services = board.services.filter(function (s) { return wanted(s.group || ''); });
    var groups = board.groups.filter(function (g) { return wanted(g.name); });
    sections = [new Section('services', services, serviceTile, 'services'), new Section('groups', groups, groupTile, 'sites')];
    document.getElementById('nothing').hidden = services.length + groups.length > 0;
    var counts = document.getElementById('counts');
    var parts = [];
    ORDER.forEach(function (st) {
      var n = board.counts[st] || 0;
      if (!n && st !== 'up' && st !== 'down') return;
      var c = el('span', 'count st-' + st); c.appendChild(icon(st)); c.appendChild(el('span', '', n + ' ' + st));
      parts.push(c);
    });
    counts.replaceChildren.apply(counts, parts);
    layout();
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

  // The connection indicator and the banners say one thing: live, stale
  // (no news for a while) or ended (the session is gone, in words).
  function showStatus(now) {
    var conn = document.getElementById('conn');
    var stale = !ended && now - lastMessage > STALE_AFTER;
    var endedBox = document.getElementById('ended');
    endedBox.hidden = !ended;
    if (ended) endedBox.textContent = 'This wall is signed out: ' + ended + ' It no longer updates. Open it again with a valid token (/ui/wall?token=…) or log in.';
    var banner = document.getElementById('stale');
    banner.hidden = !stale;
    root.classList.toggle('is-stale', stale || !!ended);
    if (stale) banner.textContent = 'STALE: no update from the collector since ' + new Date(lastMessage).toLocaleTimeString() + ' (' + dur(now - lastMessage) + ' ago). Showing the last known state.';
    if (ended) { conn.textContent = 'signed out'; conn.className = 'conn down'; }
    else if (stale) { conn.textContent = 'no updates'; conn.className = 'conn down'; }
    else if (live) { conn.textContent = 'live'; conn.className = 'conn live'; }
    else { conn.textContent = 'reconnecting…'; conn.className = 'conn'; }
  }

  // Live clock, countdowns and staleness, every second.
  function tick() {
    var now = Date.now();
    document.getElementById('clock').textContent = clockFormat.format(new Date(now));
    document.querySelectorAll('.timer').forEach(function (t) {
      var left = Date.parse(t.dataset.due) - now;
      t.textContent = timerText(t.dataset.kind, left);
      t.classList.toggle('breached', left < 0);
    });
    document.querySelectorAll('.age').forEach(function (a) { a.textContent = dur(now - Date.parse(a.dataset.since)); });
    showStatus(now);
  }

  // checkSession asks why the session is no longer valid (and renews a
  // kiosk session that still is); then calls done(valid).
  function checkSession(done) {
    fetch('/ui/session', { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      return r.json().then(function (body) {
        if (r.status === 401) { ended = body.ended || 'the session is no longer valid.'; live = false; }
        else if (r.ok) ended = null;
        showStatus(Date.now());
        if (done) done(r.ok);
      });
    }).catch(function () { if (done) done(true); }); // collector away: the stream says so
  }

  var source = null;
  function connect() {
    source = new EventSource('/ui/events');
    source.onopen = function () { live = true; };
    source.addEventListener('board', function (e) {
      board = JSON.parse(e.data);
      lastMessage = Date.now(); live = true;
      render();
      showStatus(lastMessage);
    });
    source.addEventListener('ping', function () { lastMessage = Date.now(); live = true; showStatus(lastMessage); });
    source.onerror = function () {
      live = false;
      showStatus(Date.now());
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        // Refused: find out whether the session ended before trying again.
        checkSession(function (ok) { if (ok) setTimeout(connect, 3000); });
      }
    };
  }

  if (opts.rotate > 0) {
    setInterval(function () { rotation = (rotation + 1) % sections.length; layout(); }, opts.rotate * 1000);
  }
  if (!opts.controls) root.classList.add('kiosk');
  render();
  tick();
  setInterval(tick, 1000);
  setInterval(function () { if (!ended) checkSession(); }, RENEW_EVERY);
  var resized = null;
  window.addEventListener('resize', function () { clearTimeout(resized); resized = setTimeout(layout, 100); });
  connect();
})();
