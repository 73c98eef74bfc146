// Reports: a date range, the month at a glance (tiles), created vs resolved
// per day as an inline SVG chart, the agents' table, and a CSV download.

import { h, mount, span, showProblem, clearProblem } from "../dom.js";
import { api } from "../api.js";

const day = (d) => d.toISOString().slice(0, 10);

function duration(secs) {
  return secs == null ? "–" : span(secs);
}

function pct(value) {
  return value == null ? "–" : `${value}%`;
}

/** Created (blue) and resolved (green) per day as two lines, with the
 * largest value and the first and last dates on the axes. */
function chart(days) {
  const width = 640, height = 220, left = 36, bottom = 24, top = 10;
  const max = Math.max(1, ...days.map((d) => Math.max(d.created, d.resolved)));
  const x = (i) => left + (days.length < 2 ? 0 : (i * (width - left - 8)) / (days.length - 1));
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const line = (key) => days.map((d, i) => `${x(i).toFixed(1)},${y(d[key]).toFixed(1)}`).join(" ");
  const svg = (tag, attrs, ...children) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    for (const c of children) el.append(c);
    return el;
  };
  const total = (key) => days.reduce((n, d) => n + d[key], 0);
  return svg("svg", {
    class: "report-chart", id: "report-chart", viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `Created ${total("created")} and resolved ${total("resolved")} tickets from ${days[0].date} to ${days[days.length - 1].date}`,
  },
  svg("line", { class: "axis", x1: left, y1: y(0), x2: width - 8, y2: y(0) }),
  svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: y(0) }),
  svg("text", { x: 2, y: top + 10 }, String(max)),
  svg("text", { x: 2, y: y(0) }, "0"),
  svg("text", { x: left, y: height - 6 }, days[0].date),
  svg("text", { x: width - 78, y: height - 6 }, days[days.length - 1].date),
  svg("polyline", { class: "created", points: line("created") }),
  svg("polyline", { class: "resolved", points: line("resolved") }));
}

function csv(report) {
  return ["date,created,resolved", ...report.by_day.map((d) => `${d.date},${d.created},${d.resolved}`)].join("\n") + "\n";
}

export function view() {
  return async (main) => {
    const today = new Date();
    const from = h("input", { type: "date", name: "from", id: "report-from", value: day(new Date(today.getTime() - 29 * 86400000)) });
    const to = h("input", { type: "date", name: "to", id: "report-to", value: day(today) });
    const message = h("div", { "aria-live": "polite" });
    const out = h("div", { id: "report" });
    const form = h("form", { class: "row", id: "report-range" },
      h("label", {}, "From ", from), h("label", {}, "To ", to),
      h("button", { class: "primary", type: "submit" }, "Show"), message);

    async function load() {
      clearProblem(message, form);
      let report, stats;
      try {
        [report, stats] = await Promise.all([
          api("GET", `/api/v1/reports?from=${from.value}&to=${to.value}`),
          api("GET", "/api/v1/tickets/stats"),
        ]);
      } catch (e) { showProblem(message, e, form); return; }
      const backlog = ["open", "in_progress", "pending"].reduce((n, s) => n + (stats.by_status[s] || 0), 0);
      const tile = (label, value, id) => h("div", { class: "tile", id }, h("strong", {}, value), label);
      const download = h("button", { type: "button", id: "report-csv" }, "Download CSV");
      download.addEventListener("click", () => {
        const a = h("a", { href: URL.createObjectURL(new Blob([csv(report)], { type: "text/csv" })), download: `helpline-${report.from}-${report.to}.csv` });
        document.body.append(a);
        a.click();
        a.remove();
      });
      mount(out,
        h("div", { class: "report-tiles" },
          tile("created", String(report.created), "tile-created"),
          tile("resolved", String(report.resolved), "tile-resolved"),
          tile("backlog: open, in progress or pending now", String(backlog), "tile-backlog"),
          tile(`first response (median; 90 %: ${duration(report.first_response.p90_secs)})`, duration(report.first_response.median_secs), "tile-first-response"),
          tile(`resolution (median; 90 %: ${duration(report.resolution.p90_secs)})`, duration(report.resolution.median_secs), "tile-resolution"),
          tile(`first responses in time (resolutions: ${pct(report.sla.resolution_met_pct)})`, pct(report.sla.first_response_met_pct), "tile-sla"),
          tile(`satisfied (${report.csat.good} good, ${report.csat.okay} okay, ${report.csat.bad} bad)`, pct(report.csat.score_pct), "tile-csat")),
        h("p", { class: "legend" }, h("span", { class: "swatch created", "aria-hidden": "true" }), " created ",
          h("span", { class: "swatch resolved", "aria-hidden": "true" }), " resolved"),
        chart(report.by_day),
        h("h2", {}, "Agents"),
        h("div", { class: "table-scroll" }, h("table", { id: "report-agents" },
          h("thead", {}, h("tr", {}, ["Agent", "Assigned", "Resolved", "First response (median)", "Satisfied"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, report.by_agent.map((a) => h("tr", {},
            h("td", {}, a.agent.name), h("td", {}, String(a.assigned)), h("td", {}, String(a.resolved)),
            h("td", {}, duration(a.first_response_median_secs)), h("td", {}, pct(a.csat_score_pct))))))),
        h("div", { class: "links" }, download));
    }
    form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
    mount(main, h("div", { class: "page" }, h("h1", {}, "Reports"), form, out));
    await load();
  };
}
