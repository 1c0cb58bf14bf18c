// Cubescope's image viewer: a Streamlit custom component (v2, no iframe).
//
// Python sends one binary payload per image (see cubescope_ui/viewer.py): a JSON header, the
// shown samples' values (float32) and their pixels (palette indices or RGBA). The viewer fits the
// image into its column, draws pins, regions and polygons over it, reads out the value under the
// pointer, and zooms and pans on the client at once; the server then sends the new window at the
// resolution it is shown. Clicks, drags and windows go back as trigger and state values.
// (niceTicks, formatTick, formatValue, payloadHeader and keepFollowed come from common.js, put before
// this file.)

const CLICK_SLOP = 4;        // CSS px: a shorter drag is a click
const ZOOM_COMMIT_MS = 140;  // wheel zooms are sent once the wheel rests this long
const BOX_COMMIT_MS = 200;

function parse(bytes) {
  const { header, start } = payloadHeader(bytes);
  let offset = start;
  const count = header.h * header.w * header.channels;
  // A copy: the payload's offset inside its buffer need not be a multiple of 4.
  const values = new Float32Array(bytes.slice(offset, offset + 4 * count).buffer);
  offset += 4 * count;
  const size = header.h * header.w * (header.kind === "rgba" ? 4 : 1);
  const pixels = bytes.subarray(offset, offset + size);
  return { header, values, pixels };
}

