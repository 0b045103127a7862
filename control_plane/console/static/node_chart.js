// The Data page's chart: reads the JSON of <script type="application/json" id="chart-data">
// ({"x": [epoch seconds], "series": [{"label", "values"}]}) and draws it with uPlot into #chart.
(function () {
  "use strict";
  var COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700"];

  function draw() {
    var source = document.getElementById("chart-data");
    var area = document.getElementById("chart");
    if (!source || !area || typeof uPlot === "undefined") {
      return;
    }
    var document_ = JSON.parse(source.textContent);
    var data = [document_.x];
    var series = [{}];
    document_.series.forEach(function (entry, index) {
      data.push(entry.values);
      series.push({
        label: entry.label,
        stroke: COLOURS[index % COLOURS.length],
        width: 2,
        spanGaps: true,
        points: { show: document_.x.length < 200 },
      });
    });
    var width = Math.max(280, area.clientWidth || 600);
    var chart = new uPlot(
      { width: width, height: 280, series: series, tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); } },
      data,
      area
    );
    area.setAttribute("data-drawn", String(document_.x.length));
    window.addEventListener("resize", function () {
      chart.setSize({ width: Math.max(280, area.clientWidth || 600), height: 280 });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
