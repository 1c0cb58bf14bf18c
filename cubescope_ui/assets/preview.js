// The viewer's preview (cubescope_ui/viewer.py send_preview): a compressed copy of the window
// shown (mean, loadings and quantized principal-component scores) as bytes, and every band's
// stretch as JSON, kept per viewer key; the viewer paints any band from them and the spectra
// chart any pixel's spectrum before the server answers. Renders nothing itself.
// (payloadHeader comes from common.js, put before this file.)

const PREVIEWS = (window.__cubescopePreviews ||= {});

function parsePreview(bytes) {
  const { header, start } = payloadHeader(bytes);
  const n = header.n_bands, k = header.k, floats = n + n * k + 2 * k;
  // Copies: the payload's offset inside its buffer need not be a multiple of 4.
  const values = new Float32Array(bytes.slice(start, start + 4 * floats).buffer);
  const at = start + 4 * floats;
  return {
    header,
    mean: values.subarray(0, n),
    loadings: values.subarray(n, n + n * k),
    offsets: values.subarray(n + n * k, n + n * k + k),
    scales: values.subarray(n + n * k + k),
    codes: new Uint16Array(bytes.slice(at, at + 2 * k * header.h * header.w).buffer),
  };
}

export default function (component) {
  const { data } = component;
  if (data instanceof Uint8Array) {
    if (data.byteLength < 8) return;
    let header;
    try { ({ header } = payloadHeader(data)); } catch { return; }
    if (typeof header.key !== "string") return;
    const entry = (PREVIEWS[header.key] ||= {});
    // A copy sent again (the browser asked for it) is parsed only if it is not the one held.
    if (entry.model && entry.model.header.id === header.id && entry.size === data.byteLength) return;
    try { entry.model = parsePreview(data); } catch { return; }
    entry.size = data.byteLength;
  } else if (data && typeof data.target === "string" && typeof data.kept === "string") {
    // The server sent this preview before: ask again if it never arrived (a reload, a lost message).
    if (PREVIEWS[data.target]?.model?.header.id !== data.kept) component.setTriggerValue("missing", data.kept);
  } else if (data && typeof data.target === "string" && Array.isArray(data.limits)) {
    (PREVIEWS[data.target] ||= {}).stretch = data;
  }
}
