// Cubescope's spectra chart: a Streamlit custom component (v2, no iframe) drawing spectra on a
// canvas, updated in place when a run sends new data (a plotly chart in Streamlit is built anew
// whenever its figure changes). Python sends the data made by cubescope.plots.spectra_spec.
// Hover reads every spectrum's value at the nearest band; a click sends that band back (as the
// trigger "band"); a drag zooms to the dragged wavelengths, a double-click shows them all; the
// legend hides and shows spectra; "PNG" downloads the chart with its legend. From the keyboard,
// the arrow keys read the values band by band and Enter shows that band. Bad bands are shaded;
// while bad bands are edited (spec.editing) a click marks or unmarks the band under the pointer
// and a drag every band it crosses (as the trigger "bad": {bands, bad}), and Enter the band read
// from the keyboard.
// (niceTicks, formatTick and formatValue come from common.js, put before this file.)

const CHARTS = (window.__cubescopeCharts ||= {});
const DASHES = { solid: [], dot: [2, 3], dash: [6, 4], dashdot: [6, 3, 2, 3] };
const FONT = '"Source Sans Pro", sans-serif';
const SLOP = 4;  // CSS px: a shorter drag is a click

class Chart {
  constructor(parent) {
    const root = document.createElement("div");
    parent.appendChild(root);
    this.root = root;
    root.innerHTML = `
      <div class="cs-chart">
        <div class="cs-chart-bar">
          <button type="button" data-act="reset" title="Show every band (or double-click the chart)" hidden>Show all</button>
          <button type="button" data-act="png" title="Download the chart and its legend as a PNG image">PNG</button>
        </div>
        <div class="cs-chart-box">
          <canvas class="cs-chart-canvas" tabindex="0" role="application"></canvas>
          <div class="cs-chart-tip" hidden></div>
        </div>
        <div class="cs-chart-legend" role="list"></div>
      </div>`;
    this.box = root.querySelector(".cs-chart-box");
    this.canvas = root.querySelector(".cs-chart-canvas");
    this.tip = root.querySelector(".cs-chart-tip");
    this.legendBox = root.querySelector(".cs-chart-legend");
    this.resetButton = root.querySelector("[data-act=reset]");
    this.hidden = new Set();
    this.range = null;
    this.hoverIndex = null;
    this.drag = null;
    this.painted = 0;
    this.resetButton.addEventListener("click", () => this.zoom(null));
    root.querySelector("[data-act=png]").addEventListener("click", () => this.download());
    this.canvas.addEventListener("pointerdown", e => this.down(e));
    this.canvas.addEventListener("pointermove", e => this.move(e));
    this.canvas.addEventListener("pointerup", e => this.up(e));
    this.canvas.addEventListener("pointerleave", () => { if (!this.drag) this.hover(null); });
    this.canvas.addEventListener("dblclick", () => this.zoom(null));
    this.canvas.addEventListener("keydown", e => this.key(e));
    // Streamlit may move the component in the page during a run, which drops the focus without
    // a blur event: whether the chart has the keyboard is kept here.
    this.canvas.addEventListener("focus", () => { this.focused = true; });
    this.canvas.addEventListener("blur", () => { this.focused = false; this.show(null); });
    this.resize = new ResizeObserver(() => this.layout());
    this.resize.observe(this.box);
  }

  load(spec, api) {
    this.api = api;
    this.canvas.setAttribute("aria-label", "Spectra chart: the left and right arrow keys read the values band by band"
      + (spec.editing ? "; Enter marks or unmarks that band as bad." : spec.clickable ? "; Enter shows that band." : "."));
    const sameAxis = this.spec && this.spec.x.length === spec.x.length && this.spec.x.every((v, i) => v === spec.x[i]);
    if (!sameAxis) this.range = null;  // another cube
    // Reading from the keyboard goes on at the same band after the run a key started.
    const reading = sameAxis && this.focused ? this.hoverIndex : null;
    this.spec = spec;
    this.provisional = null;
    CHARTS[spec.key] = this;
    this.hoverIndex = null;
    this.tip.hidden = true;
    this.legend();
    this.layout();
    if (this.focused && document.activeElement !== this.canvas) this.canvas.focus({ preventScroll: true });
    if (reading !== null) this.show(reading);
  }

  // --- geometry -------------------------------------------------------------------------------
  layout() {
    if (!this.spec) return;
    const width = Math.max(120, this.box.clientWidth);
    const height = this.spec.height;
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    this.size = { width, height, ratio };
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.draw();
  }

