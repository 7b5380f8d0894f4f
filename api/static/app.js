// Progressive enhancement of the server-rendered pages: math, autocomplete, live results,
// pan and zoom on the prerequisite graph. Every page works without this file.
"use strict";

function renderMath() {
  if (!window.renderMathInElement) return;
  document.querySelectorAll(".definition").forEach((el) =>
    window.renderMathInElement(el, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "$", right: "$", display: false },
      ],
      throwOnError: false,
    })
  );
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// -- autocomplete over labels (both languages) -----------------------------------------------
function autocomplete(input) {
  let list = input.id === "q" ? document.getElementById("suggestions") : null;
  if (!list) {
    list = document.createElement("ul");
    list.id = input.id ? input.id + "-suggestions" : "suggestions-" + Math.random().toString(36).slice(2);
    list.setAttribute("role", "listbox");
    list.className = "suggestions";
    list.hidden = true;
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-autocomplete", "list");
  }
  let active = -1;
  const items = () => Array.from(list.querySelectorAll("[role=option]"));
  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (n) => {
    const all = items();
    all.forEach((el, i) => el.setAttribute("aria-selected", String(i === n)));
    active = n;
    if (all[n]) input.setAttribute("aria-activedescendant", all[n].id);
  };
  const choose = (option) => {
    if (input.form && input.form.getAttribute("action") === "/overview") {
      input.value = option.dataset.label;
      close();
    } else {
      window.location.href = "/concept/" + encodeURIComponent(option.dataset.id);
    }
  };
  const update = debounce(async () => {
    const prefix = input.value.trim();
    if (!prefix) return close();
    const response = await fetch("/concepts?limit=8&prefix=" + encodeURIComponent(prefix));
    if (!response.ok) return close();
    const hits = (await response.json()).results;
    list.innerHTML = "";
    hits.forEach((hit, i) => {
      const li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.dataset.id = hit.id;
      li.dataset.label = hit.label;
      li.textContent = hit.label + (hit.name !== hit.label ? " — " + hit.name : "");
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(li);
      });
      list.appendChild(li);
    });
    list.hidden = hits.length === 0;
    input.setAttribute("aria-expanded", String(hits.length > 0));
    active = -1;
  }, 120);
  input.addEventListener("input", update);
  input.addEventListener("blur", () => setTimeout(close, 150));
  input.addEventListener("keydown", (event) => {
    const all = items();
    if (list.hidden || !all.length) return;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      highlight((active + 1) % all.length);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlight((active - 1 + all.length) % all.length);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      choose(all[active]);
    } else if (event.key === "Escape") {
      close();
    }
  });
}

// -- results as you type ------------------------------------------------------------------------
function liveResults(input) {
  const form = input.form;
  const status = document.getElementById("results-status"); // a live region: kept, its text replaced
  const run = debounce(async () => {
    const q = input.value.trim();
    const params = new URLSearchParams(new FormData(form));
    history.replaceState(null, "", q ? "/?" + params : "/");
    if (!q) {
      document.getElementById("results").innerHTML = "";
      document.getElementById("did-you-mean").textContent = "";
      document.getElementById("weak-results").hidden = true;
      status.textContent = "";
      return;
    }
    if (!params.get("lang")) params.delete("lang");
    // The page itself renders the results (one template for both): take its results section.
    const response = await fetch("/?" + params);
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    if (input.value.trim() !== q) return; // a newer query is on its way
    for (const id of ["results-title", "did-you-mean", "results", "weak-results"]) {
      const old = document.getElementById(id);
      const replacement = fresh.getElementById(id);
      if (old && replacement) old.replaceWith(replacement);
    }
    status.textContent = fresh.getElementById("results-status").textContent;
  }, 250);
  input.addEventListener("input", run);
  form.querySelectorAll("select").forEach((el) => el.addEventListener("change", run));
}

// -- pan and zoom on the graph ---------------------------------------------------------------
// Labels are drawn at 12-13 px: below this scale they fall under 11 px on screen.
const MIN_READABLE_SCALE = 11 / 12;

