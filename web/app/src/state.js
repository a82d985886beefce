// Permalinks: the whole view lives in the URL hash, e.g.
// #map=13/-17.63/177.94&layers=land_cover@2010-07-01~0.8,population&panel=chart&compare=land_cover@2000-07-01
export function encode(state) {
  const parts = [];
  const [lng, lat] = state.center;
  parts.push(`map=${state.zoom.toFixed(2)}/${lat.toFixed(5)}/${lng.toFixed(5)}`);
  const layers = state.layers.map((l) => {
    let s = l.id;
    if (l.time) s += `@${l.time}`;
    if (l.opacity !== 1) s += `~${l.opacity}`;
    return s;
  });
  if (layers.length) parts.push(`layers=${layers.join(",")}`);
  if (state.panel) parts.push(`panel=${state.panel}`);
  if (state.compare) parts.push(`compare=${state.compare.id}@${state.compare.time || ""}~${state.compare.swipe.toFixed(3)}`);
  if (state.point) parts.push(`point=${state.point.map((v) => v.toFixed(6)).join(",")}`);
  if (state.area) parts.push(`area=${state.area.map(([x, y]) => `${x.toFixed(6)},${y.toFixed(6)}`).join(";")}`);
  return "#" + parts.map((p) => p.replace(/ /g, "%20")).join("&");
}

export function decode(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const state = {};
  const view = params.get("map");
  if (view) {
    const [zoom, lat, lng] = view.split("/").map(Number);
    if ([zoom, lat, lng].every(Number.isFinite)) Object.assign(state, { zoom, center: [lng, lat] });
  }
  if (params.has("layers")) {
    state.layers = params.get("layers").split(",").filter(Boolean).map((s) => {
      const [head, opacity] = s.split("~");
      const [id, time] = head.split("@");
      return { id, time: time || null, opacity: opacity === undefined ? 1 : Number(opacity) };
    });
  }
  if (params.get("panel")) state.panel = params.get("panel");
  if (params.get("compare")) {
    const [head, swipe] = params.get("compare").split("~");
    const [id, time] = head.split("@");
    state.compare = { id, time: time || null, swipe: swipe === undefined ? 0.5 : Number(swipe) };
  }
  if (params.get("point")) {
    const point = params.get("point").split(",").map(Number);
    if (point.length === 2 && point.every(Number.isFinite)) state.point = point;
  }
  if (params.get("area")) {
    const ring = params.get("area").split(";").map((p) => p.split(",").map(Number));
    if (ring.length >= 4 && ring.every((p) => p.length === 2 && p.every(Number.isFinite))) state.area = ring;
  }
  return state;
}
