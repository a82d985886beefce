// covutils (pygeoapi's coverage and EDR pages) fetches the proj4 definition of a projected CRS from
// https://epsg.io. Offline that request fails and the map stays empty, so answer it here for the CRSs
// sdgcube's cubes use (WGS 84 / UTM north and south, Web Mercator) and refuse any other without
// leaving the machine.
(function () {
  var known = {
    3857: "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs",
    4326: "+proj=longlat +datum=WGS84 +no_defs",
  };
  function definition(code) {
    if (known[code]) return known[code];
    var zone = code % 100;
    if (zone >= 1 && zone <= 60 && (Math.floor(code / 100) === 326 || Math.floor(code / 100) === 327)) {
      return "+proj=utm +zone=" + zone + (Math.floor(code / 100) === 327 ? " +south" : "") +
        " +datum=WGS84 +units=m +no_defs";
    }
    return null;
  }
  var fetchOnline = window.fetch.bind(window);
  window.fetch = function (resource, options) {
    var url = typeof resource === "string" ? resource : resource.url;
    var match = /^https:\/\/epsg\.io\/(\d+)\.proj4$/.exec(url);
    if (!match) return fetchOnline(resource, options);
    var proj = definition(parseInt(match[1], 10));
    return Promise.resolve(proj ? new Response(proj, { status: 200 })
      : new Response("EPSG:" + match[1] + " is not known offline", { status: 404 }));
  };
})();
