// Cubescope's map: a georeferenced image over a basemap, a Streamlit custom component (v2).
//
// Python sends one binary payload (see cubescope_ui/mapview.py): a JSON header, the image warped
// onto a Web Mercator grid as RGBA, its values (float32, for the readout) and, per grid cell, the
// cube pixel it shows (int32 row * cols + col, -1 outside). The basemap's tiles are loaded by the
// browser from the address in the header; offline, the image draws on a plain background. A click
// sends its longitude/latitude; the server finds the pixel there with the cube's own geometry.

const R = 6378137, WORLD = 2 * Math.PI * R, TILE = 256, CLICK_SLOP = 4;

function parse(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length)));
  let offset = 4 + length;
  const cells = header.w * header.h;
  const rgba = new Uint8ClampedArray(bytes.slice(offset, offset + 4 * cells));
  offset += 4 * cells;
  const values = new Float32Array(bytes.slice(offset, offset + 4 * cells * header.channels).buffer);
  offset += 4 * cells * header.channels;
  const index = new Int32Array(bytes.slice(offset, offset + 4 * cells).buffer);
  offset += 4 * cells;
  const centres = new Float32Array(bytes.slice(offset, offset + 8 * cells).buffer);
  return { header, rgba, values, index, centres };
}

const toLonLat = (x, y) => [x / R * 180 / Math.PI, (2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) * 180 / Math.PI];
const toMercator = (lon, lat) => [R * lon * Math.PI / 180, R * Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360))];

class MapView {
  constructor(parent) {
    this.parent = parent;
    const root = document.createElement("div");
    root.className = "cs-map";
    root.innerHTML = `
      <div class="cs-map-bar">
        <button type="button" data-act="in" title="Zoom in">+</button>
        <button type="button" data-act="out" title="Zoom out">&minus;</button>
        <button type="button" data-act="fit" title="Show the whole scene">Fit</button>
        <span class="cs-map-readout" aria-live="polite"></span>
      </div>
      <div class="cs-map-stage"><canvas class="cs-map-canvas"></canvas><div class="cs-map-credit"></div></div>`;
    parent.appendChild(root);
    this.root = root;
    this.canvas = root.querySelector("canvas");
    this.readout = root.querySelector(".cs-map-readout");
    this.credit = root.querySelector(".cs-map-credit");
    this.tiles = new Map();
    this.view = null;
    root.querySelectorAll("[data-act]").forEach(b => b.addEventListener("click", () => this.act(b.dataset.act)));
    this.canvas.addEventListener("wheel", e => this.wheel(e), { passive: false });
    this.canvas.addEventListener("pointerdown", e => this.down(e));
    this.canvas.addEventListener("pointermove", e => this.move(e));
    this.canvas.addEventListener("pointerup", e => this.up(e));
    this.canvas.addEventListener("pointerleave", () => { this.readout.textContent = ""; });
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(root);
  }

  load(bytes, api) {
    this.api = api;
    if (bytes === this.bytes) return;
    this.bytes = bytes;
    const { header, rgba, values, index, centres } = parse(bytes);
    const fresh = !this.header || this.header.scene !== header.scene;
    this.header = header; this.values = values; this.index = index; this.centres = centres;
    const image = document.createElement("canvas");
    image.width = header.w; image.height = header.h;
    image.getContext("2d").putImageData(new ImageData(rgba, header.w, header.h), 0, 0);
    this.image = image;
    this.credit.textContent = header.basemap ? header.basemap.credit : "";
    if (fresh) this.view = null;
    (window.__cubescopeMaps ||= {})[header.key] = this;
    this.resize();
  }

