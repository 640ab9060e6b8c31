// A search box above every <select data-filter>: hides options (and empty groups) not matching the text.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[data-filter]").forEach((select) => {
    const box = document.createElement("div");
    box.className = "ho-filter-box";
    const input = document.createElement("input");
    input.type = "search";
    input.placeholder = select.dataset.filter;
    input.setAttribute("aria-label", select.dataset.filter);
    const count = document.createElement("span");
    count.className = "ho-selected-count";
    select.replaceWith(box);
    box.append(input, select, count);
    const showCount = () => {
      const n = select.selectedOptions.length;
      count.textContent = n ? `${n} selected` : "none selected";
    };
    input.addEventListener("input", () => {
      const words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      select.querySelectorAll("option").forEach((option) => {
        const text = `${option.value} ${option.text}`.toLowerCase();
        option.hidden = !words.every((w) => text.includes(w));
      });
      select.querySelectorAll("optgroup").forEach((group) => {
        group.hidden = [...group.children].every((option) => option.hidden);
      });
    });
    select.addEventListener("change", showCount);
    showCount();
  });
});