function panZoom(frame) {
  const svg = frame.querySelector("svg");
  if (!svg) return;
  const full = svg.viewBox.baseVal;
  const home = { x: full.x, y: full.y, w: full.width, h: full.height };
  let view = { ...home };
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  const apply = () => svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
  // Fitted whole, a tall or wide graph draws its 12-13 px labels too small to read (a long
  // learning path at half size): start at the size it was drawn for, on the concept; Fit shows all.
  const fitted = Math.min(frame.clientWidth / home.w, frame.clientHeight / home.h);
  const centre = svg.querySelector(".node.center");
  if (fitted < MIN_READABLE_SCALE && centre && frame.clientWidth > 0) {
    const box = centre.getBBox();
    const w = frame.clientWidth;
    const h = frame.clientHeight;
    view = { x: box.x + box.width / 2 - w / 2, y: box.y + box.height / 2 - h / 2, w, h };
    apply();
  }
  const zoom = (factor, cx = view.x + view.w / 2, cy = view.y + view.h / 2) => {
    const w = Math.min(Math.max(view.w * factor, home.w / 20), home.w * 4);
    const h = (w / view.w) * view.h;
    view = { x: cx - ((cx - view.x) * w) / view.w, y: cy - ((cy - view.y) * h) / view.h, w, h };
    apply();
  };
  frame.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = svg.getBoundingClientRect();
    const cx = view.x + ((event.clientX - box.left) / box.width) * view.w;
    const cy = view.y + ((event.clientY - box.top) / box.height) * view.h;
    zoom(event.deltaY > 0 ? 1.15 : 1 / 1.15, cx, cy);
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (event) => {
    if (event.target.closest("a")) return; // a node: let the link work
    drag = { x: event.clientX, y: event.clientY, view: { ...view } };
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const box = svg.getBoundingClientRect();
    view.x = drag.view.x - ((event.clientX - drag.x) / box.width) * view.w;
    view.y = drag.view.y - ((event.clientY - drag.y) / box.height) * view.h;
    apply();
  });
  svg.addEventListener("pointerup", () => (drag = null));
  const figure = frame.closest("figure");
  figure.querySelectorAll("[data-zoom]").forEach((button) =>
    button.addEventListener("click", () => {
      if (button.dataset.zoom === "in") zoom(1 / 1.3);
      else if (button.dataset.zoom === "out") zoom(1.3);
      else {
        view = { ...home };
        apply();
      }
    })
  );
  frame.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, -0.1], ArrowDown: [0, 0.1] }[event.key];
    if (event.target !== frame) return;
    if (step) {
      event.preventDefault();
      view.x += step[0] * view.w;
      view.y += step[1] * view.h;
      apply();
    } else if (event.key === "+" || event.key === "=") zoom(1 / 1.3);
    else if (event.key === "-") zoom(1.3);
  });
}

// -- the overview's form: depth and direction only mean something around a term ---------------
function aroundControls(form) {
  const around = form.querySelector("input[name=center]");
  const dependent = form.querySelectorAll("select[name=depth], select[name=direction]");
  if (!around) return;
  const update = () => dependent.forEach((select) => {
    select.disabled = !around.value.trim();
    select.title = select.disabled ? "Choose a term under Around first" : "";
  });
  around.addEventListener("input", update);
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  renderMath();
  document.querySelectorAll("form.graph-controls").forEach(aroundControls);
  document.querySelectorAll("input[data-autocomplete], input#q").forEach(autocomplete);
  document.querySelectorAll("input[data-live]").forEach(liveResults);
  document.querySelectorAll(".graph-frame").forEach(panZoom);
  // For the benchmark and the tests: when the page was ready, and when it (graph included)
  // was painted: two animation frames later, the frame after layout and paint.
  window.kgReadyMs = performance.now();
  document.documentElement.dataset.ready = "true";
  requestAnimationFrame(() => requestAnimationFrame(() => (window.kgDrawnMs = performance.now())));
});