  resize() {
    const width = this.root.clientWidth;
    if (!width || !this.header) return;
    const height = Math.round(Math.min(Math.max(width * 0.7, 320), window.innerHeight * 0.75));
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    this.canvas.style.width = `${width}px`; this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * ratio); this.canvas.height = Math.round(height * ratio);
    this.size = [width, height]; this.ratio = ratio;
    if (!this.view) this.fit();
    this.draw();
  }

  fit() {
    const [x0, y0, x1, y1] = this.header.bounds;
    const [w, h] = this.size;
    const res = Math.max((x1 - x0) / (w * 0.9), (y1 - y0) / (h * 0.9));
    this.view = { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, res };
  }

  // Screen position (CSS px) of Mercator (x, y), and back.
  screen(x, y) {
    const { cx, cy, res } = this.view, [w, h] = this.size;
    return [w / 2 + (x - cx) / res, h / 2 - (y - cy) / res];
  }
  mercator(sx, sy) {
    const { cx, cy, res } = this.view, [w, h] = this.size;
    return [cx + (sx - w / 2) * res, cy - (sy - h / 2) * res];
  }
  // For tests: the screen position of a longitude/latitude.
  screenOf(lon, lat) { return this.screen(...toMercator(lon, lat)); }

  draw() {
    if (!this.view || !this.size) return;
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    ctx.fillStyle = "#e9edf0";
    ctx.fillRect(0, 0, ...this.size);
    if (this.header.basemap) this.drawTiles(ctx);
    const [x0, y0, x1, y1] = this.header.bounds;
    const [sx0, sy0] = this.screen(x0, y1), [sx1, sy1] = this.screen(x1, y0);
    ctx.imageSmoothingEnabled = false;
    ctx.globalAlpha = this.header.opacity;
    ctx.drawImage(this.image, sx0, sy0, sx1 - sx0, sy1 - sy0);
    ctx.globalAlpha = 1;
    for (const pin of this.header.pins) {
      const [px, py] = this.screenOf(pin.lon, pin.lat);
      ctx.beginPath(); ctx.arc(px, py, 6, 0, 2 * Math.PI);
      ctx.lineWidth = 3; ctx.strokeStyle = "#ffffff"; ctx.stroke();
      ctx.lineWidth = 2; ctx.strokeStyle = pin.colour; ctx.stroke();
    }
    this.canvas.dataset.painted = String((Number(this.canvas.dataset.painted) || 0) + 1);
    this.canvas.dataset.scene = this.header.scene;
    this.canvas.dataset.image = this.header.image;
    this.canvas.dataset.pins = String(this.header.pins.length);
  }

  drawTiles(ctx) {
    const z = Math.max(0, Math.min(this.header.basemap.max_zoom, Math.round(Math.log2(WORLD / (TILE * this.view.res)))));
    const n = 2 ** z, span = WORLD / n;
    const [left, top] = this.mercator(0, 0), [right, bottom] = this.mercator(...this.size);
    const tx0 = Math.floor((left + WORLD / 2) / span), tx1 = Math.floor((right + WORLD / 2) / span);
    const ty0 = Math.floor((WORLD / 2 - top) / span), ty1 = Math.floor((WORLD / 2 - bottom) / span);
    for (let ty = Math.max(ty0, 0); ty <= Math.min(ty1, n - 1); ty++) {
      for (let tx = tx0; tx <= tx1; tx++) {
        const wrapped = ((tx % n) + n) % n;
        const url = this.header.basemap.url.replace("{z}", z).replace("{x}", wrapped).replace("{y}", ty);
        let tile = this.tiles.get(url);
        if (!tile) {
          tile = new Image();
          tile.crossOrigin = "anonymous";
          tile.onload = () => this.draw();
          tile.onerror = () => { tile.failed = true; };
          tile.src = url;
          this.tiles.set(url, tile);
          if (this.tiles.size > 400) this.tiles.delete(this.tiles.keys().next().value);
        }
        if (!tile.complete || tile.failed || !tile.naturalWidth) continue;
        const mx = tx * span - WORLD / 2, my = WORLD / 2 - ty * span;
        const [sx, sy] = this.screen(mx, my);
        ctx.drawImage(tile, sx, sy, span / this.view.res + 0.5, span / this.view.res + 0.5);
      }
    }
  }

  // The grid cell under screen point (sx, sy), or -1.
  cell(sx, sy) {
    const [x, y] = this.mercator(sx, sy), [x0, y0, x1, y1] = this.header.bounds;
    const j = Math.floor((x - x0) / (x1 - x0) * this.header.w), i = Math.floor((y1 - y) / (y1 - y0) * this.header.h);
    return i >= 0 && j >= 0 && i < this.header.h && j < this.header.w ? i * this.header.w + j : -1;
  }

  point(e) {
    const rect = this.canvas.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  }

  move(e) {
    if (!this.header) return;
    const [sx, sy] = this.point(e);
    if (this.drag) {
      const dx = sx - this.drag.sx, dy = sy - this.drag.sy;
      if (Math.hypot(dx, dy) > CLICK_SLOP) this.drag.moved = true;
      this.view.cx = this.drag.cx - dx * this.view.res;
      this.view.cy = this.drag.cy + dy * this.view.res;
      this.draw();
      return;
    }
    const k = this.cell(sx, sy);
    const cells = this.header.w * this.header.h;
    const place = (lon, lat) => `lon ${lon.toFixed(6)}°, lat ${lat.toFixed(6)}°`;
    let parts;
    if (k >= 0 && this.index[k] >= 0) {
      // The pixel named and its centre's place: the pointer's own place may lie nearer another
      // pixel's centre than the named pixel's.
      const row = Math.floor(this.index[k] / this.header.cols), col = this.index[k] % this.header.cols;
      const shown = this.header.channel_names.map((name, c) => {
        const text = formatValue(this.values[c * cells + k]);
        return name ? `${name} ${text}` : text;
      });
      const lon = this.header.origin[0] + this.centres[k], lat = this.header.origin[1] + this.centres[cells + k];
      parts = [`row ${row}, column ${col}`];
      if (Number.isFinite(lon) && Number.isFinite(lat)) parts.push(`centre ${place(lon, lat)}`);
      parts.push(shown.join(", ") + (this.header.quantity ? ` ${this.header.quantity}` : ""));
    } else {
      parts = [place(...toLonLat(...this.mercator(sx, sy)))];
    }
    this.readout.textContent = parts.join(" · ");
  }

  down(e) {
    if (e.button !== 0 || !this.view) return;
    this.canvas.setPointerCapture(e.pointerId);
    const [sx, sy] = this.point(e);
    this.drag = { sx, sy, cx: this.view.cx, cy: this.view.cy, moved: false };
  }

  up(e) {
    const drag = this.drag;
    this.drag = null;
    if (!drag || drag.moved || !this.api) return;
    const [lon, lat] = toLonLat(...this.mercator(...this.point(e)));
    this.api.setTriggerValue("click", [lon, lat]);
  }

  wheel(e) {
    if (!this.view) return;
    e.preventDefault();
    this.zoomAt(this.point(e), e.deltaY < 0 ? 1 / 1.25 : 1.25);
  }

  zoomAt([sx, sy], factor) {
    const [x, y] = this.mercator(sx, sy);
    this.view.res = Math.min(Math.max(this.view.res * factor, 0.05), WORLD / TILE);
    const [nx, ny] = this.mercator(sx, sy);
    this.view.cx += x - nx; this.view.cy += y - ny;
    this.draw();
  }

  act(name) {
    if (!this.view) return;
    if (name === "fit") { this.fit(); this.draw(); return; }
    this.zoomAt([this.size[0] / 2, this.size[1] / 2], name === "in" ? 1 / 1.6 : 1.6);
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let map = parentElement.__cubescopeMap;
  if (!map) {
    map = new MapView(parentElement);
    parentElement.__cubescopeMap = map;
  }
  if (data) map.load(data, { setTriggerValue });
  return whenRemoved(parentElement, () => {
    map.resizer.disconnect();
    delete parentElement.__cubescopeMap;
  });
}
