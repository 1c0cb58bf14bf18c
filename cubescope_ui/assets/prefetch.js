// The image of the next band, sent after everything else in a run (see cubescope_ui/viewer.py):
// when the band slider the viewer follows steps to it, the viewer paints it at once, before the
// server's run for that band. Renders nothing itself.
// (payloadHeader and keepFollowed come from common.js, put before this file.)

export default function (component) {
  const { data } = component;
  if (!(data instanceof Uint8Array) || data.byteLength < 8) return;
  let header;
  try { ({ header } = payloadHeader(data)); } catch { return; }
  if (!header.follow || typeof header.key !== "string") return;
  keepFollowed(header, data);
  const viewer = (window.__cubescopeViewers || {})[header.key];
  if (viewer) viewer.catchUp();  // the slider may have reached this band before it arrived
}
