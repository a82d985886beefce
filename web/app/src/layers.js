// The collections of the server as map layers: what each one is, its time values and its legend.
import { getJson, url } from "./api.js";

export const BASE = "sr_annual";
export const BASE_QUERY = "bands=red,green,blue&rescale=0,2500";

/** One entry per collection of `/collections`: raster (tiles) or vector (features). */
export async function loadCatalog() {
  const document = await getJson("/collections");
  return document.collections.map((c) => {
    const rels = new Set((c.links || []).map((l) => l.rel));
    const raster = (c.links || []).some((l) => l.rel === "item" && l.type === "image/png");
    const interval = c.extent?.temporal?.interval?.[0] || null;
    return {
      id: c.id,
      title: c.title || c.id,
      description: c.description || "",
      bbox: c.extent?.spatial?.bbox?.[0] || null,
      kind: raster ? "raster" : rels.has("items") ? "vector" : "other",
      interval,
      times: null,
      legend: null,
    };
  });
}

/** The time values of a raster collection (its coverage's time axis); [] when it has none. */
export async function loadTimes(entry) {
  if (entry.times !== null) return entry.times;
  try {
    const domain = await getJson(`/collections/${encodeURIComponent(entry.id)}/coverage/domainset`);
    const axis = (domain.generalGrid?.axis || []).find((a) => /^(time|t)$/i.test(a.axisLabel));
    entry.times = (axis?.coordinate || []).map((t) => String(t).slice(0, 10));
  } catch {
    entry.times = [];
  }
  return entry.times;
}

export async function loadLegend(entry) {
  if (entry.legend === null) {
    try {
      entry.legend = await getJson(`/collections/${encodeURIComponent(entry.id)}/legend`);
    } catch {
      entry.legend = {};
    }
  }
  return entry.legend;
}

/** XYZ tile template of a raster collection at a time (the latest slice when time is null). */
export function tileTemplate(id, time, query = "") {
  const params = [query, time ? `datetime=${encodeURIComponent(time)}` : ""].filter(Boolean).join("&");
  const base = url(`/tiles/collections/${encodeURIComponent(id)}/tiles/WebMercatorQuad/`);
  return `${base}{z}/{x}/{y}.png${params ? "?" + params : ""}`;
}

export function featuresUrl(id) {
  return url(`/collections/${encodeURIComponent(id)}/items`, { f: "json", limit: 1000 });
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) node.append(child);
  return node;
}
export { el };

/** A legend: class swatches with names, or a colour ramp between the stretch's ends with units. */
export function legendNode(legend) {
  const box = el("div", { class: "legend" });
  const units = legend.units && legend.units !== "class" ? ` ${legend.units}` : "";
  if (legend.classes?.length) {
    for (const c of legend.classes) {
      box.append(el("div", { class: "legend-class" }, el("span", { class: "swatch", style: `background:${c.color}` }), c.name));
    }
  } else if (legend.ramp?.length && legend.rescale) {
    box.append(el("div", { class: "ramp", style: `background:linear-gradient(to right,${legend.ramp.join(",")})` }));
    box.append(el("div", { class: "ramp-ends" }, el("span", {}, `${legend.rescale[0]}${units}`), el("span", {}, `${legend.rescale[1]}${units}`)));
  } else if (legend.bands?.length) {
    const stretch = legend.rescale ? `, ${legend.rescale[0]}–${legend.rescale[1]}${units}` : "";
    box.append(el("div", { class: "legend-rgb" }, `${legend.bands.join(" / ")}${stretch}`));
  }
  return box;
}
