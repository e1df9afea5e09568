// The patient's timeline (templates/exercises/timeline.html): one uPlot panel per group of
// series (adherence, pain and effort, then each measurement), one above the other on the same
// axis of days, with one cursor: pointing at a day in any panel shows that day in all of them,
// and each panel's heading gives its values for the day. The series travel as JSON in the
// figure's data-timeline (exercises/timeline.py). Runs under the portal's CSP, as
// measurement-chart.js does; the table below the figure carries the same data as text.
import uPlot from "../vendor/uplot-1.6.32/uPlot.esm.js";

const HEIGHT = { min: 120, max: 170, ratio: 0.22 };
const FONT = "12px system-ui, sans-serif";
const LOCALES = { nl: "nl-NL", en: "en-GB" };
const COLOURS = ["#0b6e69", "#b54708", "#6941c6"];

function pageLocale() {
  const lang = (document.documentElement.lang || "nl").toLowerCase().split("-")[0];
  return LOCALES[lang] || lang;
}

function seriesStyle(style, colour) {
  if (style === "points") {
    return { stroke: colour, width: 0, points: { show: true, size: 7, fill: colour } };
  }
  if (style === "step") {
    return { stroke: colour, width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } };
  }
  return { stroke: colour, width: 2, points: { show: false } };
}

function drawPanel(holder, data, panel, sync, dates, locale) {
  const section = document.createElement("section");
  section.className = "timeline__panel";
  const heading = document.createElement("p");
  heading.className = "timeline__heading";
  section.append(heading);
  const plot = document.createElement("div");
  section.append(plot);
  holder.append(section);
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: panel.decimals ?? 1 });
  const dayMonth = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", timeZone: "UTC" });
  const columns = [data.days, ...panel.series.map((s) => s.values)];
  const series = [
    {},
    ...panel.series.map((s, index) => ({ label: s.label, spanGaps: s.style !== "points", ...seriesStyle(s.style, COLOURS[index]) })),
  ];
  // The heading names the panel and, per series with its colour, the value of the day under
  // the cursor, or the newest value when the cursor is off the plot.
  const lastWithData = panel.series.map((s) => s.values.findLastIndex((v) => v != null));
  const describe = (index) => {
    heading.replaceChildren();
    const at = index ?? Math.max(...lastWithData);
    const title = document.createElement("strong");
    title.textContent = `${panel.label} (${panel.unit})`;
    heading.append(title);
    if (at >= 0) heading.append(` · ${dates.format(new Date(data.days[at] * 1000))}`);
    panel.series.forEach((s, n) => {
      const swatch = document.createElement("span");
      swatch.className = "timeline__swatch";
      swatch.style.backgroundColor = COLOURS[n]; // CSSOM, allowed under style-src 'self'
      const value = at >= 0 ? s.values[at] : null;
      heading.append(" ", swatch, ` ${s.label}: ${value == null ? "–" : number.format(value)}`);
    });
  };
  const size = () => {
    const width = plot.clientWidth || holder.clientWidth;
    return { width, height: Math.max(HEIGHT.min, Math.min(HEIGHT.max, Math.round(width * HEIGHT.ratio))) };
  };
  const chart = new uPlot(
    {
      ...size(),
      scales: { x: { time: true }, y: panel.range ? { range: () => panel.range } : {} },
      axes: [
        { font: FONT, space: 60, values: (u, splits) => splits.map((v) => dayMonth.format(new Date(v * 1000))) },
        { font: FONT, size: 48, values: (u, splits) => splits.map((v) => number.format(v)) },
      ],
      series,
      legend: { show: false },
      cursor: { sync: { key: sync.key }, drag: { x: false, y: false } },
      hooks: { setCursor: [(u) => describe(u.cursor.idx)] },
    },
    columns,
    plot,
  );
  describe(null);
  return { chart, size };
}

for (const figure of document.querySelectorAll("figure[data-timeline]")) {
  const data = JSON.parse(figure.dataset.timeline);
  const holder = figure.querySelector(".timeline__panels");
  const locale = pageLocale();
  const dates = new Intl.DateTimeFormat(locale, { day: "2-digit", month: "2-digit", year: "numeric", timeZone: "UTC" });
  figure.hidden = false;
  const sync = uPlot.sync("timeline");
  const panels = data.panels
    .filter((panel) => panel.series.some((s) => s.values.some((v) => v != null)))
    .map((panel) => drawPanel(holder, data, panel, sync, dates, locale));
  let pending = 0;
  new ResizeObserver(() => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      for (const panel of panels) panel.chart.setSize(panel.size());
    });
  }).observe(holder);
}
