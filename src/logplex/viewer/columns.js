// Lines as columns: time (HH:MM:SS.mmm, the full stamp on hover), source[dyno], message. Router
// lines (design.md §Router line) get their fields in aligned cells, and the request id becomes a
// link that searches for that id (its app line and router line together).
'use strict';
(function () {
  var FIELD_RE = /([a-z_]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  // Cells in a router line's order; their widths are in viewer.css (.f-KEY).
  var ALIGNED = [
    'at',
    'code',
    'desc',
    'method',
    'path',
    'host',
    'request_id',
    'fwd',
    'dyno',
    'connect',
    'service',
    'status',
    'bytes',
    'protocol',
  ];

  function cell(key, raw) {
    var s = document.createElement('span');
    s.className = 'f f-' + key;
    var k = document.createElement('span');
    k.className = 'k';
    k.textContent = key + '=';
    s.appendChild(k);
    if (key === 'request_id' && raw && raw !== '-') {
      var a = document.createElement('a');
      a.href = '#search=' + encodeURIComponent(raw);
      a.className = 'rid';
      a.textContent = raw;
      a.title = 'show every line of this request';
      a.addEventListener('click', function (ev) {
        ev.preventDefault();
        var input = document.getElementById('search');
        input.value = raw;
        input.dispatchEvent(new Event('change', { bubbles: true }));
      });
      s.appendChild(a);
    } else s.appendChild(document.createTextNode(raw));
    return s;
  }

  function decorate(div, l) {
    var time = div.querySelector('.time');
    var ms = Date.parse(l.time);
    if (time && !isNaN(ms)) {
      time.textContent = new Date(ms).toISOString().slice(11, 23);
      time.title = l.time;
    }
    if (l.source !== 'heroku' || l.ps !== 'router') return;
    var msg = div.querySelector('.msg');
    var m;
    var cells = [];
    FIELD_RE.lastIndex = 0;
    while ((m = FIELD_RE.exec(l.msg))) cells.push([m[1], m[2]]);
    if (!cells.length) return;
    msg.textContent = '';
    msg.classList.add('fields');
    cells.forEach(function (c) {
      var key = ALIGNED.indexOf(c[0]) >= 0 ? c[0] : 'other';
      var node = cell(c[0], c[1]);
      if (key === 'other') node.className = 'f f-other';
      msg.appendChild(node);
      msg.appendChild(document.createTextNode(' '));
    });
  }

  window.SwitchyardColumns = { decorate: decorate };
})();
