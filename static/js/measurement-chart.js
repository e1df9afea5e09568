// The measurement chart: draws with uPlot the series the page embeds as JSON in the figure's
// data-measurement-chart. Does nothing on a page without the figure. uPlot draws on a canvas
// and sets element styles through the CSSOM only (no <style> elements, no style attributes), so
// it runs under the portal's CSP (script-src 'self'; style-src 'self').
//
// The legend is the module's own, not uPlot's (a table of clickable rows that a keyboard cannot
// reach): a button per series with aria-pressed, the values under the cursor beside it, and the
// reference and limit lines named in words below, so no label is drawn over the lines or the
// axis numbers at any width.
import uPlot from "../vendor/uplot-1.6.32/uPlot.esm.js";

const DAY = 86400;
const HEIGHT = { min: 220, max: 360, ratio: 0.45 };
const FONT = "12px system-ui, sans-serif";
// Canvas dash patterns (CSS pixels): the ESH reference dashed, the patient's own limit dotted,
// as their swatches in measurement-chart.css.
const DASH = { reference: [6, 4], limit: [2, 3] };
// English means en-GB everywhere (dd/mm/yyyy, 24-hour clock), whatever variant the browser
// prefers; Dutch is nl-NL (dd-mm-yyyy, 77,9).
const LOCALES = { nl: "nl-NL", en: "en-GB" };

function pageLocale() {
  const lang = (document.documentElement.lang || "nl").toLowerCase().split("-")[0];
  return LOCALES[lang] || lang;
}

function cssColour(element, name, fallback) {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
}

function dateFormats(locale, timeZone) {
  const format = (options) =>
    new Intl.DateTimeFormat(locale, { timeZone, hourCycle: "h23", ...options });
  const day = { day: "2-digit", month: "2-digit" };
  return {
    time: format({ hour: "2-digit", minute: "2-digit" }),
    dayMonth: format(day),
    month: format({ month: "short" }),
    year: format({ year: "numeric" }),
    date: format({ ...day, year: "numeric" }),
    dateTime: format({ ...day, year: "numeric", hour: "2-digit", minute: "2-digit" }),
  };
}

// A value as the tables show it: the kind's decimals, the language's separator, no grouping.
function fixedNumber(locale, decimals) {
  return new Intl.NumberFormat(locale, {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
    useGrouping: false,
  });
}

// Tick labels for the time axis, chosen by the distance between ticks; a second line names the
// day or year only where it changes, as a reader of a paper chart would expect.
function timeTicks(dates) {
  return (u, splits, axisIdx, space, incr) => {
    let previousContext = "";
    return splits.map((split) => {
      if (split == null) return null;
      const date = new Date(split * 1000);
      let main;
      let context;
      if (incr < DAY) [main, context] = [dates.time.format(date), dates.dayMonth.format(date)];
      else if (incr < 28 * DAY) [main, context] = [dates.dayMonth.format(date), dates.year.format(date)];
      else if (incr < 365 * DAY) [main, context] = [dates.month.format(date), dates.year.format(date)];
      else [main, context] = [dates.year.format(date), ""];
      const label = context && context !== previousContext ? `${main}\n${context}` : main;
      previousContext = context;
      return label;
    });
  };
}

// Steps between value ticks for kinds measured in whole numbers (blood pressure, pulse, steps):
// no 66,5 /min between readings that are never fractional.
const WHOLE_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 5e4];

// Value ticks share one count of decimals, that of the step between them (77,5 78,0 78,5).
function valueTicks(locale) {
  const formats = new Map();
  return (u, splits, axisIdx, space, incr) => {
    const decimals = (String(+incr.toFixed(6)).split(".")[1] || "").length;
    if (!formats.has(decimals)) formats.set(decimals, fixedNumber(locale, decimals));
    return splits.map((v) => (v == null ? "" : formats.get(decimals).format(v)));
  };
}

// A y axis as wide as its longest number, rather than uPlot's fixed 50 pixels: on a phone
// every pixel goes to the plot.
const measure = document.createElement("canvas").getContext("2d");
measure.font = FONT;
const TICK_SIZE = 4;
const TICK_GAP = 4;
function axisSize(u, values) {
  const widest = Math.max(0, ...(values || []).map((v) => measure.measureText(v || "").width));
  return Math.ceil(widest) + TICK_SIZE + TICK_GAP + 2;
}

