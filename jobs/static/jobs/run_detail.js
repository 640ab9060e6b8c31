// Run page: while the run is queued or running, poll its status feed every 2 s and update the page.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("ho-live");
  if (!live || live.dataset.active !== "1") return;
  let after = Number(live.dataset.lastLog || 0);
  const log = document.getElementById("ho-log");
  const steps = document.getElementById("ho-steps");

  const cell = (text, cls) => {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    return td;
  };
  const badge = (status, label) => {
    const span = document.createElement("span");
    span.className = `ho-badge ho-status-${status}`;
    span.textContent = label;
    return span;
  };
  const num = (value, digits) => (value === null || value === undefined ? "–" : Number(value).toFixed(digits));

  function update(data) {
    document.querySelectorAll("[data-live=status]").forEach((el) => {
      el.className = `ho-badge ho-status-${data.status}`;
      el.textContent = data.status_label;
    });
    document.querySelectorAll("[data-live=progress] > span").forEach((el) => {
      el.style.width = `${data.percent}%`;
    });
    document.querySelectorAll("[data-live=percent]").forEach((el) => {
      el.textContent = `${Math.round(data.percent)}%`;
    });
    const units = data.units_total ? ` (${data.units_done} of ${data.units_total} units)` : "";
    const text = {
      current_stage: data.current_stage_label, current_unit: (data.current_unit || "–") + units,
      rows: data.rows_text, rows_per_sec: data.rows_per_sec_text, duration: data.duration_text,
    };
    Object.entries(text).forEach(([key, value]) => {
      document.querySelectorAll(`[data-live=${key}]`).forEach((el) => { el.textContent = value; });
    });
    if (steps) {
      steps.replaceChildren(...data.steps.map((s) => {
        const tr = document.createElement("tr");
        const status = document.createElement("td");
        status.append(badge(s.status, s.status_label));
        const rate = s.rows_per_sec === null ? "–" : Math.round(s.rows_per_sec).toLocaleString("en-US");
        tr.append(cell(s.stage), cell(s.unit), status, cell(s.count, "ho-num"),
          cell(num(s.duration, 2), "ho-num"), cell(rate, "ho-num"));
        return tr;
      }));
    }
    if (log && data.logs.length) {
      log.querySelectorAll(".ho-log-empty").forEach((el) => el.remove());
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      data.logs.forEach((line) => {
        const span = document.createElement("span");
        span.className = `ho-log-${line.level}`;
        span.textContent = `${line.at} ${line.level.toUpperCase()} [${line.stage || "-"}] ${line.message}\n`;
        log.append(span);
      });
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    after = data.last_log_id;
  }

  async function poll() {
    try {
      const response = await fetch(`${live.dataset.statusUrl}?after=${after}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (response.ok) {
        const data = await response.json();
        update(data);
        if (data.terminal) {
          window.location.reload(); // show the final fields, artifacts and buttons
          return;
        }
      }
    } catch (error) {
      // network hiccup: try again on the next tick
    }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 2000);
});
