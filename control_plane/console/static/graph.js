// The graph page (templates/graph/page.html): draws GET /graph/data with cytoscape.js, each
// unit a box with its Input nodes on the left and Output nodes on the right; draws an edge
// from a selected Output node to a selected Input node and deletes a selected edge, through
// the same routes as the form and table below the drawing; redraws in place when the SSE
// stream changes #graph-version. After each drawing, #graph carries data-version and
// data-draw-ms (the time to lay out and draw), which the tests and the bench read.
(function () {
  "use strict";
  const root = document.getElementById("graph");
  if (!root || typeof cytoscape !== "function") return;

  const canvas = document.getElementById("graph-canvas");
  const hint = document.getElementById("graph-hint");
  const createButton = document.getElementById("graph-create");
  const deleteButton = document.getElementById("graph-delete");
  const versionOutput = document.getElementById("graph-version");
  // The form below the drawing names the route; deleting is the same route + "/delete".
  const createUrl = document.getElementById("edge-create").getAttribute("action");
  const deleteUrl = `${createUrl}/delete`;
  const csrfHeaders = JSON.parse(document.body.getAttribute("hx-headers") || "{}");

  const NODE_GAP = 34; // between the nodes of a unit
  const COLUMN_WIDTH = 70; // from a unit's inputs to its outputs
  const CELL_WIDTH = 460;
  const CELL_GAP = 90;
  const BIG = 3000; // elements: above this, straight edges and no redraw while moving

  const big = (count) => count > BIG;
  const cy = cytoscape({
    container: canvas,
    autoungrabify: true,
    boxSelectionEnabled: false,
    selectionType: "single",
    minZoom: 0.02,
    maxZoom: 3,
    style: [
      {
        selector: "node[kind = 'unit']",
        style: {
          shape: "round-rectangle", "background-color": "#f4f6f8", "border-color": "#9aa5b1",
          "border-width": 1, label: "data(label)", "text-valign": "top", "text-halign": "center",
          "font-size": 13, "font-weight": 600, padding: "14px", "min-zoomed-font-size": 6,
        },
      },
      {
        selector: "node[kind = 'Output'], node[kind = 'Input']",
        style: {
          width: 14, height: 14, label: "data(label)", "font-size": 11, "text-valign": "center",
          "min-zoomed-font-size": 7, "text-max-width": "140px", "text-wrap": "ellipsis",
        },
      },
      {
        selector: "node[kind = 'Output']",
        style: { "background-color": "#2f7d4f", "text-halign": "right", "text-margin-x": 4 },
      },
      {
        selector: "node[kind = 'Input']",
        style: {
          "background-color": "#2c5f9e", shape: "round-rectangle", "text-halign": "left",
          "text-margin-x": -4,
        },
      },
      {
        selector: "edge",
        style: {
          width: 2, "line-color": "#7b8794", "target-arrow-color": "#7b8794",
          "target-arrow-shape": "triangle", "curve-style": "bezier",
        },
      },
      { selector: "edge.big", style: { "curve-style": "straight" } },
      {
        selector: ".picked, node:selected",
        style: { "border-width": 3, "border-color": "#d97706", "background-color": "#d97706" },
      },
      {
        selector: "edge:selected",
        style: { width: 4, "line-color": "#d97706", "target-arrow-color": "#d97706" },
      },
    ],
  });
  canvas.cy = cy; // for the browser tests and the bench

  let version = null;
  let output = null;
  let input = null;
  let edge = null;

  function say(text) {
    hint.textContent = text;
  }

  function clearPicks() {
    cy.elements().removeClass("picked").unselect();
    output = input = edge = null;
    createButton.disabled = true;
    deleteButton.disabled = true;
  }

  function labelOf(node) {
    return `${node.parent().data("label")} · ${node.data("label")}`;
  }

  // Each unit in a cell of a grid, in the order the data gives (by name).
  function elementsOf(data) {
    const byUnit = new Map(data.units.map(([uuid]) => [uuid, { inputs: [], outputs: [] }]));
    for (const [uuid, unit, type, topic] of data.nodes) {
      const side = byUnit.get(unit);
      if (side) (type === "Output" ? side.outputs : side.inputs).push([uuid, topic]);
    }
    const columns = Math.max(1, Math.ceil(Math.sqrt(data.units.length * 1.6)));
    const elements = [];
    const children = [];
    let y = 0;
    let rowHeight = 0;
    data.units.forEach(([uuid, name], index) => {
      const column = index % columns;
      if (column === 0 && index > 0) {
        y += rowHeight + CELL_GAP;
        rowHeight = 0;
      }
      const side = byUnit.get(uuid);
      const x = column * CELL_WIDTH;
      elements.push({ group: "nodes", data: { id: uuid, kind: "unit", label: name } });
      side.inputs.forEach(([id, topic], k) => {
        children.push({
          group: "nodes", data: { id, parent: uuid, kind: "Input", label: topic },
          position: { x, y: y + k * NODE_GAP },
        });
      });
      side.outputs.forEach(([id, topic], k) => {
        children.push({
          group: "nodes", data: { id, parent: uuid, kind: "Output", label: topic },
          position: { x: x + COLUMN_WIDTH, y: y + k * NODE_GAP },
        });
      });
      if (!side.inputs.length && !side.outputs.length) {
        elements[elements.length - 1].position = { x: x + COLUMN_WIDTH / 2, y };
      }
      rowHeight = Math.max(rowHeight, NODE_GAP * Math.max(side.inputs.length, side.outputs.length));
    });
    const isBig = big(data.units.length + data.nodes.length + data.edges.length);
    const edges = data.edges.map(([from, to, deletable]) => ({
      group: "edges", data: { id: `edge-${from}-${to}`, source: from, target: to, deletable },
      classes: isBig ? "big" : "",
    }));
    return elements.concat(children, edges);
  }

  function draw(data) {
    const started = performance.now();
    const elements = elementsOf(data);
    const wanted = new Set(elements.map((element) => element.data.id));
    const first = cy.elements().empty();
    cy.batch(() => {
      cy.elements().filter((element) => !wanted.has(element.id())).remove();
      for (const element of elements) {
        const found = cy.getElementById(element.data.id);
        if (found.empty()) {
          cy.add(element);
        } else {
          found.data(element.data);
          if (element.position) found.position(element.position);
        }
      }
    });
    const isBig = big(elements.length);
    cy.hideEdgesOnViewport(isBig);
    cy.textureOnViewport(isBig);
    if (first) cy.fit(undefined, 30);
    if (edge && edge.removed()) clearPicks();
    cy.one("render", () => {
      root.dataset.drawMs = (performance.now() - started).toFixed(1);
      root.dataset.version = data.version;
    });
    cy.forceRender();
    version = data.version;
  }

  let loading = null;
  let again = false;
  function refresh() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      do {
        again = false;
        const answer = await fetch(root.dataset.dataUrl, { headers: { Accept: "application/json" } });
        if (!answer.ok) return;
        draw(await answer.json());
      } while (again);
    })().finally(() => {
      loading = null;
    });
    return loading;
  }

  function putHtml(selector, html) {
    const target = document.querySelector(selector);
    target.innerHTML = html;
    if (window.htmx) window.htmx.process(target);
  }

  async function post(url, values) {
    const answer = await fetch(url, {
      method: "POST",
      headers: { ...csrfHeaders, "HX-Request": "true", "HX-Current-URL": location.href },
      body: new URLSearchParams(values),
    });
    const html = await answer.text();
    if (answer.ok) {
      putHtml("#messages", "");
      putHtml("#graph-edges", html);
      clearPicks();
      await refresh();
    } else {
      putHtml("#messages", html);
    }
    return answer.ok;
  }

  cy.on("tap", "node[kind = 'Output']", (event) => {
    clearPicks();
    output = event.target;
    output.addClass("picked");
    say(`From ${labelOf(output)}: now select an Input node.`);
  });

  cy.on("tap", "node[kind = 'Input']", (event) => {
    if (!output) {
      say("Select an Output node first, then an Input node.");
      return;
    }
    if (input) input.removeClass("picked");
    input = event.target;
    input.addClass("picked");
    createButton.disabled = false;
    say(`Create the edge from ${labelOf(output)} to ${labelOf(input)}?`);
  });

  cy.on("tap", "edge", (event) => {
    clearPicks();
    edge = event.target;
    edge.select();
    const from = labelOf(edge.source());
    const to = labelOf(edge.target());
    deleteButton.disabled = !edge.data("deletable");
    say(
      edge.data("deletable")
        ? `Delete the edge from ${from} to ${to}?`
        : `The edge from ${from} to ${to} can be deleted by its creator or the input node's creator only.`,
    );
  });

  cy.on("tap", (event) => {
    if (event.target === cy) {
      clearPicks();
      say("Select an Output node, then an Input node, to draw an edge; select an edge to delete it.");
    }
  });

  createButton.addEventListener("click", async () => {
    if (!output || !input) return;
    const created = await post(createUrl, { output: output.id(), input: input.id() });
    if (created) say("The edge is created.");
  });

  deleteButton.addEventListener("click", async () => {
    if (!edge) return;
    const values = { output: edge.source().id(), input: edge.target().id() };
    const deleted = await post(deleteUrl, values);
    if (deleted) say("The edge is deleted.");
  });

  document.getElementById("graph-clear").addEventListener("click", () => {
    clearPicks();
    say("Select an Output node, then an Input node, to draw an edge; select an edge to delete it.");
  });
  document.getElementById("graph-fit").addEventListener("click", () => cy.fit(undefined, 30));

  // The SSE stream swaps the version in when the graph changed; the form and table below
  // change it too (their answers swap the table, and the stream follows within a second).
  new MutationObserver(() => {
    const shown = versionOutput.textContent.trim();
    if (shown && shown !== version) refresh();
  }).observe(versionOutput, { childList: true, characterData: true, subtree: true });

  refresh();
})();