// The y range around the shown readings and lines, padded; a flat line gets some room. A scale
// whose series are all switched off has no range, and then uPlot leaves out its axis and the
// room it takes (the pulse axis while pulse is hidden).
function valueRange(min, max, pinned) {
  if (min == null || max == null) return [null, null];
  let low = Math.min(min, ...pinned);
  let high = Math.max(max, ...pinned);
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

// The reference and limit lines of the shown series, drawn on the canvas after the series.
function drawLines(lines, colours, isLineShown) {
  return (u) => {
    const ratio = window.devicePixelRatio || 1;
    const { ctx, bbox } = u;
    ctx.save();
    ctx.lineWidth = ratio;
    for (const line of lines) {
      if (!isLineShown(u, line) || u.scales[line.scale].min == null) continue;
      const y = Math.round(u.valToPos(line.value, line.scale, true));
      if (y < bbox.top || y > bbox.top + bbox.height) continue;
      ctx.strokeStyle = colours[line.series] || colours.reference;
      ctx.setLineDash(DASH[line.style].map((length) => length * ratio));
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
    }
    ctx.restore();
  };
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

// The legend: per series a toggle button and the value at the cursor (or the latest point when
// the cursor is off the plot), then the lines. Returns the update for a point index.
function buildLegend(container, data, entries, lines, dates) {
  const time = element("p", "measurement-chart__time");
  time.setAttribute("aria-hidden", "true"); // live values follow the mouse: the table has them
  const timeValue = element("span", "measurement-chart__value");
  time.append(element("span", "measurement-chart__name", `${data.time_label}: `), timeValue);

  const list = element("ul", "measurement-chart__series");
  for (const entry of entries) {
    const item = element("li", "measurement-chart__entry");
    item.dataset.key = entry.key;
    entry.button = element("button", "measurement-chart__toggle");
    entry.button.type = "button";
    entry.button.append(element("span", "measurement-chart__swatch"), entry.label);
    entry.button.setAttribute("aria-pressed", String(entry.show));
    entry.value = element("span", "measurement-chart__value");
    entry.value.setAttribute("aria-hidden", "true");
    entry.value.hidden = !entry.show;
    item.append(entry.button, " ", entry.value);
    list.append(item);
  }

  const key = element("ul", "measurement-chart__lines");
  for (const line of lines) {
    line.item = element("li", `measurement-chart__line measurement-chart__line--${line.style}`);
    line.item.dataset.key = line.series;
    line.item.append(element("span", "measurement-chart__dash"), line.label);
    key.append(line.item);
  }
  container.replaceChildren(time, list, ...(lines.length ? [key] : []));

  const last = data.x.length - 1;
  const timeFormat = data.bucket ? dates.date : dates.dateTime;
  return (index) => {
    const i = index == null ? last : index;
    timeValue.textContent = timeFormat.format(new Date(data.x[i] * 1000));
    for (const entry of entries) entry.value.textContent = entry.format(i);
  };
}

// The text of a series' value at a point: "131 mmHg", or aggregated "131,4 (120–140) mmHg".
function valueText(locale, data, s) {
  const mean = fixedNumber(locale, data.decimals + (data.aggregated ? 1 : 0));
  const edge = fixedNumber(locale, data.decimals);
  return (i) => {
    const value = s.mean[i];
    if (value == null) return "–";
    const range = data.aggregated ? ` (${edge.format(s.min[i])}–${edge.format(s.max[i])})` : "";
    return `${mean.format(value)}${range} ${s.unit}`.trim();
  };
}

function draw(data, figure) {
  const plot = figure.querySelector(".measurement-chart__plot");
  const legend = figure.querySelector(".measurement-chart__legend");
  const locale = pageLocale();
  const dates = dateFormats(locale, data.time_zone);
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
  const columns = [data.x];
  const series = [{ label: data.time_label }];
  const bands = [];
  const units = [];
  const entries = []; // the legend's series: key, label, uPlot index, edges, value text
  for (const s of data.series) {
    const scale = scaleKey(s.unit);
    if (!units.includes(s.unit)) units.push(s.unit);
    // Blood pressure shows systolic and diastolic; its pulse is one legend press away.
    const show = s.key !== "pulse";
    columns.push(s.mean);
    // Nulls (gaps in the readings, see charts.py) break the line: spanGaps stays false.
    series.push({ label: s.label, scale, show, stroke: colours[s.key], width: 2 });
    const entry = { key: s.key, label: s.label, show, index: columns.length - 1, edges: [] };
    entry.format = valueText(locale, data, s);
    entries.push(entry);
    if (data.aggregated) {
      const edge = { label: s.label, scale, show, width: 0, points: { show: false } };
      columns.push(s.min, s.max);
      series.push({ ...edge }, { ...edge });
      entry.edges = [entry.index + 1, entry.index + 2];
      bands.push({ series: [entry.index + 2, entry.index + 1], fill: bandColours[s.key] });
    }
  }

  // Reference lines (ESH) and the patient's own limits share one shape: series, value, label.
  const entryOf = Object.fromEntries(entries.map((entry) => [entry.key, entry]));
  const unitOf = Object.fromEntries(data.series.map((s) => [s.key, s.unit]));
  const lines = [
    ...data.references.map((line) => ({ ...line, style: "reference" })),
    ...data.thresholds.map((line) => ({ ...line, style: "limit" })),
  ]
    .filter((line) => line.series in unitOf)
    .map((line) => ({ ...line, scale: scaleKey(unitOf[line.series]) }));
  const isLineShown = (u, line) => u.series[entryOf[line.series].index].show;

  // Keep the lines of the shown series in view even when every reading lies far from them.
  const scales = { x: { time: true } };
  for (const unit of units) {
    const scale = scaleKey(unit);
    scales[scale] = {
      range: (u, min, max) => {
        const pinned = lines.filter((l) => l.scale === scale && isLineShown(u, l));
        return valueRange(min, max, pinned.map((l) => l.value));
      },
    };
  }
  const axes = [
    { values: timeTicks(dates), space: 70, font: FONT },
    ...units.map((unit, index) => ({
      scale: scaleKey(unit),
      label: unit || data.label,
      labelSize: 16,
      labelGap: 0,
      labelFont: FONT,
      font: FONT,
      values: valueTicks(locale),
      incrs: data.decimals === 0 ? WHOLE_STEPS : undefined,
      size: axisSize,
      gap: TICK_GAP,
      ticks: { size: TICK_SIZE },
      side: index === 0 ? 3 : 1,
      grid: { show: index === 0 },
    })),
  ];

  figure.hidden = false;
  const size = () => {
    const width = plot.clientWidth;
    const height = Math.max(HEIGHT.min, Math.min(HEIGHT.max, Math.round(width * HEIGHT.ratio)));
    return { width, height };
  };
  let updateLegend = () => {};
  const chart = new uPlot(
    {
      ...size(),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), data.time_zone),
      scales,
      axes,
      series,
      bands,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      hooks: {
        draw: [drawLines(lines, colours, isLineShown)],
        setCursor: [(u) => updateLegend(u.cursor.idx)],
      },
    },
    columns,
    plot,
  );

  // A series switched on or off takes its lowest-to-highest band and its lines along.
  const toggle = (entry) => {
    const show = !chart.series[entry.index].show;
    chart.batch(() => {
      for (const index of [entry.index, ...entry.edges]) chart.setSeries(index, { show });
    });
    entry.button.setAttribute("aria-pressed", String(show));
    entry.value.hidden = !show;
    for (const line of lines) line.item.hidden = !isLineShown(chart, line);
  };
  updateLegend = buildLegend(legend, data, entries, lines, dates);
  for (const entry of entries) entry.button.addEventListener("click", () => toggle(entry));
  for (const line of lines) line.item.hidden = !isLineShown(chart, line);
  updateLegend(null);

  // Redraw at the new width when the layout changes (window resize, sidebar, rotation).
  let pending = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      const next = size();
      if (next.width > 0 && next.width !== chart.width) chart.setSize(next);
    });
  }).observe(plot);
  return chart;
}

// Last, once every constant above is defined.
const figure = document.querySelector("[data-measurement-chart]");
if (figure) {
  const data = JSON.parse(figure.dataset.measurementChart);
  // Kept on the element for the browser tests and for debugging from the console.
  if (data.x.length > 0) figure.measurementChart = draw(data, figure);
}
