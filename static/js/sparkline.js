// The dashboard's sparklines: a kind's daily means over the last 30 days, drawn with uPlot from
// the element's data-sparkline ("day:mean[:second],…", days 0-29). Decorative: the value, its
// limit mark and its trend are in the cell as text. Same x range for every patient, so lines
// compare down the column.
import uPlot from "../vendor/uplot-1.6.32/uPlot.esm.js";

const DAYS = 30;
const SIZE = { width: 96, height: 24 };

// "3:140:90,4:138.5:88" → [[3, 4], [140, 138.5], [90, 88]]: days, then one line per value.
function parse(text) {
  const points = text.split(",").map((point) => point.split(":").map(Number));
  return points[0].map((_, column) => points.map((point) => point[column]));
}

function colour(element, name, fallback) {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
}

function draw(element) {
  const [days, ...lines] = parse(element.dataset.sparkline);
  const stroke = colour(element, "--sparkline", "#0b6e69");
  const second = colour(element, "--sparkline-second", "#5b6b7b");
  const values = lines.flat();
  const low = Math.min(...values);
  const high = Math.max(...values);
  const pad = Math.max((high - low) * 0.1, 0.5);
  new uPlot(
    {
      width: element.clientWidth || SIZE.width,
      height: element.clientHeight || SIZE.height,
      pxAlign: false,
      cursor: { show: false },
      legend: { show: false },
      select: { show: false },
      axes: [{ show: false }, { show: false }],
      scales: {
        x: { time: false, range: [0, DAYS - 1] },
        y: { range: [low - pad, high + pad] },
      },
      series: [
        {},
        ...lines.map((_, index) => ({
          stroke: index === 0 ? stroke : second,
          width: 1.5,
          points: { show: days.length < 3, size: 3 },
        })),
      ],
    },
    [days, ...lines],
    element,
  );
}

for (const element of document.querySelectorAll("[data-sparkline]")) draw(element);
