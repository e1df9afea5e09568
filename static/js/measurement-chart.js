// The measurement chart: draws the series the page embeds as JSON (json_script) with uPlot.
// Does nothing on a page without the data element. uPlot draws on a canvas and sets element
// styles through the CSSOM only (no <style> elements, no style attributes), so it runs under
// the portal's CSP (script-src 'self'; style-src 'self').
import uPlot from "../vendor/uplot-1.6.32/uPlot.esm.js";

const DAY = 86400;
const HEIGHT = { min: 220, max: 360, ratio: 0.45 };

const dataElement = document.getElementById("measurement-chart-data");
const figure = document.querySelector("[data-measurement-chart]");
if (dataElement && figure) {
  const data = JSON.parse(dataElement.textContent);
  if (data.x.length > 0) draw(data, figure);
}

// The interface language decides the locale; the browser's own variant of it (en-GB rather than
// en-US) is preferred when it lists one.
function userLocale() {
  const lang = (document.documentElement.lang || "nl").toLowerCase();
  const variant = (navigator.languages || []).find(
    (candidate) => candidate.toLowerCase().split("-")[0] === lang.split("-")[0],
  );
  return variant || lang;
}

function cssColour(element, name, fallback) {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
}

// Tick labels for the time axis, chosen by the distance between ticks; a second line names the
// day or year only where it changes, as a reader of a paper chart would expect.
function timeTicks(locale, timeZone) {
  const format = (options) => new Intl.DateTimeFormat(locale, { timeZone, ...options });
  const time = format({ hour: "2-digit", minute: "2-digit" });
  const dayMonth = format({ day: "numeric", month: "short" });
  const month = format({ month: "short" });
  const year = format({ year: "numeric" });
  return (u, splits, axisIdx, space, incr) => {
    let previousContext = "";
    return splits.map((split) => {
      if (split == null) return null;
      const date = new Date(split * 1000);
      let main;
      let context;
      if (incr < DAY) [main, context] = [time.format(date), dayMonth.format(date)];
      else if (incr < 28 * DAY) [main, context] = [dayMonth.format(date), year.format(date)];
      else if (incr < 365 * DAY) [main, context] = [month.format(date), year.format(date)];
      else [main, context] = [year.format(date), ""];
      const label = context && context !== previousContext ? `${main}\n${context}` : main;
      previousContext = context;
      return label;
    });
  };
}

function legendTime(locale, timeZone, bucket) {
  const options = bucket ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" };
  const format = new Intl.DateTimeFormat(locale, { timeZone, ...options });
  return (u, value) => (value == null ? "–" : format.format(new Date(value * 1000)));
}

function legendNumber(locale, decimals, unit) {
  const format = new Intl.NumberFormat(locale, { maximumFractionDigits: decimals });
  return (u, value) => (value == null ? "–" : `${format.format(value)} ${unit}`.trim());
}

// Aggregated: the mean's legend entry also names the bucket's lowest and highest reading, so
// the band's own series can stay out of the legend.
function legendRange(locale, decimals, edgeDecimals, unit, lows, highs) {
  const mean = new Intl.NumberFormat(locale, { maximumFractionDigits: decimals });
  const edge = new Intl.NumberFormat(locale, { maximumFractionDigits: edgeDecimals });
  return (u, value, seriesIdx, dataIdx) => {
    if (value == null || dataIdx == null) return "–";
    const range = `${edge.format(lows[dataIdx])}–${edge.format(highs[dataIdx])}`;
    return `${mean.format(value)} (${range}) ${unit}`.trim();
  };
}

// The y range around the readings and reference lines, padded; a flat line gets some room.
function valueRange(values) {
  const known = values.filter((v) => v != null);
  if (known.length === 0) return [0, 1];
  let low = Math.min(...known);
  let high = Math.max(...known);
  if (low === high) {
    const pad = Math.max(Math.abs(low) * 0.05, 1);
    [low, high] = [low - pad, high + pad];
  }
  return uPlot.rangeNum(low, high, 0.1, false);
}

// One y scale per unit: blood pressure in mmHg on the left, its pulse per minute on the right.
function scaleKey(unit) {
  return unit || "value";
}

// The reference and threshold lines, drawn on the canvas after the series.
function drawLines(lines, colours) {
  return (u) => {
    const ratio = window.devicePixelRatio || 1;
    const { ctx, bbox } = u;
    ctx.save();
    ctx.lineWidth = ratio;
    ctx.setLineDash([6 * ratio, 4 * ratio]);
    ctx.font = `${12 * ratio}px system-ui, sans-serif`;
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    for (const line of lines) {
      const y = Math.round(u.valToPos(line.value, line.scale, true));
      if (y < bbox.top || y > bbox.top + bbox.height) continue;
      ctx.strokeStyle = colours[line.series] || colours.reference;
      ctx.fillStyle = ctx.strokeStyle;
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      ctx.fillText(line.label, bbox.left + bbox.width - 4 * ratio, y - 2 * ratio);
    }
    ctx.restore();
  };
}

