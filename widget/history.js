/* ticker widget-history.js: data-history's panel (README: "The widget"), a 30-day sparkline of a rate on hover,
 * focus or Enter/Space, until the pointer and focus leave or Escape. Only pages with a data-history strip pay for
 * it: widget.js loads this (its versioned URL, next to itself) the first time such a strip mounts, and hands it
 * each one through TickerWidget.history. widget/build.mjs minifies it to ticker/static/widget-history.js with the
 * same property names as widget.js (the widget object's fields are shared). */
(function () {
  "use strict";
  var api = window.TickerWidget;

  /** the panel for this rate item (null: none) */
  function chart(widget, node) {
    var panel = widget.chart;
    var code = node ? node.getAttribute("data-key").slice(5) : "";
    if (widget.shown) widget.shown.setAttribute("aria-expanded", "false");
    widget.shown = node;
    widget.charted = code;
    panel.hidden = !code;
    if (!code) return;
    node.setAttribute("aria-expanded", "true");
    var now = Date.now() + 18e6; // Astana's date (UTC+5)
    var from = day(now - widget.history * 864e5);
    var key = code + from;
    var got = widget.histories[key];
    if (Array.isArray(got)) return draw(widget, code, from, got);
    panel.textContent = code + ", " + widget.history + " " + widget.words.days + ": " + widget.words.loading;
    place(widget);
    if (got) return;
    var url = api.base + "v1/rates/history?currency=" + encodeURIComponent(code) + "&from=" + from + "&to=" + day(now);
    widget.histories[key] = fetch(url, { credentials: "omit" })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (body) { return body.rates; })
      .catch(function (err) {
        console.warn("ticker: " + url + ": " + err.message);
        return [];
      })
      .then(function (rates) {
        widget.histories[key] = rates;
        // what arrived is said: a description that changes is not announced
        if (widget.charted === code) widget.live.textContent = draw(widget, code, from, rates);
      });
  }

  /** under its item, inside the strip's width (by transform: no layout shift) */
  function place(widget) {
    var panel = widget.chart;
    var left = widget.strip.getBoundingClientRect().left;
    var x = widget.shown.getBoundingClientRect().left - left;
    panel.style.transform = "translateX(" + Math.max(0, Math.min(x, widget.strip.clientWidth - panel.offsetWidth)) + "px)";
  }

  function day(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  function draw(widget, code, from, rates) {
    var values = rates.map(function (r) { return r.rate; });
    var min = Math.min.apply(Math, values);
    var range = Math.max.apply(Math, values) - min || 1;
    var start = Date.parse(from);
    var d = rates.map(function (r, i) {
      var x = ((Date.parse(r.date) - start) / (widget.history * 864e5)) * 100;
      return (i ? "L" : "M") + x.toFixed(1) + " " + (22 - ((r.rate - min) / range) * 20).toFixed(1);
    });
    var panel = widget.chart;
    var text = code + ", " + widget.history + " " + widget.words.days + ": " +
      (values.length ? api.formatRate(values[0]) + " → " + api.formatRate(values[values.length - 1]) : widget.words.none);
    panel.textContent = "";
    if (values.length) panel.appendChild(api.svg("0 0 100 24", [d.join("")]));
    panel.append(text);
    place(widget);
    return text;
  }

  /** a strip with data-history (its panel already in it, hidden): the pointer's, the keyboard's ways in and out */
  function attach(widget) {
    var strip = widget.strip;
    var root = strip.getRootNode();
    var rate = function (e) { return e.target.closest(".ticker-rate[tabindex]"); };
    var focused = function () { return root.activeElement && root.activeElement.closest(".ticker-rate[tabindex]"); };
    widget.histories = {};
    // the panel is inside the strip: the pointer can move onto it (1.4.13 hoverable)
    strip.addEventListener("mouseover", function (e) {
      if (!widget.chart.contains(e.target) && (rate(e) || e.target.closest(".ticker-item"))) chart(widget, rate(e));
    });
    strip.addEventListener("mouseleave", function () { chart(widget, focused()); });
    widget.row.addEventListener("focusin", function (e) { chart(widget, rate(e)); });
    widget.row.addEventListener("focusout", function () { chart(widget, null); });
    widget.row.addEventListener("keydown", function (e) {
      if (rate(e) && (e.key === "Enter" || e.key === " ")) {
        e.preventDefault();
        chart(widget, widget.charted ? null : rate(e));
      }
    });
    // dismissed without moving the pointer or the focus (1.4.13)
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && widget.charted) chart(widget, null);
    });
    // a rate the reader reached before this script arrived: its panel now
    var held = focused() || strip.querySelector(".ticker-rate[tabindex]:hover");
    if (held) chart(widget, held);
  }

  api.history = attach;
})();
