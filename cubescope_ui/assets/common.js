// Helpers shared by the image viewer, the spectra chart, the map and the prefetch component (put
// before each).

// Round tick values between lo and hi, about `count` of them.
function niceTicks(lo, hi, count) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const rough = span / count, magnitude = Math.pow(10, Math.floor(Math.log10(rough)));
  const f = rough / magnitude;
  const step = (f >= 7.5 ? 10 : f >= 3.5 ? 5 : f >= 1.5 ? 2 : 1) * magnitude;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

function formatTick(x) {
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? x.toExponential(1) : String(Number(x.toPrecision(4)));
}

function formatValue(x) {
  if (!Number.isFinite(x)) return "no data";
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return x.toExponential(4);
  return String(Number(x.toPrecision(6)));
}

// The JSON header of an image payload (cubescope_ui/viewer.py `pack`) and where the values
// begin: a little-endian uint32 length, then the header padded to a multiple of 4 bytes.
function payloadHeader(bytes) {
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))), start: 4 + length };
}

// Keep an image payload, with its header, for the value of the slider that picks it: the next
// band sent ahead, and the bands a viewer has shown (at most four per viewer, oldest out first).
function keepFollowed(header, bytes) {
  const cache = ((window.__cubescopePrefetched ||= {})[header.key] ||= new Map());
  cache.delete(header.follow.value);
  cache.set(header.follow.value, { header, bytes });
  while (cache.size > 4) cache.delete(cache.keys().next().value);
}

// The cleanup a component returns: `destroy` once the component's element has left the page.
// Streamlit also calls the cleanup of a call whose data was replaced while that call was still
// loading its module, after the call has run on the object it shares with the newer call; taking
// the object down then blanked a viewer still on the page (and lost its zoom and tool), so
// whether the element is still there decides.
function whenRemoved(element, destroy) {
  return () => setTimeout(() => { if (!element.isConnected) destroy(); }, 0);
}
