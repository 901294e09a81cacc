// Draws the dashboard's charts from the JSON blob the page embeds (json_script "dashboard-data").
(function () {
  "use strict";
  function draw() {
    var blob = document.getElementById("dashboard-data");
    if (!blob || typeof Chart === "undefined") return;
    var data = JSON.parse(blob.textContent);
    var charts = {};
    function bar(id, series, label, color, horizontal) {
      var canvas = document.getElementById(id);
      if (!canvas) return;
      charts[id] = new Chart(canvas, {
        type: "bar",
        data: {
          labels: series.labels,
          datasets: [{ label: label, data: series.values, backgroundColor: color, borderRadius: 3 }],
        },
        options: {
          indexAxis: horizontal ? "y" : "x",
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: {
            x: { beginAtZero: true, ticks: { precision: 0 } },
            y: { beginAtZero: true, ticks: { precision: 0 } },
          },
        },
      });
    }
    bar("funnel-chart", data.funnel, "Records", "#3b6fd6", true);
    bar("score-chart", data.scores, "Leads", "#2e9d5b", false);
    window.nurtureCharts = charts;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
