// The image of the next band, sent after everything else in a run (see cubescope_ui/viewer.py):
// when the band slider the viewer follows steps to it, the viewer paints it at once, before the
// server's run for that band. Renders nothing itself. (keepFollowed comes from common.js.)

export default function (component) {
  const { data } = component;
  if (!(data instanceof Uint8Array) || data.byteLength < 8) return;
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
  let header;
  try { header = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + length))); } catch { return; }
  if (!header.follow || typeof header.key !== "string") return;
  keepFollowed(header, data);
  const viewer = (window.__cubescopeViewers || {})[header.key];
  if (viewer) viewer.catchUp();  // the slider may have reached this band before it arrived
}