function draw(data, figure) {
  const plot = figure.querySelector(".measurement-chart__plot");
  const locale = userLocale();
  const colours = {
    reference: cssColour(figure, "--chart-reference", "#5b6b7b"),
    systolic: cssColour(figure, "--chart-systolic", "#0b6e69"),
    diastolic: cssColour(figure, "--chart-diastolic", "#6941c6"),
    pulse: cssColour(figure, "--chart-pulse", "#b54708"),
    value: cssColour(figure, "--chart-value", "#0b6e69"),
  };
  const bandColours = {
    systolic: cssColour(figure, "--chart-systolic-band", "rgba(11, 110, 105, 0.15)"),
    diastolic: cssColour(figure, "--chart-diastolic-band", "rgba(105, 65, 198, 0.15)"),
    pulse: cssColour(figure, "--chart-pulse-band", "rgba(181, 71, 8, 0.15)"),
    value: cssColour(figure, "--chart-value-band", "rgba(11, 110, 105, 0.15)"),
  };
  const decimals = data.decimals + (data.aggregated ? 1 : 0);
  const columns = [data.x];
  const series = [{ label: data.time_label, value: legendTime(locale, data.time_zone, data.bucket) }];
  const bands = [];
  const units = [];
  const edgesOf = new Map(); // a mean series' index -> its lowest and highest series' indices
  for (const s of data.series) {
    const scale = scaleKey(s.unit);
    if (!units.includes(s.unit)) units.push(s.unit);
    const value = data.aggregated
      ? legendRange(locale, decimals, data.decimals, s.unit, s.min, s.max)
      : legendNumber(locale, decimals, s.unit);
    columns.push(s.mean);
    series.push({
      label: s.label,
      scale,
      value,
      stroke: colours[s.key],
      width: 2,
      spanGaps: true,
      // Blood pressure shows systolic and diastolic; its pulse is one legend click away.
      show: s.key !== "pulse",
    });
    if (data.aggregated) {
      const meanIndex = columns.length - 1;
      const edge = { scale, width: 0, points: { show: false }, show: s.key !== "pulse" };
      columns.push(s.min, s.max);
      // Out of the legend (rows hidden below): the mean's entry names lowest and highest.
      series.push({ ...edge, label: s.label }, { ...edge, label: s.label });
      edgesOf.set(meanIndex, [meanIndex + 1, meanIndex + 2]);
      bands.push({ series: [meanIndex + 2, meanIndex + 1], fill: bandColours[s.key] });
    }
  }

  // Reference lines and (later) per-patient thresholds share one shape: series, value, label.
  const unitOf = Object.fromEntries(data.series.map((s) => [s.key, s.unit]));
  const lines = [...data.references, ...data.thresholds]
    .filter((line) => line.series in unitOf)
    .map((line) => ({ ...line, scale: scaleKey(unitOf[line.series]) }));

  // Keep the reference lines in view even when every reading lies far below or above them.
  const scales = { x: { time: true } };
  for (const unit of units) {
    const pinned = lines.filter((line) => line.scale === scaleKey(unit)).map((l) => l.value);
    scales[scaleKey(unit)] = { range: (u, min, max) => valueRange([min, max, ...pinned]) };
  }
  // An axis whose series are all switched off (pulse, at first) keeps its place but no labels.
  const isShown = (u, scale) => u.series.some((s, i) => i > 0 && s.show && s.scale === scale);
  const axes = [
    { values: timeTicks(locale, data.time_zone), space: 70 },
    ...units.map((unit, index) => {
      const scale = scaleKey(unit);
      const number = new Intl.NumberFormat(locale);
      return {
        scale,
        label: (u) => (isShown(u, scale) ? unit || data.label : ""),
        values: (u, splits) =>
          splits.map((v) => (isShown(u, scale) && v != null ? number.format(v) : "")),
        side: index === 0 ? 3 : 1,
        grid: { show: index === 0 },
      };
    }),
  ];

  figure.hidden = false;
  const size = () => {
    const width = plot.clientWidth;
    const height = Math.max(HEIGHT.min, Math.min(HEIGHT.max, Math.round(width * HEIGHT.ratio)));
    return { width, height };
  };
  const chart = new uPlot(
    {
      ...size(),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), data.time_zone),
      scales,
      axes,
      series,
      bands,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      hooks: {
        draw: [drawLines(lines, colours)],
        // A mean switched on or off in the legend takes its lowest-to-highest band along.
        setSeries: [
          (u, index, change) => {
            if (change && "show" in change) {
              for (const edge of edgesOf.get(index) || []) u.setSeries(edge, { show: change.show });
            }
          },
        ],
      },
    },
    columns,
    plot,
  );
  const legendRows = chart.root.querySelectorAll(".u-legend .u-series");
  for (const edge of [...edgesOf.values()].flat()) legendRows[edge].hidden = true;

  // Redraw at the new width when the layout changes (window resize, sidebar, rotation).
  let pending = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      const next = size();
      if (next.width > 0 && next.width !== chart.width) chart.setSize(next);
    });
  }).observe(plot);
}