  visible() {
    const shown = this.spec.traces.filter(t => !this.hidden.has(t.name));
    return this.provisional ? [...shown, this.provisional] : shown;
  }

  // Show band `index`: the viewer whose band this chart picks paints it at once (held, or its
  // preview), and the server is asked for the band.
  pick(index) {
    const viewer = (window.__cubescopeViewers || {})[this.spec.band_viewer];
    if (viewer) viewer.paintBand(index);
    this.api.setTriggerValue("band", index);
  }

  // A spectrum drawn until the next run's data arrive (the viewer's preview of a clicked pixel).
  preview(trace) {
    if (!this.spec) return;
    this.provisional = trace;
    this.draw();
  }

  // The shown wavelengths (the zoom, or all) and the values' range over them.
  domain() {
    const { x } = this.spec;
    const finite = x.filter(Number.isFinite);
    let [x0, x1] = this.range || [Math.min(...finite), Math.max(...finite)];
    if (!(x1 > x0)) { x0 -= 0.5; x1 += 0.5; }
    let lo = Infinity, hi = -Infinity;
    for (const t of this.visible()) {
      for (let i = 0; i < x.length; i++) {
        if (x[i] < x0 || x[i] > x1 || t.y[i] === null) continue;
        const s = t.spread && t.spread[i] !== null ? t.spread[i] : 0;
        lo = Math.min(lo, t.y[i] - s);
        hi = Math.max(hi, t.y[i] + s);
      }
    }
    if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
    if (!(hi > lo)) { const d = Math.abs(lo) * 0.05 || 1; lo -= d; hi += d; }
    const pad = (hi - lo) * 0.05;
    return { x0, x1, y0: lo - pad, y1: hi + pad };
  }

  frame() {
    const d = this.domain();
    const { width, height } = this.size;
    const yTicks = niceTicks(d.y0, d.y1, Math.max(3, Math.floor(height / 60)));
    const g = this.canvas.getContext("2d");
    g.font = `12px ${FONT}`;
    const labelWidth = Math.max(...yTicks.map(v => g.measureText(formatTick(v)).width));
    const left = Math.ceil(labelWidth) + 30, right = 14, top = 10, bottom = 44;
    const w = Math.max(20, width - left - right), h = Math.max(20, height - top - bottom);
    return {
      ...d, left, top, w, h, yTicks,
      X: v => left + ((v - d.x0) / (d.x1 - d.x0)) * w,
      Y: v => top + (1 - (v - d.y0) / (d.y1 - d.y0)) * h,
      value: px => d.x0 + ((px - left) / w) * (d.x1 - d.x0),
    };
  }

  // --- drawing --------------------------------------------------------------------------------
  draw() {
    if (!this.size) return;
    const g = this.canvas.getContext("2d");
    this.paint(g, this.size);
    this.canvas.dataset.drawn = String(this.visible().length);
    this.canvas.dataset.painted = String(++this.painted);
    this.resetButton.hidden = this.range === null;
  }

  paint(g, { width, height, ratio }) {
    const f = this.frame();
    const { x, breaks } = this.spec;
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, width, height);
    g.font = `12px ${FONT}`;
    g.lineWidth = 1;
    // Grid and ticks.
    g.strokeStyle = "#e6e9ef";
    g.fillStyle = "#31333f";
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (const v of f.yTicks) {
      const y = Math.round(f.Y(v)) + 0.5;
      g.beginPath(); g.moveTo(f.left, y); g.lineTo(f.left + f.w, y); g.stroke();
      g.fillText(formatTick(v), f.left - 6, y);
    }
    g.textAlign = "center";
    g.textBaseline = "top";
    // As many x ticks as fit their labels side by side.
    let count = Math.max(3, Math.floor(f.w / 90));
    let xTicks = niceTicks(f.x0, f.x1, count);
    while (count > 1 && xTicks.length > 1
           && f.w / xTicks.length < Math.max(...xTicks.map(v => g.measureText(formatTick(v)).width)) + 10) {
      xTicks = niceTicks(f.x0, f.x1, --count);
    }
    for (const v of xTicks) {
      const px = Math.round(f.X(v)) + 0.5;
      g.beginPath(); g.moveTo(px, f.top); g.lineTo(px, f.top + f.h); g.stroke();
      g.fillText(formatTick(v), px, f.top + f.h + 5);
    }
    g.fillText(this.spec.x_title, f.left + f.w / 2, f.top + f.h + 24);
    g.save();
    g.translate(12, f.top + f.h / 2);
    g.rotate(-Math.PI / 2);
    g.textBaseline = "middle";
    g.fillText(this.spec.y_title, 0, 0);
    g.restore();
    g.strokeStyle = "#b9bdc7";
    g.strokeRect(f.left + 0.5, f.top + 0.5, f.w, f.h);

