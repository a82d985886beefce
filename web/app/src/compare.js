// Compare: a second map on top of the first, clipped at the swipe bar, showing one layer at
// another date (or another layer). The two maps follow each other's view.
import { el, loadTimes } from "./layers.js";

export class Compare {
  constructor(app, tools) {
    this.app = app;
    this.tools = tools;
    this.map = null;
    this.layer = null; // {id, time, opacity}
    this.swipe = 0.5;
    this.toggle = document.getElementById("compare");
    this.layerSelect = document.getElementById("compare-layer");
    this.timeSelect = document.getElementById("compare-time");
    this.bar = document.getElementById("swipe");
    this.toggle.addEventListener("change", () => (this.toggle.checked ? this.open({}) : this.close()));
    this.layerSelect.addEventListener("change", () => this.show(this.layerSelect.value, null));
    this.timeSelect.addEventListener("change", () => this.show(this.layer.id, this.timeSelect.value));
    this.dragging();
  }

  state() {
    return this.map && this.layer ? { id: this.layer.id, time: this.layer.time, swipe: this.swipe } : null;
  }

  rasters() {
    const active = this.app.active.map((l) => l.id);
    return this.app.catalog.filter((c) => c.kind === "raster").sort((a, b) => active.indexOf(b.id) - active.indexOf(a.id));
  }

  refreshChoices() {
    if (!this.map) return;
    const options = this.rasters().map((c) => el("option", { value: c.id, selected: c.id === this.layer?.id }, c.title));
    this.layerSelect.replaceChildren(...options);
  }

  async open({ id = null, time = null, swipe = 0.5 }) {
    if (!this.map) {
      document.getElementById("maps").classList.add("comparing");
      this.toggle.checked = true;
      this.map = this.tools.newMap("map-b");
      await this.map.once("load");
      this.tools.addBase(this.map);
      this.sync(this.app.map, this.map);
      this.sync(this.map, this.app.map);
      this.map.jumpTo({ center: this.app.map.getCenter(), zoom: this.app.map.getZoom() });
    }
    this.setSwipe(swipe);
    const first = id || this.app.active.at(-1)?.id || this.rasters()[0]?.id;
    if (first) await this.show(first, time);
    this.refreshChoices();
  }

  /** The compared layer at a time; null takes its earliest time, the usual "before" picture. */
  async show(id, time) {
    const entry = this.tools.entry(id);
    if (!entry) return;
    const times = await loadTimes(entry);
    const chosen = time || times[0] || null;
    if (this.layer && this.map.getLayer(`c:${this.layer.id}`)) {
      this.map.removeLayer(`c:${this.layer.id}`);
      this.map.removeSource(`c:${this.layer.id}`);
    }
    this.layer = { id, time: chosen, opacity: 1 };
    this.tools.addLayer(this.map, this.layer);
    this.timeSelect.replaceChildren(...times.map((t) => el("option", { value: t, selected: t === chosen }, t)));
    this.layerSelect.value = id;
    this.tools.saveState();
  }

  close() {
    if (!this.map) return;
    this.map.remove();
    this.map = null;
    this.layer = null;
    this.toggle.checked = false;
    document.getElementById("maps").classList.remove("comparing");
    this.tools.saveState();
  }

  sync(from, to) {
    from.on("move", () => {
      if (this.moving === to || !this.map) return;
      this.moving = from;
      to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
      this.moving = null;
    });
  }

  setSwipe(fraction) {
    this.swipe = Math.min(1, Math.max(0, fraction));
    const percent = `${(this.swipe * 100).toFixed(1)}%`;
    this.bar.style.left = percent;
    document.getElementById("map-b").style.clipPath = `inset(0 0 0 ${percent})`;
  }

  dragging() {
    const box = document.getElementById("maps");
    let active = false;
    this.bar.addEventListener("pointerdown", (event) => {
      active = true;
      this.bar.setPointerCapture(event.pointerId);
    });
    this.bar.addEventListener("pointermove", (event) => {
      if (!active) return;
      const rect = box.getBoundingClientRect();
      this.setSwipe((event.clientX - rect.left) / rect.width);
    });
    this.bar.addEventListener("pointerup", () => {
      active = false;
      this.tools.saveState();
    });
  }
}
