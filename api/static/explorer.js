// The graph explorer of /overview: the prerequisite graph drawn by Cytoscape.js at the positions
// the server computed (GET /graph/layout: a cluster per collection). Hover or focus a concept to
// see what it needs and what needs it, find one by name, filter the edges, follow a learning path.
// Without script the page shows a layered SVG and the graph as text instead; this file only runs
// where the page has a section.explorer, after vendor/cytoscape/cytoscape.min.js.
"use strict";

(() => {
  // Labels are legible at the first view: BASE_FONT * DEFAULT_ZOOM CSS px is at least LEGIBLE_PX,
  // and when the reader zooms out, Cytoscape hides a label rather than draw it smaller than that.
  const LEGIBLE_PX = 11;
  const BASE_FONT = 13;
  const DEFAULT_ZOOM = 0.9;
  // Past this many elements, Cytoscape's fast modes: no edges and a bitmap while panning,
  // haystack edges (no arrows), one device pixel per CSS pixel, no fading of the whole graph;
  // labels only for the concepts in view (measuring 10,000 labels takes a second), and at first
  // only the EDGE_BUDGET surest edges (the confidence filter starts higher; lower it for more).
  const LARGE_GRAPH = 3000;
  const EDGE_BUDGET = 8000;
  // A large graph is held in Cytoscape only around the view (see graphHolder): the concepts
  // within HOLD_MARGIN views of it and their neighbours; past HOLD_MAX concepts, those further
  // than DROP_MARGIN views away leave. Positions are bucketed in GRID_CELL-unit squares.
  const HOLD_MARGIN = 0.75;
  const DROP_MARGIN = 2;
  const HOLD_MAX = 2500;
  // Zoomed so far out that more than HOLD_MAX concepts are in view (their labels hidden at that
  // zoom anyway), the HUBS_FAR_OUT best-linked stand for the rest until the reader zooms in: all
  // 10,000 held made "Whole graph" pan at 283 ms a frame (p95).
  const HUBS_FAR_OUT = 1500;
  const GRID_CELL = 400;
  const LEGEND_MAX = 16;
  // Okabe-Ito and Tableau colours (distinct, also for colour-blind readers); later clusters go round
  // the hue circle by the golden angle.
  const PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#4e79a7", "#59a14f",
                   "#b07aa1", "#9c755f", "#edc948", "#76b7b2", "#e15759", "#79706e"];

  const clusterColor = (index) =>
    index < PALETTE.length ? PALETTE[index] : `hsl(${Math.round((index * 137.508) % 360)}, 50%, 48%)`;

  const conceptUrl = (id) => "/concept/" + encodeURIComponent(id);

  function debounce(fn, ms) {
    let timer;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  // -- elements and style ---------------------------------------------------------------------------

  // Colour and size are worked out once here, so that the style reads data fields instead of
  // evaluating a selector per collection (hundreds of clusters at 10,000 concepts); edges get
  // their ids here (``source->target``), which the answer leaves out to stay small.
  function prepareElements(answer) {
    const clusterIndex = new Map(answer.clusters.map((cluster, i) => [cluster.id, i]));
    for (const node of answer.elements.nodes) {
      const data = node.data;
      data.color = clusterColor(clusterIndex.get(data.collection) || 0);
      data.size = Math.min(44, 12 + 4 * Math.sqrt(data.degree));
      data.font = BASE_FONT + Math.min(9, Math.round(2 * Math.sqrt(data.degree)));  // hubs stay labelled further out
    }
    for (const edge of answer.elements.edges) edge.data.id = `${edge.data.source}->${edge.data.target}`;
    return answer.elements;
  }

  function graphStyle(large) {
    return [
      { selector: "node", style: {
        "background-color": "data(color)", width: "data(size)", height: "data(size)",
        "font-size": "data(font)", "min-zoomed-font-size": LEGIBLE_PX,
        "font-family": "Noto Sans CJK JP, Noto Sans JP, system-ui, sans-serif",
        color: "#1d2330", "text-valign": "bottom", "text-margin-y": 3,
        "text-outline-color": "#fbfcfe", "text-outline-width": large ? 0 : 2,
        "border-width": 1, "border-color": "#ffffff",
      } },
      { selector: "node.labelled", style: { label: "data(name)" } },
      { selector: "edge", style: {
        width: 1, "line-color": "#6b7488", opacity: "mapData(confidence, 0, 1, 0.15, 0.55)",
        "curve-style": large ? "haystack" : "straight",
        "target-arrow-shape": large ? "none" : "triangle", "target-arrow-color": "#6b7488", "arrow-scale": 0.7,
      } },
      { selector: "edge[?curated]", style: { width: 3, "line-color": "#222", "target-arrow-color": "#222", opacity: 0.9 } },
      { selector: ".faded", style: { opacity: 0.12, "text-opacity": 0.25 } },
      { selector: "node.prerequisite", style: { "border-width": 4, "border-color": "#1f5fbf" } },
      { selector: "node.dependent", style: { "border-width": 4, "border-color": "#d9480f" } },
      { selector: "edge.to-prerequisite", style: { "line-color": "#1f5fbf", "target-arrow-color": "#1f5fbf", width: 2.5, opacity: 1 } },
      { selector: "edge.to-dependent", style: { "line-color": "#d9480f", "target-arrow-color": "#d9480f", width: 2.5, opacity: 1 } },
      { selector: "node.on-path", style: { "border-width": 5, "border-color": "#b08400" } },
      { selector: "edge.on-path", style: { "line-color": "#b08400", "target-arrow-color": "#b08400", width: 4, opacity: 1 } },
      { selector: "node:selected", style: { "border-width": 5, "border-color": "#ff9f1c" } },
      { selector: "node.hovered, node.focused", style: {
        "border-width": 6, "border-color": "#ff9f1c", "font-weight": "bold", "z-index": 10 } },
    ];
  }

  function createGraph(container, large) {
    return cytoscape({
      container,
      style: graphStyle(large),
      minZoom: 0.02,
      maxZoom: 4,
      boxSelectionEnabled: false,
      autoungrabify: true,  // the layout is the server's: dragging pans instead of moving a concept
      selectionType: "single",
      textureOnViewport: large,
      hideEdgesOnViewport: large,
      pixelRatio: large ? 1 : "auto",
    });
  }

  // -- holding a large graph around the view ------------------------------------------------------

  const expand = (box, share) => {
    const dx = (box.x2 - box.x1) * share, dy = (box.y2 - box.y1) * share;
    return { x1: box.x1 - dx, y1: box.y1 - dy, x2: box.x2 + dx, y2: box.y2 + dy };
  };
  const inside = (position, box) =>
    position.x >= box.x1 && position.x <= box.x2 && position.y >= box.y1 && position.y <= box.y2;

  // Which concepts Cytoscape holds. Its renderer visits every element it holds on every frame
  // (their bounding boxes): holding 10,000 concepts costs some 80 ms a frame even with 20 on
  // screen, so a large graph holds the concepts near the view and the concepts they share an
  // edge with (``isShown``: the filters), and lets far ones go. A small graph is held whole.
  function graphHolder(cy, nodes, edges, isShown) {
    const byId = new Map(nodes.map((node) => [node.data.id, node]));
    const edgesOf = new Map(nodes.map((node) => [node.data.id, []]));
    for (const edge of edges) {
      edgesOf.get(edge.data.source).push(edge);
      edgesOf.get(edge.data.target).push(edge);
    }
    const cellKey = (i, j) => i + "," + j;
    const grid = new Map();
    for (const node of nodes) {
      const key = cellKey(Math.floor(node.position.x / GRID_CELL), Math.floor(node.position.y / GRID_CELL));
      if (!grid.has(key)) grid.set(key, []);
      grid.get(key).push(node);
    }
    const bounds = nodes.reduce((box, { position: p }) => ({
      x1: Math.min(box.x1, p.x), y1: Math.min(box.y1, p.y), x2: Math.max(box.x2, p.x), y2: Math.max(box.y2, p.y),
    }), { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity });
    const held = new Set();

    const within = (box) => {
      const found = [];
      const [i1, i2] = [Math.floor(Math.max(box.x1, bounds.x1) / GRID_CELL), Math.floor(Math.min(box.x2, bounds.x2) / GRID_CELL)];
      const [j1, j2] = [Math.floor(Math.max(box.y1, bounds.y1) / GRID_CELL), Math.floor(Math.min(box.y2, bounds.y2) / GRID_CELL)];
      for (let i = i1; i <= i2; i++) {
        for (let j = j1; j <= j2; j++) {
          for (const node of grid.get(cellKey(i, j)) || []) if (inside(node.position, box)) found.push(node);
        }
      }
      return found;
    };
    const hubsOf = (list) => [...list].sort((a, b) => b.data.degree - a.data.degree).slice(0, HUBS_FAR_OUT);
    // What a view needs held: what is in it and its neighbours, or only the hubs when too much is.
    const neededBy = (box) => {
      const inView = within(box);
      return inView.length > HOLD_MAX ? hubsOf(inView) : withNeighbours(inView);
    };
    const withNeighbours = (list) => {
      const all = new Map(list.map((node) => [node.data.id, node]));
      for (const node of list) {
        for (const { data } of edgesOf.get(node.data.id)) {
          const other = data.source === node.data.id ? data.target : data.source;
          if (!all.has(other) && isShown(data)) all.set(other, byId.get(other));
        }
      }
      return [...all.values()];
    };
    const add = (list) => {
      const fresh = list.filter((node) => !held.has(node.data.id));
      fresh.forEach((node) => held.add(node.data.id));
      const joining = new Map();  // by id: an edge between two fresh concepts is met twice
      for (const node of fresh) {
        for (const edge of edgesOf.get(node.data.id)) {
          if (held.has(edge.data.source) && held.has(edge.data.target) && isShown(edge.data)) {
            joining.set(edge.data.id, edge);
          }
        }
      }
      if (fresh.length) cy.add([...fresh, ...joining.values()]);
    };

    return {
      bounds,
      isHeld: (id) => held.has(id),
      all: () => add(nodes),
      // A concept needed now (found by search), with its neighbours, wherever the view is.
      ensure(node) {
        add(withNeighbours([node]));
        return cy.getElementById(node.data.id);
      },
      // These concepts (ids of anything else are let be), wherever the view is.
      hold(ids) {
        add(ids.filter((id) => byId.has(id)).map((id) => byId.get(id)));
      },
      // The concepts in ``box`` and their neighbours join (only the hubs, when too many are in it).
      fill(box) {
        const wanted = neededBy(box);
        add(wanted);
        return wanted;
      },
      // Past HOLD_MAX concepts, those outside ``box`` leave, unless a concept in it needs them
      // or ``keep`` (the chosen concept, its path) holds them. Zoomed far out (more than
      // HOLD_MAX in ``box``), only ``wanted`` (the hubs the last ``fill`` asked for) and ``keep`` stay.
      trim(box, keep, wanted = []) {
        const inBox = within(box);
        const farOut = inBox.length > HOLD_MAX;
        if (held.size <= HOLD_MAX && !farOut) return;
        const near = farOut ? [] : withNeighbours(inBox);
        const needed = new Set([...keep, ...wanted.map((node) => node.data.id), ...near.map((node) => node.data.id)]);
        const leaving = cy.nodes().filter((node) => !needed.has(node.id()));
        leaving.forEach((node) => held.delete(node.id()));
        cy.remove(leaving);
      },
    };
  }

  function throttle(fn, ms) {
    let timer = null;
    let last = -Infinity;
    return () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        last = performance.now();
        fn();
      }, Math.max(0, last + ms - performance.now()));
    };
  }

  // -- what the reader looks at -------------------------------------------------------------------

  // The concept the explorer opens on: ?focus (or the form's Around), else the biggest hub.
  function startNode(nodes, focusId) {
    const asked = focusId && nodes.find((node) => node.data.id === focusId);
    const center = nodes.find((node) => node.data.center);
    return asked || center || nodes.reduce((best, node) => (node.data.degree > best.data.degree ? node : best));
  }

  // Centred on a concept at a zoom where every label is legible (never fit all: a fitted
  // glossary shows labels too small to read).
  function showNode(cy, node, zoom = DEFAULT_ZOOM) {
    const { x, y } = node.position();
    showPoint(cy, x, y, Math.max(zoom, DEFAULT_ZOOM));
  }

  function showPoint(cy, x, y, zoom = DEFAULT_ZOOM) {
    cy.viewport({ zoom, pan: { x: cy.width() / 2 - x * zoom, y: cy.height() / 2 - y * zoom } });
  }

  // The zoom that shows the whole of ``box`` (a large graph's Cytoscape holds only part of it: no cy.fit).
  function fitZoom(cy, box, padding = 40) {
    const zoom = Math.min((cy.width() - 2 * padding) / Math.max(box.x2 - box.x1, 1),
                          (cy.height() - 2 * padding) / Math.max(box.y2 - box.y1, 1));
    return Math.min(cy.maxZoom(), Math.max(cy.minZoom(), zoom));
  }

  function showBox(cy, box, zoom = fitZoom(cy, box)) {
    showPoint(cy, (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2, zoom);
  }

  // The first view: the whole graph when it fits at a legible zoom (a small part of the
  // glossary), else the start concept at the default zoom.
  function showStart(cy, box, start) {
    const zoom = fitZoom(cy, box);
    if (zoom >= DEFAULT_ZOOM) showBox(cy, box, Math.min(zoom, 1.5));
    else showPoint(cy, start.position.x, start.position.y);
  }

  function nodesInView(cy, margin = 0) {
    const box = cy.extent();
    return cy.nodes().filter((node) => {
      const p = node.position();
      return p.x >= box.x1 - margin && p.x <= box.x2 + margin && p.y >= box.y1 - margin && p.y <= box.y2 + margin;
    });
  }

  // Labels for the concepts in view (and a margin) that are big enough to be drawn at this zoom.
  function labelInView(cy) {
    const zoom = cy.zoom();
    const unlabelled = nodesInView(cy, 200 / zoom).filter((node) =>
      !node.hasClass("labelled") && node.data("font") * zoom >= LEGIBLE_PX);
    if (unlabelled.nonempty()) unlabelled.addClass("labelled");
  }

  function zoomBy(cy, factor) {
    const level = Math.min(cy.maxZoom(), Math.max(cy.minZoom(), cy.zoom() * factor));
    cy.zoom({ level, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  }

  // -- neighbourhoods, learning paths ----------------------------------------------------------------

  const NEIGHBOUR_CLASSES = "faded prerequisite dependent to-prerequisite to-dependent hovered focused";
  const NEIGHBOUR_SELECTOR = NEIGHBOUR_CLASSES.split(" ").map((name) => "." + name).join(", ");

  function clearNeighbourhood(cy) {
    cy.batch(() => cy.elements(NEIGHBOUR_SELECTOR).removeClass(NEIGHBOUR_CLASSES));
  }

  // Prerequisites (edges in) blue, dependents (edges out) orange; the rest faded, except on a
  // large graph, where restyling every element on each hover would stall the pointer.
  function showNeighbourhood(cy, node, how = "hovered") {
    const incoming = node.incomers("edge");
    const outgoing = node.outgoers("edge");
    cy.batch(() => {
      clearNeighbourhood(cy);
      if (cy.elements().length <= LARGE_GRAPH) {
        const kept = node.union(incoming).union(incoming.sources()).union(outgoing).union(outgoing.targets());
        cy.elements().difference(kept).addClass("faded");
      }
      incoming.addClass("to-prerequisite");
      incoming.sources().addClass("prerequisite");
      outgoing.addClass("to-dependent");
      outgoing.targets().addClass("dependent");
      node.addClass(how);
    });
    return { prerequisites: incoming.length, dependents: outgoing.length };
  }

  function describe(node, counts) {
    const d = node.data();
    const other = d.label_ja && d.label_ja !== d.name ? ` (${d.label_ja})` : "";
    return `${d.name}${other}, in ${d.collection_label || "no collection"}: ${counts.prerequisites} prerequisites, ` +
      `${counts.dependents} dependents shown. Enter opens it.`;
  }

  function markPath(cy, ids) {
    cy.batch(() => {
      cy.elements(".on-path").removeClass("on-path");
      ids.forEach((id) => cy.getElementById(id).addClass("on-path"));
    });
  }

  // The learning path of GET /concepts/{id}/prerequisites: its concepts and edges in gold, and as
  // a list of links beside the graph. ``path.ids`` keeps them for marking again after a filter.
  async function showLearningPath(cy, node, panel, path, hold) {
    const response = await fetch(`/concepts/${encodeURIComponent(node.id())}/prerequisites`);
    if (!response.ok) return;
    const body = await response.json();
    path.ids = [node.id(), ...body.path.map((step) => step.id),
                ...body.edges.map((edge) => `${edge.prerequisite}->${edge.concept}`)];
    hold(path.ids);  // a large graph may not hold the path's concepts yet
    markPath(cy, path.ids);
    const title = document.createElement("p");
    title.textContent = body.path.length
      ? `Learn before ${node.data("name")} (in gold, basics first):`
      : `${node.data("name")} needs nothing first: it is a starting point.`;
    const list = document.createElement("ol");
    for (const step of body.path) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = conceptUrl(step.id);
      link.textContent = step.name;
      item.append(link);
      list.append(item);
    }
    panel.replaceChildren(title, ...(body.path.length ? [list] : []));
  }

  // -- filters ---------------------------------------------------------------------------------------

  function relationChoices(answer, fieldset) {
    const choices = answer.relations.map((r) => [r.relation, `${r.relation || "other"} (${r.edges})`]);
    choices.push(["@curated", `stated by the author (${answer.curated_edges})`]);
    for (const [value, text] of choices) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = true;
      box.value = value;
      label.append(box, " " + text);
      fieldset.append(label);
    }
  }

  function readFilters(controls) {
    const shown = new Set(Array.from(controls.fieldset.querySelectorAll("input:checked"), (box) => box.value));
    return { minConfidence: Number(controls.slider.value), relations: shown, curated: shown.has("@curated") };
  }

  const edgeShown = (data, filters) =>
    (data.curated ? filters.curated : filters.relations.has(data.relation)) && data.confidence >= filters.minConfidence;

  // The graph holds only the edges the filters let through: removing the others (rather than
  // hiding them) is what keeps a 10,000-concept graph quick to draw. Only the difference changes.
  function applyFilters(cy, allEdges, filters, holder) {
    const wanted = allEdges.filter((edge) => edgeShown(edge.data, filters));
    const wantedIds = new Set(wanted.map((edge) => edge.data.id));
    cy.batch(() => {
      cy.remove(cy.edges().filter((edge) => !wantedIds.has(edge.id())));
      cy.add(wanted.filter((edge) => holder.isHeld(edge.data.source) && holder.isHeld(edge.data.target) &&
                                     cy.getElementById(edge.data.id).empty()));
    });
    return wanted.length;
  }

  // The lowest confidence step (of 0.05) that lets at most ``budget`` edges through.
  function startingConfidence(allEdges, budget) {
    const sorted = allEdges.map((edge) => edge.data.confidence).sort((a, b) => b - a);
    if (sorted.length <= budget) return 0;
    return Math.min(1, (Math.floor(sorted[budget] * 20 + 1e-9) + 1) / 20);
  }

  // The filter controls, set before the first draw: on a large graph the confidence starts
  // where at most EDGE_BUDGET edges pass.
  function filterControls(answer, allEdges, large) {
    const controls = {
      slider: document.getElementById("graph-confidence"),
      fieldset: document.getElementById("graph-relations"),
      output: document.getElementById("graph-confidence-value"),
    };
    relationChoices(answer, controls.fieldset);
    controls.slider.value = String(large ? startingConfidence(allEdges, EDGE_BUDGET) : 0);
    controls.output.textContent = Number(controls.slider.value).toFixed(2);
    return controls;
  }

  // -- search ------------------------------------------------------------------------------------------

  // Concepts whose labels contain ``text``: exact matches first, then those starting with it,
  // then the best connected. Searches every concept, loaded yet or not.
  function findNodes(nodes, text) {
    const needle = text.trim().toLowerCase();
    if (!needle) return [];
    const labels = (node) => [node.data.name, node.data.label_ja, node.data.label_en].map((l) => l.toLowerCase());
    const rank = (node) => {
      const all = labels(node);
      return all.includes(needle) ? 0 : all.some((l) => l.startsWith(needle)) ? 1 : 2;
    };
    return nodes.filter((node) => labels(node).some((l) => l.includes(needle)))
      .sort((a, b) => rank(a) - rank(b) || b.data.degree - a.data.degree);
  }

  // -- legend ----------------------------------------------------------------------------------------

  function legend(cy, answer, list) {
    answer.clusters.slice(0, LEGEND_MAX).forEach((cluster, i) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.style.backgroundColor = clusterColor(i);  // CSSOM, which the CSP allows (a style attribute it would not)
      button.append(dot, `${cluster.label || "no collection"} (${cluster.size})`);
      button.title = "Show this collection";
      button.addEventListener("click", () => showPoint(cy, cluster.x, cluster.y));
      item.append(button);
      list.append(item);
    });
    if (answer.clusters.length > LEGEND_MAX) {
      const more = document.createElement("li");
      more.textContent = `and ${answer.clusters.length - LEGEND_MAX} more collections`;
      list.append(more);
    }
  }

  // -- the explorer ----------------------------------------------------------------------------------

  // What the reader is on: ``focused`` follows the keyboard, ``pinned`` is the concept chosen by
  // search or ?focus (its neighbourhood and learning path stay shown), ``path`` its learning path.
  function explorerState(cy, section, controls) {
    const status = document.getElementById("graph-status");
    const state = {
      cy, section, controls, status, focused: null, pinned: null, path: { ids: [] }, home: null, bounds: null,
      hold: () => {}, holdView: () => {},  // set once the graph holder exists
      filters: readFilters(controls),
      say: (text) => (status.textContent = text),
    };
    state.choose = (node) => {
      state.pinned = state.focused = node;
      cy.$(":selected").unselect();
      node.select();
      state.say(describe(node, showNeighbourhood(cy, node, "focused")));
      showLearningPath(cy, node, document.getElementById("graph-path"), state.path, state.hold);
    };
    state.release = () => (state.pinned ? showNeighbourhood(cy, state.pinned, "focused") : clearNeighbourhood(cy));
    // What a large graph keeps holding wherever the view goes.
    state.keptIds = () => [state.pinned, state.focused, state.home].filter(Boolean).map((node) => node.id())
      .concat(state.path.ids);
    return state;
  }

  function wirePointer(state, container) {
    const { cy } = state;
    cy.on("mouseover", "node", (event) => {
      state.say(describe(event.target, showNeighbourhood(cy, event.target)));
      container.style.cursor = "pointer";  // CSSOM, which the CSP allows
    });
    cy.on("mouseout", "node", () => {
      state.release();
      container.style.cursor = "";
    });
    cy.on("tap", "node", (event) => window.location.assign(conceptUrl(event.target.id())));
  }

  // The canvas is one focusable widget: keys pan, zoom and step through the concepts in view.
  function wireKeyboard(state, container) {
    const { cy } = state;
    const moveFocus = (step) => {
      const inView = nodesInView(cy).toArray().sort((a, b) =>
        a.position("y") - b.position("y") || a.position("x") - b.position("x"));
      if (!inView.length) return;
      const at = state.focused ? inView.indexOf(state.focused) : -1;
      state.focused = inView[(at + step + inView.length) % inView.length];
      state.say(describe(state.focused, showNeighbourhood(cy, state.focused, "focused")));
    };
    const pan = (x, y) => () => cy.panBy({ x: x * cy.width(), y: y * cy.height() });
    const keys = {
      "+": () => zoomBy(cy, 1.25), "=": () => zoomBy(cy, 1.25), "-": () => zoomBy(cy, 0.8), "_": () => zoomBy(cy, 0.8),
      "0": () => showStart(cy, state.bounds, state.home.json()),
      ArrowLeft: pan(0.15, 0), ArrowRight: pan(-0.15, 0), ArrowUp: pan(0, 0.15), ArrowDown: pan(0, -0.15),
      "]": () => moveFocus(1), "[": () => moveFocus(-1),
      Enter: () => state.focused && window.location.assign(conceptUrl(state.focused.id())),
      Escape: () => {
        state.focused = state.pinned = null;
        cy.$(":selected").unselect();
        clearNeighbourhood(cy);
        state.say("");
      },
    };
    container.addEventListener("keydown", (event) => {
      const action = keys[event.key];
      if (!action || event.target !== container || event.ctrlKey || event.metaKey || event.altKey) return;
      event.preventDefault();
      action();
    });
    state.section.querySelectorAll("[data-graph-zoom]").forEach((button) => button.addEventListener("click", () => {
      const how = button.dataset.graphZoom;
      if (how === "in") zoomBy(cy, 1.25);
      else if (how === "out") zoomBy(cy, 0.8);
      else if (how === "fit") showBox(cy, state.bounds);  // labels too small to read hide (min-zoomed-font-size)
      else showStart(cy, state.bounds, state.home.json());
    }));
  }

  function wireSearch(state, nodes, holder, input, container) {
    const { cy } = state;
    input.addEventListener("input", debounce(() => {
      const text = input.value.trim();
      if (!text) return state.say("");
      const found = findNodes(nodes, text);
      if (!found.length) return state.say(`No concept in this graph matches “${text}”.`);
      const best = holder.ensure(found[0]);
      showNode(cy, best, cy.zoom());
      state.choose(best);
      if (found.length > 1) state.say(`${found.length} concepts match; showing the first. ${state.status.textContent}`);
    }, 150));
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && state.focused) {
        event.preventDefault();
        container.focus();  // on to the graph, where Enter opens the concept
      }
    });
  }

  function wireFilters(state, allEdges, holder) {
    const { cy, controls } = state;
    const refilter = () => {
      controls.output.textContent = Number(controls.slider.value).toFixed(2);
      state.filters = readFilters(controls);
      const shown = applyFilters(cy, allEdges, state.filters, holder);
      state.holdView();  // concepts newly joined by an edge to those in view
      state.say(`${shown} of ${allEdges.length} edges shown.`);
      markPath(cy, state.path.ids);  // re-added edges come back without their classes
      if (state.pinned) showNeighbourhood(cy, state.pinned, "focused");
    };
    controls.slider.addEventListener("input", refilter);
    controls.fieldset.addEventListener("change", refilter);
  }

  // For the benchmark and the tests: when the first frame with the graph was painted.
  function announceReady(cy, section) {
    cy.one("render", () => requestAnimationFrame(() => {
      window.kgGraphReady = performance.now();
      section.dataset.ready = "true";
    }));
  }

  // After each move of the view: hold what it needs, let go of what is far, label what is legible.
  function holdView(state, holder) {
    return () => {
      const { cy } = state;
      const view = cy.extent();
      cy.batch(() => {
        const wanted = holder.fill(expand(view, HOLD_MARGIN));
        holder.trim(expand(view, DROP_MARGIN), state.keptIds(), wanted);
      });
      labelInView(cy);
      state.section.dataset.held = String(cy.nodes().length);
    };
  }

  function explore(section, answer) {
    const container = document.getElementById("graph-canvas");
    const { nodes, edges: allEdges } = prepareElements(answer);
    const large = nodes.length + allEdges.length > LARGE_GRAPH;
    section.hidden = false;  // before Cytoscape measures its container
    section.dataset.concepts = String(nodes.length);
    const controls = filterControls(answer, allEdges, large);
    const cy = createGraph(container, large);
    window.kgGraph = cy;  // for the tests and the benchmark
    const state = explorerState(cy, section, controls);
    const holder = graphHolder(cy, nodes, allEdges, (data) => edgeShown(data, state.filters));
    state.bounds = holder.bounds;
    state.hold = holder.hold;
    const start = startNode(nodes, section.dataset.focus);
    announceReady(cy, section);
    showStart(cy, holder.bounds, start);  // the view first: it says what a large graph holds
    if (large) {
      state.holdView = holdView(state, holder);
      state.holdView();
      cy.on("viewport", throttle(state.holdView, 100));
    } else {
      holder.all();
      cy.nodes().addClass("labelled");
    }
    state.home = holder.ensure(start);
    wirePointer(state, container);
    wireKeyboard(state, container);
    wireSearch(state, nodes, holder, document.getElementById("graph-find"), container);
    wireFilters(state, allEdges, holder);
    legend(cy, answer, document.getElementById("graph-legend"));
    if (section.dataset.focus === start.data.id) state.choose(state.home);
    else if (state.filters.minConfidence > 0) {
      state.say(`At first only the surest edges: confidence ${state.filters.minConfidence.toFixed(2)} or more. ` +
                "Lower “Least confidence” for more.");
    }
  }

  async function start() {
    const section = document.querySelector("section.explorer[data-src]");
    if (!section || !window.cytoscape) return;  // no graph on this page, or the library did not load
    const response = await fetch(section.dataset.src);
    if (!response.ok) return;  // the page keeps its text alternative
    const answer = await response.json();
    if (answer.elements.nodes.length) explore(section, answer);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