// Lon/lat of pixel (row, col): bilinear between the exact values the server sent at a grid of
// pixel centres (rows, cols ascending); null where the product has no coordinate.
// Whether two payloads are the same bytes (the run for a band painted from a prefetched
// payload sends that payload again).
function sameBytes(a, b) {
  if (a === b) return true;
  if (!a || !b || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function lonlat(geo, row, col) {
  const cell = (axis, v) => {
    let i = 0;
    while (i < axis.length - 2 && axis[i + 1] <= v) i++;
    const span = axis.length > 1 ? axis[i + 1] - axis[i] : 0;
    return [i, span > 0 ? Math.min(Math.max((v - axis[i]) / span, 0), 1) : 0];
  };
  const [i, fy] = cell(geo.rows, row), [j, fx] = cell(geo.cols, col);
  const i1 = Math.min(i + 1, geo.rows.length - 1), j1 = Math.min(j + 1, geo.cols.length - 1);
  const mix = (g) => (1 - fy) * ((1 - fx) * g[i][j] + fx * g[i][j1]) + fy * ((1 - fx) * g[i1][j] + fx * g[i1][j1]);
  const out = [mix(geo.lon), mix(geo.lat)];
  return Math.abs(out[0]) > 360 || Math.abs(out[1]) > 90 ? null : out;
}

// A mask overlay (images.mask_overlay: bits packed row by row) as a canvas of one pixel per
// cell, tinted in its colour; made once per overlay sent.
function maskLayer(o) {
  if (o.layer) return o.layer;
  const bits = Uint8Array.from(atob(o.bits), ch => ch.charCodeAt(0));
  const layer = document.createElement("canvas");
  layer.width = o.cols; layer.height = o.rows;
  const g = layer.getContext("2d");
  const image = g.createImageData(o.cols, o.rows);
  const [r, gr, b] = [1, 3, 5].map(i => parseInt(o.colour.slice(i, i + 2), 16));
  for (let i = 0; i < o.rows * o.cols; i++) {
    if ((bits[i >> 3] >> (7 - (i & 7))) & 1) image.data.set([r, gr, b, 170], 4 * i);
  }
  g.putImageData(image, 0, 0);
  return (o.layer = layer);
}

// Viewers by their Streamlit key, and the overlays last sent for each: the overlays come in a
// component of their own (cubescope_ui/viewer.py), so that a new pin does not re-send the image.
const VIEWERS = (window.__cubescopeViewers ||= {});
const OVERLAYS = (window.__cubescopeOverlays ||= {});
// Payloads of neighbouring images by viewer key and control value (assets/prefetch.js).
const PREFETCHED = (window.__cubescopePrefetched ||= {});
// Previews of the window shown, by viewer key (assets/preview.js).
const PREVIEWS = (window.__cubescopePreviews ||= {});

class Viewer {
  constructor(parent) {
    // A child of our own: the parent also holds the component's <style>, which must stay.
    const root = document.createElement("div");
    parent.appendChild(root);
    this.root = root;
    root.innerHTML = `
      <div class="cs-viewer">
        <div class="cs-bar" role="toolbar" aria-label="Image tools">
          <button type="button" data-mode="select" title="Drag to select a region; click to pin a pixel">Select</button>
          <button type="button" data-mode="polygon" title="Click the corners of a polygon ROI; double-click, or click the first corner, to close it (Esc cancels)">Polygon</button>
          <button type="button" data-mode="line" title="Drag a line to see the spectra along it (a transect)">Line</button>
          <button type="button" data-mode="pan" title="Drag to move the zoomed image (or hold Shift)">Pan</button>
          <span class="cs-gap"></span>
          <button type="button" data-act="in" title="Zoom in">+</button>
          <button type="button" data-act="out" title="Zoom out">&minus;</button>
          <button type="button" data-act="fit" title="Show the whole image">Fit</button>
          <span class="cs-zoom"></span>
        </div>
        <div class="cs-box"><canvas class="cs-canvas"></canvas></div>
        <div class="cs-readout" aria-live="polite">Point at the image to read its values.</div>
        <canvas class="cs-colorbar" aria-hidden="true"></canvas>
      </div>`;
    this.box = root.querySelector(".cs-box");
    this.canvas = root.querySelector(".cs-canvas");
    this.readout = root.querySelector(".cs-readout");
    this.zoomText = root.querySelector(".cs-zoom");
    this.colorbar = root.querySelector(".cs-colorbar");
    this.tile = document.createElement("canvas");
    this.mode = "select";
    this.drag = null;
    this.pending = null;
    this.painted = 0;
    root.querySelectorAll("[data-mode]").forEach(b => b.addEventListener("click", () => this.setMode(b.dataset.mode)));
    root.querySelectorAll("[data-act]").forEach(b => b.addEventListener("click", () => this.act(b.dataset.act)));
    this.canvas.addEventListener("pointerdown", e => this.down(e));
    this.canvas.addEventListener("pointermove", e => this.move(e));
    this.canvas.addEventListener("pointerup", e => this.up(e));
    this.canvas.addEventListener("pointerleave", () => { if (!this.drag) this.showReadout(null); });
    this.canvas.addEventListener("wheel", e => this.wheel(e), { passive: false });
    this.canvas.addEventListener("dblclick", () => { if (this.mode === "polygon") this.closePolygon(); });
    window.addEventListener("keydown", e => {
      if (!this.sketch) return;
      if (e.key === "Escape") { this.sketch = null; this.hover = null; this.draw(); }
      if (e.key === "Enter") this.closePolygon();
    });
    this.resize = new ResizeObserver(() => this.layout());
    this.resize.observe(root.querySelector(".cs-viewer"));
    this.setMode("select");
  }

  load(bytes, api) {
    this.api = api;
    if (!sameBytes(bytes, this.bytes)) this.decode(bytes);  // the same bytes are shown already
    const header = this.header;
    const sent = JSON.stringify(header.window);
    // A zoom or pan not sent yet (the wheel's pause, the button's next task) keeps its view:
    // a run answering something else must not undo it before it is sent.
    if (!this.view || (!this.unsent && (this.pending === null || this.pending === sent))) {
      this.view = header.window.slice();
      this.pending = null;
    }
    this.root.querySelectorAll("[data-mode]").forEach(b => { b.hidden = !header.tools.includes(b.dataset.mode); });
    this.follow(header.follow);
    this.layout();
    this.reportBox();
  }

  // Header, values and the coloured tile of a payload.
  decode(bytes) {
    this.bytes = bytes;
    this.decoded = (this.decoded || 0) + 1;
    const { header, values, pixels } = parse(bytes);
    if (header.follow) keepFollowed(header, bytes);  // a step back to it paints at once
    this.header = header;
    VIEWERS[header.key] = this;
    this.values = values;
    this.colour(header, pixels);
  }

  // Paint a payload's pixels (palette indices, or RGBA) into the tile the frames are drawn from.
  colour(header, pixels) {
    if (this.tile.width !== header.w || this.tile.height !== header.h) {
      this.tile.width = header.w;
      this.tile.height = header.h;
    }
    if (!this.image || this.image.width !== header.w || this.image.height !== header.h) {
      this.image = new ImageData(header.w, header.h);
    }
    const image = this.image;
    const out = new Uint32Array(image.data.buffer);
    if (header.kind === "rgba") {
      image.data.set(pixels);
    } else {
      const lut = new Uint32Array(256);
      const p = header.palette;
      for (let i = 0; i < 256; i++) {
        // Little-endian RGBA as one 32-bit word; the last index (no data) is transparent.
        lut[i] = i === header.nan_index ? 0 : (255 << 24) | (p[3 * i + 2] << 16) | (p[3 * i + 1] << 8) | p[3 * i];
      }
      for (let i = 0; i < pixels.length; i++) out[i] = lut[pixels[i]];
    }
    this.tile.getContext("2d").putImageData(image, 0, 0);
    // A checksum of the colours shown, so that tests can compare two browsers' images.
    let hash = 2166136261;
    for (let i = 0; i < pixels.length; i++) hash = Math.imul(hash ^ pixels[i], 16777619) >>> 0;
    this.pixelHash = hash.toString(16);
  }

  // Watch the slider that picks this image (its hidden range input, whose value attribute
  // changes on a key press or a drag before the server hears of it): when it reaches a value
  // whose image is held for the window shown, paint that image at once.
  follow(spec) {
    const input = spec ? document.querySelector(spec.selector) : null;
    if (input === this.followed) return;
    if (this.watcher) this.watcher.disconnect();
    this.followed = input;
    if (!input) return;
    this.watcher = new MutationObserver(() => this.catchUp());
    this.watcher.observe(input, { attributes: true, attributeFilter: ["value"] });
  }

  // Paint the image the followed slider now picks, held or previewed (called on a slider change,
  // and by prefetch.js when an image arrives after the slider reached it).
  catchUp() {
    const h = this.header, input = this.followed;
    if (!h || !h.follow || !input || !input.isConnected) return;
    const value = Number(input.getAttribute("value"));
    if (value !== h.follow.value) this.paintBand(value);
  }

  // Paint the image the followed slider picks at `value` before the server sends it: the
  // exact one when it is held (sent ahead, or shown before), else its preview.
  paintBand(value) {
    const h = this.header;
    if (!h || !h.follow || value === h.follow.value) return;  // shown already: the server sends nothing new
    const held = (PREFETCHED[h.key] || new Map()).get(value);
    const next = held && held.header;
    if (next && JSON.stringify(next.window) === JSON.stringify(h.window) && next.step === this.exactStep()) {
      this.load(held.bytes, this.api);
    } else {
      this.previewBand(value);
    }
  }

  // The preview of the window shown, when it is of this window and step; else null.
  preview() {
    const h = this.header, held = PREVIEWS[h.key];
    if (!held || !held.model || !held.stretch) return null;
    const ph = held.model.header;
    if (ph.id !== held.stretch.id || ph.shown_step !== this.exactStep()
        || JSON.stringify(ph.window) !== JSON.stringify(h.window)) return null;
    return held;
  }

  // The sample step of the exact images shown (a preview's own may be coarser).
  exactStep() {
    return this.header.preview ? this.header.preview.exact_step : this.header.step;
  }

  // Paint band `b` from the preview at once (mean + loadings x scores), coloured with the band's
  // own stretch as its exact image will be; the exact image replaces it when it arrives, and
  // until then the readout says "preview". A bad band (not in the preview) waits for the server.
  previewBand(b) {
    const h = this.header, held = this.preview();
    if (!held || h.kind !== "index") return false;
    const { model, stretch } = held, ph = model.header, limits = stretch.limits[b];
    if (!limits || !Number.isFinite(model.mean[b])) return false;
    const n = ph.h * ph.w, k = ph.k, codes = model.codes;
    let base = model.mean[b];
    const weights = new Float32Array(k);
    for (let c = 0; c < k; c++) {
      const loading = model.loadings[b * k + c];
      base += loading * model.offsets[c];
      weights[c] = loading * model.scales[c];
    }
    // Buffers kept from one preview to the next: a jump allocates nothing for the collector.
    if (!this.previewBuffers || this.previewBuffers.n !== n) {
      this.previewBuffers = { n, values: new Float32Array(n), pixels: new Uint8Array(n) };
    }
    const { values, pixels } = this.previewBuffers;
    // One component at a time over contiguous codes: the engine keeps this loop tight.
    values.fill(base);
    for (let c = 0; c < k; c++) {
      const weight = weights[c], plane = codes.subarray(c * n, (c + 1) * n);
      for (let p = 0; p < n; p++) values[p] += weight * plane[p];
    }
    const [lo, hi] = limits, top = h.data_levels - 1, scale = hi > lo ? 1 / (hi - lo) : 0;
    for (let p = 0; p < n; p++) {
      if (codes[p] === ph.no_data) { values[p] = NaN; pixels[p] = h.nan_index; continue; }
      // As cubescope.display.normalize and to_indices: a constant band maps to the middle.
      const v = values[p];
      let u = scale ? (v - lo) * scale : v > lo ? 1 : v < lo ? 0 : 0.5;
      u = u < 0 ? 0 : u > 1 ? 1 : u;
      pixels[p] = (u * top + 0.5) | 0;
    }
    const label = stretch.labels[b];
    this.bytes = null;  // the exact image is painted when it comes, even one shown before
    this.header = {
      ...h, id: `preview-band-${b}-${h.window.join("-")}-${ph.step}`, label, step: ph.step, h: ph.h, w: ph.w,
      preview: { rmse: ph.rmse, exact_step: this.exactStep() },
      follow: h.follow ? { ...h.follow, value: b } : h.follow,
      colorbar: h.colorbar ? { lo, hi, title: `${label} (${stretch.quantity || "value"})` } : null,
    };
    this.values = values;
    this.colour(this.header, pixels);
    this.draw();
    this.drawColorbar();
    return true;
  }

  // Draw the spectrum of pixel (row, col) from the preview in the spectra chart at once, as the
  // next pin's (the exact spectrum replaces it when the server's run draws the chart).
  previewSpectrum(row, col) {
    const held = this.preview();
    if (!held || !held.model.header.chart) return;
    const { model } = held, ph = model.header, charts = window.__cubescopeCharts || {};
    const chart = charts[ph.chart];
    if (!chart || !chart.spec || chart.spec.x.length !== ph.n_bands) return;
    const i = Math.floor((row - ph.window[0]) / ph.step), j = Math.floor((col - ph.window[2]) / ph.step);
    if (i < 0 || j < 0 || i >= ph.h || j >= ph.w) return;
    const n = ph.h * ph.w, k = ph.k, p = i * ph.w + j;
    if (model.codes[p] === ph.no_data) return;
    const scores = Array.from({ length: k }, (_, c) => model.offsets[c] + model.scales[c] * model.codes[c * n + p]);
    const y = Array.from(model.mean, (mean, b) => {
      if (!Number.isFinite(mean)) return null;
      let v = mean;
      for (let c = 0; c < k; c++) v += model.loadings[b * k + c] * scores[c];
      return v;
    });
    const pins = (OVERLAYS[this.header.key] || []).filter(o => o.kind === "pin").length;
    const colours = ph.marker_colours;
    chart.preview({ name: `(${row}, ${col}) preview`, y, spread: null, markers: [], dash: "dot",
                    colour: colours[pins % colours.length] });
  }

  // --- geometry -------------------------------------------------------------------------------
  layout() {
    if (!this.header) return;
    const width = Math.max(1, this.box.clientWidth);
    const { rows, cols } = this.header;
    const tallest = Math.max(160, Math.min(0.72 * window.innerHeight, 1.4 * width));
    const height = Math.round(Math.min(tallest, Math.max(Math.min(140, tallest), width * rows / cols)));
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    this.size = { width, height, ratio };
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.draw();
    this.drawColorbar();
    this.reportBox();
  }

  // Scale (CSS px per image pixel) and offsets of the image window in the box.
  frame(view = this.view) {
    const [r0, r1, c0, c1] = view;
    const { width, height } = this.size;
    const scale = Math.min(width / (c1 - c0), height / (r1 - r0));
    return { scale, x: (width - (c1 - c0) * scale) / 2, y: (height - (r1 - r0) * scale) / 2 };
  }

  pixelAt(clientX, clientY) {
    const rect = this.canvas.getBoundingClientRect();
    const f = this.frame();
    const [r0, r1, c0, c1] = this.view;
    const col = c0 + (clientX - rect.left - f.x) / f.scale;
    const row = r0 + (clientY - rect.top - f.y) / f.scale;
    if (col < c0 || col >= c1 || row < r0 || row >= r1) return null;
    return { row: Math.floor(row), col: Math.floor(col), fr: row, fc: col };
  }

  clampView(view) {
    const { rows, cols } = this.header;
    const minimum = Math.min(this.header.min_window, rows, cols);
    const fit = (a, b, size) => {
      let length = Math.min(Math.max(b - a, Math.min(minimum, size)), size);
      a = Math.min(Math.max(a, 0), size - length);
      return [a, a + length];
    };
    const [r0, r1] = fit(view[0], view[1], rows);
    const [c0, c1] = fit(view[2], view[3], cols);
    return [r0, r1, c0, c1];
  }

  // --- drawing --------------------------------------------------------------------------------
  draw() {
    if (!this.size || !this.view) return;
    const g = this.canvas.getContext("2d");
    const { width, height, ratio } = this.size;
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    g.fillStyle = "#f0f2f6";
    g.fillRect(0, 0, width, height);
    const f = this.frame();
    const [r0, r1, c0, c1] = this.view;
    const h = this.header;
    const [t0, t1, u0, u1] = h.window;
    g.save();
    g.beginPath();
    g.rect(f.x, f.y, (c1 - c0) * f.scale, (r1 - r0) * f.scale);
    g.clip();
    this.checker(g, f.x, f.y, (c1 - c0) * f.scale, (r1 - r0) * f.scale);
    g.beginPath();
    g.rect(f.x + (u0 - c0) * f.scale, f.y + (t0 - r0) * f.scale, (u1 - u0) * f.scale, (t1 - t0) * f.scale);
    g.clip();
    // Magnified samples stay sharp squares; reduced ones are smoothed by the browser.
    g.imageSmoothingEnabled = h.step * f.scale * ratio < 2;
    g.drawImage(this.tile, f.x + (u0 - c0) * f.scale, f.y + (t0 - r0) * f.scale,
                h.w * h.step * f.scale, h.h * h.step * f.scale);
    g.restore();
    this.overlays(g, f);
    if (this.drag && this.drag.rubber) {
      const [a, b, c, d] = this.drag.rubber;
      g.setLineDash([4, 3]);
      g.strokeStyle = "#000";
      g.lineWidth = 1;
      g.strokeRect(f.x + (c - c0) * f.scale, f.y + (a - r0) * f.scale, (d - c) * f.scale, (b - a) * f.scale);
      g.setLineDash([]);
    }
    const sharp = JSON.stringify(this.view) === JSON.stringify(h.window);
    const whole = r0 === 0 && c0 === 0 && r1 === h.rows && c1 === h.cols;
    this.zoomText.textContent = whole ? (h.step > 1 ? `whole image, every ${h.step_text} pixel` : "whole image")
      : `rows ${r0}–${r1 - 1}, columns ${c0}–${c1 - 1}` + (h.step > 1 ? `, every ${h.step_text} pixel` : "");
    this.canvas.dataset.tile = h.id;
    this.canvas.dataset.pixels = this.pixelHash;
    this.canvas.dataset.window = h.window.join("-");
    this.canvas.dataset.view = this.view.join("-");
    this.canvas.dataset.step = String(h.step);
    this.canvas.dataset.samples = `${h.h}x${h.w}`;
    this.canvas.dataset.sharp = String(sharp);
    this.canvas.dataset.pending = this.pending || "";  // a window asked of the server, not yet sent back
    // Nothing asked of the server or about to be: the image stays as it is until the user acts.
    this.canvas.dataset.settled = String(this.pending === null && !this.unsent && this.stepFor(h.window) === h.step);
    this.canvas.dataset.preview = String(Boolean(h.preview));
    this.canvas.dataset.painted = String(++this.painted);
    this.canvas.dataset.decoded = String(this.decoded);
  }

  // The colourbar of a single-band image: the palette from lo to hi, with round ticks and
  // the title (an RGB composite has none: each channel has its own stretch).
  drawColorbar() {
    const bar = this.header.colorbar;
    this.colorbar.hidden = !bar;
    if (!bar) return;
    const { width, ratio } = this.size;
    const height = 46;
    this.colorbar.style.width = `${width}px`;
    this.colorbar.style.height = `${height}px`;
    this.colorbar.width = Math.round(width * ratio);
    this.colorbar.height = Math.round(height * ratio);
    const g = this.colorbar.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const p = this.header.palette, levels = this.header.data_levels, pad = 8, top = 16, barHeight = 10;
    const span = width - 2 * pad;
    for (let i = 0; i < levels; i++) {
      g.fillStyle = `rgb(${p[3 * i]},${p[3 * i + 1]},${p[3 * i + 2]})`;
      g.fillRect(pad + (i * span) / levels, top, span / levels + 0.6, barHeight);
    }
    g.fillStyle = "#31333f";
    g.font = "12px sans-serif";
    g.textBaseline = "top";
    g.fillText(bar.title, pad, 1, span);
    const { lo, hi } = bar;
    g.textAlign = "center";
    g.strokeStyle = "#31333f";
    for (const t of hi > lo ? niceTicks(lo, hi, Math.max(3, Math.floor(span / 80))) : [lo]) {
      const x = hi > lo ? pad + ((t - lo) / (hi - lo)) * span : pad + span / 2;
      g.beginPath(); g.moveTo(x, top + barHeight); g.lineTo(x, top + barHeight + 4); g.stroke();
      g.fillText(formatTick(t), Math.min(Math.max(x, pad + 14), width - pad - 14), top + barHeight + 6);
    }
    this.colorbar.dataset.lo = String(lo);
    this.colorbar.dataset.hi = String(hi);
    this.colorbar.dataset.title = bar.title;
  }

  checker(g, x, y, w, h) {
    if (!this.pattern) {
      const c = document.createElement("canvas");
      c.width = c.height = 12;
      const p = c.getContext("2d");
      p.fillStyle = "#ffffff"; p.fillRect(0, 0, 12, 12);
      p.fillStyle = "#d9dbe0"; p.fillRect(0, 0, 6, 6); p.fillRect(6, 6, 6, 6);
      this.pattern = g.createPattern(c, "repeat");
    }
    g.fillStyle = this.pattern;
    g.fillRect(x, y, w, h);
  }

  overlays(g, f) {
    const [r0, , c0] = this.view;
    const X = col => f.x + (col - c0) * f.scale;
    const Y = row => f.y + (row - r0) * f.scale;
    g.lineJoin = "round";
    if (this.sketch && this.sketch.length) {  // the polygon being drawn, to the pointer
      const points = this.hover ? [...this.sketch, this.hover] : this.sketch;
      for (const [colour, w] of [["#ffffff", 3], ["#111111", 1.5]]) {
        g.beginPath();
        points.forEach(([x, y], i) => (i ? g.lineTo : g.moveTo).call(g, X(x), Y(y)));
        g.strokeStyle = colour; g.lineWidth = w; g.setLineDash(colour === "#111111" ? [5, 4] : []); g.stroke();
      }
      g.setLineDash([]);
      for (const [x, y] of this.sketch) { g.fillStyle = "#111111"; g.fillRect(X(x) - 2.5, Y(y) - 2.5, 5, 5); }
    }
    const drawLine = (ends, colour) => {
      const [[ra, ca], [rb, cb]] = ends;
      for (const [stroke, w] of [["#ffffff", 4], [colour, 2]]) {
        g.strokeStyle = stroke; g.lineWidth = w;
        g.beginPath(); g.moveTo(X(ca + 0.5), Y(ra + 0.5)); g.lineTo(X(cb + 0.5), Y(rb + 0.5)); g.stroke();
      }
      g.font = "bold 11px sans-serif";
      for (const [[r, c], name] of [[ends[0], "A"], [ends[1], "B"]]) {
        g.lineWidth = 3; g.strokeStyle = "#ffffff"; g.strokeText(name, X(c + 0.5) + 5, Y(r + 0.5) - 5);
        g.fillStyle = colour; g.fillText(name, X(c + 0.5) + 5, Y(r + 0.5) - 5);
      }
    };
    if (this.drag && this.drag.line && this.drag.end) {
      drawLine([[this.drag.start.row, this.drag.start.col], this.drag.end], "#111111");
    }
    const drawn = OVERLAYS[this.header.key] || [];
    for (const o of drawn) {  // masks first: the outlines and marks stay visible over them
      if (o.kind !== "mask") continue;
      g.save();
      g.imageSmoothingEnabled = false;
      g.drawImage(maskLayer(o), X(0), Y(0), o.cols * o.step * f.scale, o.rows * o.step * f.scale);
      g.restore();
    }
    for (const o of drawn) {
      if (o.kind === "line") {
        drawLine(o.ends, o.colour);
      } else if (o.kind === "rect") {
        const [a, b, c, d] = o.box;
        for (const [colour, w] of [["#ffffff", 3], [o.colour, 1.5]]) {
          g.strokeStyle = colour; g.lineWidth = w;
          g.strokeRect(X(c), Y(a), (d - c) * f.scale, (b - a) * f.scale);
        }
      } else if (o.kind === "polygon" && o.points.length > 1) {
        for (const [colour, w] of [["#ffffff", 3], [o.colour, 1.5]]) {
          g.beginPath();
          o.points.forEach(([r, c], i) => (i ? g.lineTo : g.moveTo).call(g, X(c), Y(r)));
          g.closePath();
          g.strokeStyle = colour; g.lineWidth = w; g.stroke();
        }
      } else if (o.kind === "pin") {
        const x = X(o.col + 0.5), y = Y(o.row + 0.5);
        if (f.scale >= 6) {  // the pixel itself is visible: outline it
          g.strokeStyle = o.colour; g.lineWidth = 2;
          g.strokeRect(X(o.col), Y(o.row), f.scale, f.scale);
        }
        const arm = 7;
        for (const [colour, w] of [["#ffffff", 4], [o.colour, 2]]) {
          g.strokeStyle = colour; g.lineWidth = w;
          g.beginPath();
          g.moveTo(x - arm, y); g.lineTo(x - 2, y); g.moveTo(x + 2, y); g.lineTo(x + arm, y);
          g.moveTo(x, y - arm); g.lineTo(x, y - 2); g.moveTo(x, y + 2); g.lineTo(x, y + arm);
          g.stroke();
        }
        if (o.label) {
          g.font = "bold 11px sans-serif";
          g.lineWidth = 3; g.strokeStyle = "#ffffff"; g.strokeText(o.label, x + arm + 1, y - 3);
          g.fillStyle = o.colour; g.fillText(o.label, x + arm + 1, y - 3);
        }
      }
    }
  }

  // --- reading values -------------------------------------------------------------------------
  showReadout(p) {
    const h = this.header;
    if (!p) { this.readout.textContent = "Point at the image to read its values."; return; }
    const [t0, , u0] = h.window;
    const i = Math.floor((p.row - t0) / h.step), j = Math.floor((p.col - u0) / h.step);
    const parts = [`row ${p.row}`, `column ${p.col}`];
    if (i >= 0 && j >= 0 && i < h.h && j < h.w) {
      const near = h.step > 1 ? "≈ " : "";
      const plane = h.h * h.w;
      const values = h.channel_names.map((name, k) => {
        const value = this.values[k * plane + i * h.w + j];
        const named = k === 0 && h.value_names && Number.isInteger(value) ? h.value_names[value] : undefined;
        const text = named !== undefined ? `${formatValue(value)} ${named}` : formatValue(value);
        return name ? `${name} ${near}${text}` : `${near}${text}`;
      });
      parts.push(values.join(", ") + (h.quantity ? ` ${h.quantity}` : ""));
    }
    if (h.label) parts.push(h.label);
    if (h.preview) parts.push(`preview (RMSE ${formatValue(h.preview.rmse)})`);
    if (h.geo) {
      const place = lonlat(h.geo, p.row, p.col);
      if (place) parts.push(`lon ${place[0].toFixed(6)}°, lat ${place[1].toFixed(6)}°`);
    }
    this.readout.textContent = parts.join(" · ");
  }

  // --- interaction ----------------------------------------------------------------------------
  setMode(mode) {
    this.mode = mode;
    if (mode !== "polygon") { this.sketch = null; this.hover = null; }
    this.root.querySelectorAll("[data-mode]").forEach(b => b.setAttribute("aria-pressed", String(b.dataset.mode === mode)));
    this.canvas.style.cursor = mode === "pan" ? "grab" : "crosshair";
  }

  // Polygon tool: each click adds a corner (in pixel-corner coordinates x = column, y = row);
  // a double-click or a click on the first corner closes it and sends it; Esc cancels.
  polygonClick(e) {
    const p = this.pixelAt(e.clientX, e.clientY);
    if (!p) return;
    const point = [Math.round(p.fc * 100) / 100, Math.round(p.fr * 100) / 100];
    const sketch = (this.sketch ||= []);
    if (sketch.length >= 3) {
      const f = this.frame(), [x0, y0] = sketch[0];
      if (Math.hypot((point[0] - x0) * f.scale, (point[1] - y0) * f.scale) <= 8) { this.closePolygon(); return; }
    }
    sketch.push(point);
    this.draw();
  }

  closePolygon() {
    // A double-click lands two clicks on the last corner first: keep each corner once.
    const sketch = (this.sketch || []).filter((p, i, all) => i === 0 || p[0] !== all[i - 1][0] || p[1] !== all[i - 1][1]);
    this.sketch = null; this.hover = null;
    if (sketch.length >= 3) this.api.setTriggerValue("polygon", sketch);
    this.draw();
  }

  down(e) {
    if (!this.header || e.button !== 0) return;
    if (this.mode === "polygon" && !e.shiftKey) {
      this.polygonClick(e);
      return;
    }
    this.canvas.setPointerCapture(e.pointerId);
    const pan = this.mode === "pan" || e.shiftKey;
    this.drag = { x: e.clientX, y: e.clientY, start: this.pixelAt(e.clientX, e.clientY), view: this.view.slice(), pan,
                  moved: false, line: this.mode === "line" && !pan };
  }

  move(e) {
    if (!this.header) return;
    const d = this.drag;
    if (!d) {
      const p = this.pixelAt(e.clientX, e.clientY);
      this.showReadout(p);
      if (this.sketch && p) { this.hover = [p.fc, p.fr]; this.draw(); }
      return;
    }
    if (Math.hypot(e.clientX - d.x, e.clientY - d.y) >= CLICK_SLOP) d.moved = true;
    if (!d.moved) return;
    if (d.pan) {
      const s = this.frame(d.view).scale;
      const dr = (e.clientY - d.y) / s, dc = (e.clientX - d.x) / s;
      this.view = this.clampView([d.view[0] - dr, d.view[1] - dr, d.view[2] - dc, d.view[3] - dc]);
      this.unsent = true;
      this.draw();
    } else if (d.start && d.line) {
      const p = this.pixelAt(e.clientX, e.clientY) || this.edgePixel(e);
      d.end = [p.row, p.col];
      this.draw();
      this.readout.textContent = `line from (${d.start.row}, ${d.start.col}) to (${p.row}, ${p.col})`;
    } else if (d.start) {
      const p = this.pixelAt(e.clientX, e.clientY) || this.edgePixel(e);
      d.rubber = [Math.min(d.start.row, p.row), Math.max(d.start.row, p.row) + 1,
                  Math.min(d.start.col, p.col), Math.max(d.start.col, p.col) + 1];
      this.draw();
      this.readout.textContent = `region rows ${d.rubber[0]}–${d.rubber[1] - 1}, columns ${d.rubber[2]}–${d.rubber[3] - 1}`;
    }
  }

  // The image pixel nearest the pointer when a drag leaves the image.
  edgePixel(e) {
    const rect = this.canvas.getBoundingClientRect();
    const f = this.frame();
    const [r0, r1, c0, c1] = this.view;
    const col = Math.min(Math.max(Math.floor(c0 + (e.clientX - rect.left - f.x) / f.scale), c0), c1 - 1);
    const row = Math.min(Math.max(Math.floor(r0 + (e.clientY - rect.top - f.y) / f.scale), r0), r1 - 1);
    return { row, col };
  }

  up(e) {
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    if (!d.moved) {
      if (d.start) {
        this.previewSpectrum(d.start.row, d.start.col);
        this.api.setTriggerValue("click", [d.start.row, d.start.col]);
      }
    } else if (d.pan) {
      this.commit(this.view.map(Math.round));
    } else if (d.line && d.end) {
      this.api.setTriggerValue("line", [d.start.row, d.start.col, d.end[0], d.end[1]]);
    } else if (d.rubber) {
      this.api.setTriggerValue("region", d.rubber);
    }
    this.draw();
  }

  wheel(e) {
    if (!this.header) return;
    e.preventDefault();
    const factor = Math.exp(-Math.max(-300, Math.min(300, e.deltaY)) * 0.002);
    const p = this.pixelAt(e.clientX, e.clientY);
    this.zoomAt(factor, p ? p.fr : undefined, p ? p.fc : undefined, ZOOM_COMMIT_MS);
  }

  act(what) {
    if (!this.header) return;
    if (what === "fit") this.commit([0, this.header.rows, 0, this.header.cols]);
    else this.zoomAt(what === "in" ? 2 : 0.5, undefined, undefined, 0);
  }

  // Zoom by `factor` keeping image point (row, col) where it is (the centre by default).
  zoomAt(factor, row, col, delay) {
    const [r0, r1, c0, c1] = this.view;
    row = row === undefined ? (r0 + r1) / 2 : row;
    col = col === undefined ? (c0 + c1) / 2 : col;
    const { width, height } = this.size;
    // The new window fills the box at the new scale (a zoomed strip uses the box's free room).
    const scale = this.frame().scale * factor;
    const { rows, cols } = this.header;
    const h = Math.min(height / scale, rows), w = Math.min(width / scale, cols);
    const fr = (row - r0) / (r1 - r0), fc = (col - c0) / (c1 - c0);
    const next = this.clampView([row - fr * h, row - fr * h + h, col - fc * w, col - fc * w + w]);
    this.view = next;
    this.unsent = true;
    clearTimeout(this.boxTimer);  // the zoom's request carries the box
    this.draw();
    clearTimeout(this.zoomTimer);
    this.zoomTimer = setTimeout(() => this.commit(this.view.map(Math.round)), delay);
  }

  commit(view) {
    clearTimeout(this.boxTimer);  // the request below carries the box too
    this.unsent = false;
    view = this.clampView(view);
    this.view = view;
    // The window shown already is not waited for (an answer with the same image would not
    // reach the viewer at all, and the view would wait for ever); at most the box is reported.
    const shown = JSON.stringify(view) === JSON.stringify(this.header.window);
    this.pending = shown ? null : JSON.stringify(view);
    this.draw();
    if (!shown || this.stepFor(view) !== this.header.step) this.send(view);
  }

  // One state value carries the window and the box it is shown in: the server picks the
  // resolution from both, in one run.
  send(view) {
    this.api.setStateValue("view", { window: view, box: this.reportedBox() });
  }

  // The box as the server keeps it (cubescope_ui/viewer.py _on_view): whole CSS pixels, sides of
  // 16 to 4096, a pixel ratio of 0.5 to 2.
  reportedBox() {
    const { width, height, ratio } = this.size;
    const side = v => Math.min(Math.max(Math.round(v), 16), 4096);
    return [side(width), side(height), Math.min(Math.max(ratio, 0.5), 2)];
  }

  // The step the server chooses for `view` in this box (cubescope.viewport.sample_step).
  stepFor(view) {
    const [r0, r1, c0, c1] = view;
    const [width, height, ratio] = this.reportedBox();
    const screen = Math.min(width / (c1 - c0), height / (r1 - r0)) * ratio;
    return Math.max(1, Math.ceil(1 / screen - 1e-9));
  }

  // After a resize, ask for the window again only if it would be sent at another resolution.
  reportBox() {
    if (!this.size || !this.header || !this.api || this.pending !== null) return;
    if (this.stepFor(this.header.window) === this.header.step) return;
    clearTimeout(this.boxTimer);
    // A zoom or pan made meanwhile reports the box with its own request.
    this.boxTimer = setTimeout(() => { if (this.pending === null && !this.unsent) this.send(this.view); },
                               BOX_COMMIT_MS);
  }

  destroy() {
    if (this.header && VIEWERS[this.header.key] === this) delete VIEWERS[this.header.key];
    if (this.watcher) this.watcher.disconnect();
    this.root.remove();
    this.resize.disconnect();
    clearTimeout(this.zoomTimer);
    clearTimeout(this.boxTimer);
  }
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let viewer = parentElement.__cubescopeViewer;
  if (!viewer) {
    viewer = new Viewer(parentElement);
    parentElement.__cubescopeViewer = viewer;
  }
  if (data) viewer.load(data, { setStateValue, setTriggerValue });
  return whenRemoved(parentElement, () => {
    viewer.destroy();
    delete parentElement.__cubescopeViewer;
  });
}
