// The pins, region and polygons drawn over a viewer, sent apart from its image (see viewer.js).
// Renders nothing itself.

export default function (component) {
  const { data } = component;
  if (!data || typeof data.target !== "string" || !Array.isArray(data.overlays)) return;
  const viewers = (window.__cubescopeViewers ||= {});
  const overlays = (window.__cubescopeOverlays ||= {});
  overlays[data.target] = data.overlays;
  if (viewers[data.target]) viewers[data.target].draw();
}
