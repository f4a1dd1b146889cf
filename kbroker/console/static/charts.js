/* A tiny line chart on <canvas>: several series of (time ms, value) points over the last `span` ms.
   No library: the console ships as plain files. */
"use strict";
window.LineChart = class LineChart {
  constructor(canvas, series, format, span) {
    this.canvas = canvas;
    this.series = series;          // [{name, color, points: [[t, v], ...]}]
    this.format = format;          // value -> label
    this.span = span || 120000;
  }
  push(name, t, v) {
    const s = this.series.find(x => x.name === name);
    if (!s || v === null || v === undefined || !isFinite(v)) return;
    s.points.push([t, v]);
    while (s.points.length && s.points[0][0] < t - this.span) s.points.shift();
  }
  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (c.width !== w * dpr) { c.width = w * dpr; c.height = h * dpr; }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const left = 64, right = 8, top = 8, bottom = 20;
    // the window grows with the history (at least 10 s, at most `span`), so a fresh page has lines to see
    const now = Date.now();
    let first = now;
    for (const s of this.series) if (s.points.length) first = Math.min(first, s.points[0][0]);
    const span = Math.min(this.span, Math.max(10000, now - first + 1000)), t0 = now - span;
    let max = 0;
    for (const s of this.series) for (const p of s.points) max = Math.max(max, p[1]);
    max = max > 0 ? max * 1.15 : 1;
    g.font = "11px system-ui, sans-serif";
    g.strokeStyle = "#e5e7eb"; g.fillStyle = "#6b7385"; g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = top + (h - top - bottom) * i / 4;
      g.beginPath(); g.moveTo(left, y); g.lineTo(w - right, y); g.stroke();
      g.fillText(this.format(max * (4 - i) / 4), 4, y + 4);
    }
    g.fillText("-" + Math.round(span / 1000) + " s", left, h - 5);
    g.fillText("now", w - right - 22, h - 5);
    const x = t => left + (w - left - right) * (t - t0) / span;
    const y = v => top + (h - top - bottom) * (1 - v / max);
    for (const s of this.series) {
      if (!s.points.length) continue;
      g.strokeStyle = s.color; g.lineWidth = 2; g.beginPath();
      s.points.forEach((p, i) => (i ? g.lineTo(x(p[0]), y(p[1])) : g.moveTo(x(p[0]), y(p[1]))));
      g.stroke();
    }
  }
};
