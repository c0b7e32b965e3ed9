// kompas: live updates. Every page works without this script; it only listens for changes the
// sync brings in and shows them: pages without a form being edited are refreshed in place,
// pages with one show a notice instead, so nobody's input is replaced.
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  var notice = document.getElementById("live-melding");
  var editing = document.querySelector("form[data-bewerk]");
  var pending = null;

  function refresh() {
    pending = null;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (!fresh || !main) return;
        var focused = document.activeElement && document.activeElement.id;
        main.innerHTML = fresh.innerHTML;
        if (focused) {
          var again = document.getElementById(focused);
          if (again) again.focus();
        }
      })
      .catch(function () {});
  }

  function onChange(event) {
    var change = {};
    try { change = JSON.parse(event.data || "{}"); } catch (e) { change = {}; }
    if (editing) {
      var doc = editing.getAttribute("data-bewerk");
      if (change.doc && change.doc !== doc) return;
      if (notice) {
        notice.textContent = "";
        var p = document.createElement("p");
        p.textContent = (change.org || "Een andere organisatie") + " heeft dit document gewijzigd. " +
          "Je invoer blijft staan; bij opslaan worden beide versies samengevoegd.";
        var a = document.createElement("a");
        a.href = window.location.href;
        a.textContent = "Toon de nieuwe versie (je invoer gaat dan verloren)";
        p.appendChild(document.createTextNode(" "));
        p.appendChild(a);
        notice.appendChild(p);
      }
      return;
    }
    if (!pending) pending = window.setTimeout(refresh, 150);
  }

  var source = new EventSource("/live");
  source.addEventListener("wijziging", onChange);
})();
