// Drawing an area on the map: clicks add vertices, "Finish" closes the polygon.
const EMPTY = { type: "FeatureCollection", features: [] };

export class AreaDrawing {
  constructor(map, onFinish) {
    this.map = map;
    this.onFinish = onFinish;
    this.active = false;
    this.vertices = [];
    map.addSource("draw", { type: "geojson", data: EMPTY });
    map.addLayer({ id: "draw-fill", type: "fill", source: "draw", paint: { "fill-color": "#ff6f00", "fill-opacity": 0.2 } });
    map.addLayer({ id: "draw-line", type: "line", source: "draw", paint: { "line-color": "#ff6f00", "line-width": 2 } });
    this.startButton = document.getElementById("draw-area");
    this.finishButton = document.getElementById("finish-area");
    this.startButton.addEventListener("click", () => this.start());
    this.finishButton.addEventListener("click", () => this.finish());
  }

  start() {
    this.active = true;
    this.vertices = [];
    this.finishButton.disabled = true;
    this.startButton.classList.add("on");
    this.render();
  }

  add([lng, lat]) {
    this.vertices.push([lng, lat]);
    this.finishButton.disabled = this.vertices.length < 3;
    this.render();
  }

  /** Show a finished ring (a permalink's area) without drawing. */
  show(ring) {
    this.vertices = ring.slice(0, -1);
    this.render();
  }

  finish() {
    if (this.vertices.length < 3) return;
    this.active = false;
    this.startButton.classList.remove("on");
    this.finishButton.disabled = true;
    this.onFinish([...this.vertices, this.vertices[0]]);
  }

  render() {
    const v = this.vertices;
    const geometry = v.length >= 3 ? { type: "Polygon", coordinates: [[...v, v[0]]] } : { type: "LineString", coordinates: v };
    this.map.getSource("draw").setData(v.length ? { type: "Feature", geometry, properties: {} } : EMPTY);
  }
}
