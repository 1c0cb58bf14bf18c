// The images of the bands next to the one shown, sent after everything else in a run (see
// cubescope_ui/viewer.py): when the band slider the viewer follows steps to one of them, the
// viewer paints it at once, before the server's run for that band. Renders nothing itself.

export default function (component) {
  const { data } = component;
  if (!(data instanceof Uint8Array) || data.byteLength < 8) return;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = view.getUint32(0, true);
  let header;
  try { header = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + length))); } catch { return; }
  if (!header.follow || typeof header.key !== "string") return;
  const cache = ((window.__cubescopePrefetched ||= {})[header.key] ||= new Map());
  cache.delete(header.follow.value);
  cache.set(header.follow.value, data);
  while (cache.size > 4) cache.delete(cache.keys().next().value);  // the oldest first
}