    g.save();
    g.beginPath();
    g.rect(f.left, f.top, f.w, f.h);
    g.clip();
    for (const m of this.spec.marks) {  // the band the image shows
      g.setLineDash([5, 4]);
      g.strokeStyle = m.colour;
      g.lineWidth = 1.2;
      g.beginPath(); g.moveTo(f.X(m.x), f.top); g.lineTo(f.X(m.x), f.top + f.h); g.stroke();
    }
    g.setLineDash([]);
    this.shadeBadBands(g, f);
    const broken = new Set(breaks);
    // Runs of bands a line joins: it breaks at a missing value and where a second spectrometer begins.
    const runs = (ok) => {
      const out = [];
      let run = [];
      for (let i = 0; i < x.length; i++) {
        if (broken.has(i) || !ok(i)) { if (run.length) out.push(run); run = []; }
        if (ok(i)) run.push(i);
      }
      if (run.length) out.push(run);
      return out;
    };
    for (const t of this.visible()) {
      if (!t.spread) continue;
      g.globalAlpha = 0.2;
      g.fillStyle = t.colour;
      for (const run of runs(i => t.y[i] !== null && t.spread[i] !== null)) {
        g.beginPath();
        run.forEach((i, k) => (k ? g.lineTo : g.moveTo).call(g, f.X(x[i]), f.Y(t.y[i] + t.spread[i])));
        for (let k = run.length - 1; k >= 0; k--) g.lineTo(f.X(x[run[k]]), f.Y(t.y[run[k]] - t.spread[run[k]]));
        g.closePath();
        g.fill();
      }
      g.globalAlpha = 1;
    }
    for (const t of this.visible()) {
      g.strokeStyle = t.colour;
      g.fillStyle = t.colour;
      g.lineWidth = 1.6;
      g.setLineDash(DASHES[t.dash] || []);
      g.beginPath();
      for (const run of runs(i => t.y[i] !== null)) {
        run.forEach((i, k) => (k ? g.lineTo : g.moveTo).call(g, f.X(x[i]), f.Y(t.y[i])));
      }
      g.stroke();
      g.setLineDash([]);
      for (const i of t.markers) {
        g.beginPath(); g.arc(f.X(x[i]), f.Y(t.y[i]), 3, 0, 2 * Math.PI); g.fill();
      }
    }
    if (this.hoverIndex !== null && g === this.canvas.getContext("2d")) {
      const px = f.X(x[this.hoverIndex]);
      g.strokeStyle = "#6b6f7a";
      g.lineWidth = 1;
      g.beginPath(); g.moveTo(px, f.top); g.lineTo(px, f.top + f.h); g.stroke();
      for (const t of this.visible()) {
        const v = t.y[this.hoverIndex];
        if (v === null) continue;
        g.fillStyle = t.colour;
        g.beginPath(); g.arc(px, f.Y(v), 3.5, 0, 2 * Math.PI); g.fill();
      }
    }
    if (this.drag && this.drag.moved) {
      const a = Math.min(this.drag.x, this.drag.now), b = Math.max(this.drag.x, this.drag.now);
      g.fillStyle = this.spec.editing ? "rgba(214, 39, 40, 0.18)" : "rgba(49, 51, 63, 0.12)";
      g.fillRect(a, f.top, b - a, f.h);
    }
    g.restore();
  }

  // Each bad band as a grey column reaching half-way to its neighbours.
  shadeBadBands(g, f) {
    const { x, bad } = this.spec;
    if (!bad || !bad.length) return;
    g.fillStyle = this.spec.editing ? "rgba(214, 39, 40, 0.16)" : "rgba(49, 51, 63, 0.08)";
    for (const i of bad) {
      const here = f.X(x[i]);
      const before = i > 0 ? (here + f.X(x[i - 1])) / 2 : here - 2;
      const after = i < x.length - 1 ? (here + f.X(x[i + 1])) / 2 : here + 2;
      const a = Math.min(before, after), b = Math.max(before, after);
      g.fillRect(a, f.top, Math.max(b - a, 1), f.h);
    }
  }

  // The bands from the one nearest the stroke's start to the one nearest its end, and every band
  // whose centre lies between them (both spectrometers' where they overlap).
  bandsBetween(clientX0, clientX1) {
    const first = this.nearest(clientX0), last = this.nearest(clientX1);
    if (first === null || last === null) return [];
    const { x } = this.spec;
    const a = Math.min(x[first], x[last]), b = Math.max(x[first], x[last]);
    const inside = [];
    x.forEach((v, i) => { if (v >= a && v <= b) inside.push(i); });
    return inside;
  }

  legend() {
    this.legendBox.replaceChildren(...this.spec.traces.map(t => {
      const item = document.createElement("button");
      item.type = "button";
      item.className = "cs-legend-item";
      item.setAttribute("role", "listitem");
      item.setAttribute("aria-pressed", String(!this.hidden.has(t.name)));
      item.title = "Hide or show this spectrum";
      const swatch = document.createElement("span");
      swatch.className = "cs-legend-swatch";
      swatch.style.borderTopColor = t.colour;
      swatch.style.borderTopStyle = t.dash === "solid" ? "solid" : t.dash === "dot" ? "dotted" : "dashed";
      const name = document.createElement("span");
      name.textContent = t.name;
      item.append(swatch, name);
      item.addEventListener("click", () => {
        if (this.hidden.has(t.name)) this.hidden.delete(t.name); else this.hidden.add(t.name);
        item.setAttribute("aria-pressed", String(!this.hidden.has(t.name)));
        this.draw();
      });
      return item;
    }));
  }

  // --- reading and interaction ----------------------------------------------------------------
  nearest(clientX) {
    const f = this.frame();
    const px = clientX - this.canvas.getBoundingClientRect().left;
    if (px < f.left - 2 || px > f.left + f.w + 2) return null;
    let best = null, distance = Infinity;
    this.spec.x.forEach((v, i) => {
      const d = Math.abs(f.X(v) - px);
      if (v >= f.x0 && v <= f.x1 && d < distance) { best = i; distance = d; }
    });
    return best;
  }

  hover(e) {
    this.show(e ? this.nearest(e.clientX) : null);
  }

  // The keyboard: left and right read the values band by band (in screen order), Enter shows
  // that band where the chart is clickable (or, while bad bands are edited, marks or unmarks
  // it), Escape stops reading.
  key(e) {
    if (!this.spec) return;
    if (e.key === "Escape") { this.show(null); return; }
    if (e.key === "Enter" && this.hoverIndex !== null && this.spec.editing && this.api) {
      e.preventDefault();
      const bad = !(this.spec.bad || []).includes(this.hoverIndex);
      this.api.setTriggerValue("bad", { bands: [this.hoverIndex], bad });
      return;
    }
    if (e.key === "Enter" && this.hoverIndex !== null && this.spec.clickable && this.api) {
      e.preventDefault();
      this.pick(this.hoverIndex);
      return;
    }
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    e.preventDefault();
    const f = this.frame();
    const order = this.spec.x.map((v, i) => i).filter(i => this.spec.x[i] >= f.x0 && this.spec.x[i] <= f.x1)
      .sort((a, b) => this.spec.x[a] - this.spec.x[b]);
    if (!order.length) return;
    const at = order.indexOf(this.hoverIndex);
    const next = at < 0 ? Math.floor(order.length / 2) : Math.min(Math.max(at + (e.key === "ArrowRight" ? 1 : -1), 0),
                                                                  order.length - 1);
    this.show(order[next]);
  }

  // Mark band `index` and read every spectrum's value there (null: read nothing).
  show(index) {
    if (index === this.hoverIndex) return;
    this.hoverIndex = index;
    this.draw();
    if (index === null) { this.tip.hidden = true; return; }
    const { x, x_unit } = this.spec;
    const head = x_unit === "band" ? `band ${index}` : `band ${index} · ${formatValue(x[index])} ${x_unit}`;
    const rows = this.visible().map(t => {
      const row = document.createElement("div");
      const swatch = document.createElement("span");
      swatch.className = "cs-tip-swatch";
      swatch.style.background = t.colour;
      row.append(swatch, `${t.name}: ${t.y[index] === null ? "no data" : formatValue(t.y[index])}`);
      return row;
    });
    const title = document.createElement("div");
    title.className = "cs-tip-title";
    title.textContent = head;
    this.tip.replaceChildren(title, ...rows);
    this.tip.hidden = false;
    const f = this.frame();
    const px = f.X(x[index]);
    const tipWidth = this.tip.offsetWidth;  // at most the chart's width
    const left = px + 12 + tipWidth <= this.size.width ? px + 12 : px - 12 - tipWidth;
    this.tip.style.left = `${Math.min(Math.max(0, left), this.size.width - tipWidth)}px`;
    this.tip.style.top = `${f.top + 4}px`;
  }

  down(e) {
    if (e.button !== 0 || !this.spec) return;
    const px = e.clientX - this.canvas.getBoundingClientRect().left;
    this.canvas.setPointerCapture(e.pointerId);
    this.drag = { x: px, now: px, clientX: e.clientX, moved: false };
  }

  move(e) {
    const d = this.drag;
    if (!d) { this.hover(e); return; }
    d.now = e.clientX - this.canvas.getBoundingClientRect().left;
    if (Math.abs(e.clientX - d.clientX) >= SLOP) d.moved = true;
    if (d.moved) this.draw();
  }

  up(e) {
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    if (this.spec.editing) {
      // Painting: the bands take the opposite of the state of the band the stroke began on.
      const start = this.nearest(d.clientX);
      const bands = d.moved ? this.bandsBetween(d.clientX, e.clientX) : [start];
      if (start === null || !bands.length || !this.api) { this.draw(); return; }
      const bad = !(this.spec.bad || []).includes(start);
      this.api.setTriggerValue("bad", { bands, bad });
      this.draw();
      return;
    }
    if (!d.moved) {
      const index = this.nearest(e.clientX);
      if (index !== null && this.spec.clickable && this.api) this.pick(index);
      return;
    }
    const f = this.frame();
    const a = f.value(Math.min(d.x, d.now)), b = f.value(Math.max(d.x, d.now));
    this.zoom(b > a ? [Math.max(a, f.x0), Math.min(b, f.x1)] : null);
  }

  zoom(range) {
    this.range = range;
    this.draw();
  }

  // The chart and its legend as a PNG, at twice the screen's resolution.
  download() {
    const { width, height } = this.size;
    const shown = this.visible();
    const canvas = document.createElement("canvas");
    const full = height + 8 + 20 * shown.length;
    canvas.width = width * 2;
    canvas.height = full * 2;
    const g = canvas.getContext("2d");
    const hover = this.hoverIndex;
    this.hoverIndex = null;
    this.paint(g, { width, height: full, ratio: 2 });
    this.hoverIndex = hover;
    g.setTransform(2, 0, 0, 2, 0, 0);
    g.fillStyle = "#ffffff";
    g.fillRect(0, height, width, full - height);
    g.font = `12px ${FONT}`;
    g.textBaseline = "middle";
    g.textAlign = "left";
    shown.forEach((t, k) => {
      const y = height + 14 + 20 * k;
      g.strokeStyle = t.colour; g.lineWidth = 2; g.setLineDash(DASHES[t.dash] || []);
      g.beginPath(); g.moveTo(12, y); g.lineTo(36, y); g.stroke();
      g.setLineDash([]);
      g.fillStyle = "#31333f";
      g.fillText(t.name, 44, y);
    });
    canvas.toBlob(blob => {
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `${this.spec.file_name || "spectra"}.png`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    });
  }

  // For tests: each spectrum's name, values and colour, and where band `index` is on the screen.
  traces() {
    return this.spec.traces.map(t => ({ name: t.name, y: t.y.map(v => (v === null ? NaN : v)), colour: t.colour }));
  }

  point(index) {
    const f = this.frame();
    const rect = this.canvas.getBoundingClientRect();
    return { x: rect.left + f.X(this.spec.x[index]), y: rect.top + f.top + 0.9 * f.h };
  }

  destroy() {
    if (this.spec && CHARTS[this.spec.key] === this) delete CHARTS[this.spec.key];
    this.resize.disconnect();
    this.root.remove();
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let chart = parentElement.__cubescopeChart;
  if (!chart) {
    chart = new Chart(parentElement);
    parentElement.__cubescopeChart = chart;
  }
  if (data) chart.load(data, { setTriggerValue });
  return whenRemoved(parentElement, () => {
    chart.destroy();
    delete parentElement.__cubescopeChart;
  });
}
