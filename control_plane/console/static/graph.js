// The graph page (templates/graph/page.html): draws GET /graph/data with cytoscape.js, each
// unit a box with its Input nodes on the left and Output nodes on the right
// (labels inside, so edges leave and enter the boxes at their sides; the box is a plain node
// drawn behind them, not a compound parent, which would cost cytoscape twice the time); draws an edge
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
  // The answer is the edges table at the page's own page of it (`?page=N`).
  const createUrl = document.getElementById("edge-create").getAttribute("action");
  const deleteUrl = `${createUrl}/delete`;
  const tablePage = location.search;
  const csrfHeaders = JSON.parse(document.body.getAttribute("hx-headers") || "{}");

  const NODE_GAP = 34; // between the nodes of a unit
  const COLUMN_WIDTH = 310; // from a unit's inputs to its outputs, their labels between
  const CELL_WIDTH = 520;
  const CELL_GAP = 60;
  const BOX_PADDING = 22; // around a unit's nodes
  const BIG = 3000; // elements: above this, straight edges and no redraw while moving

  const big = (count) => count > BIG;
  const STYLE = [
    // Boxes at the back, then edges, then the nodes they join.
    { selector: "node, edge", style: { "z-index-compare": "manual" } },
    {
      selector: "node[kind = 'unit']",
      style: {
        shape: "round-rectangle", "background-color": "#f4f6f8", "border-color": "#9aa5b1",
        "border-width": 1, label: "data(label)", "text-valign": "top", "text-halign": "center",
        "font-size": 13, "font-weight": 600, "min-zoomed-font-size": 6, width: "data(width)",
        height: "data(height)", "z-index": 0,
      },
    },
    {
      selector: "node[kind = 'Output'], node[kind = 'Input']",
      style: {
        width: 14, height: 14, label: "data(label)", "font-size": 11, "text-valign": "center",
        "min-zoomed-font-size": 7, "z-index": 2,
      },
    },
    {
      selector: "node[kind = 'Output']",
      style: { "background-color": "#2f7d4f", "text-halign": "left", "text-margin-x": -4 },
    },
    {
      selector: "node[kind = 'Input']",
      style: {
        "background-color": "#2c5f9e", shape: "round-rectangle", "text-halign": "right",
        "text-margin-x": 4,
      },
    },
    {
      selector: "edge",
      style: {
        width: 2, "line-color": "#7b8794", "target-arrow-color": "#7b8794", "z-index": 1,
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
  ];

  // Made at the first drawing: the cheaper renderer options suit big graphs only, and
  // cytoscape takes them when it starts.
  let cy = null;
  function start(isBig, elements) {
    cy = cytoscape({
      container: canvas,
      elements, // given at the start: much faster than added one by one
      layout: { name: "preset", fit: true, padding: 30 },
      style: STYLE,
      autoungrabify: true,
      boxSelectionEnabled: false,
      selectionType: "single",
      minZoom: 0.02,
      maxZoom: 3,
      hideEdgesOnViewport: isBig,
      textureOnViewport: isBig,
    });
    canvas.cy = cy; // for the browser tests and the bench
    listen();
  }

  let version = null;
  let output = null;
  let input = null;
  let edge = null;

  function say(text) {
    hint.textContent = text;
  }

  function clearPicks() {
    if (cy) cy.elements().removeClass("picked").unselect();
    output = input = edge = null;
    createButton.disabled = true;
    deleteButton.disabled = true;
  }

  function labelOf(node) {
    return `${node.data("unitName")} · ${node.data("label")}`;
  }

  // A unit's rank: how many edges from a unit that no other unit feeds (units only in cycles
  // start ranks of their own), so edges mostly run left to right. O(units + edges).
  function ranksOf(data, unitOf) {
    const next = new Map(data.units.map(([uuid]) => [uuid, new Set()]));
    const fed = new Set();
    for (const [from, to] of data.edges) {
      const source = unitOf.get(from);
      const target = unitOf.get(to);
      if (source && target && source !== target) {
        next.get(source).add(target);
        fed.add(target);
      }
    }
    const rank = new Map();
    const walk = (starts) => {
      let queue = starts.filter((uuid) => !rank.has(uuid));
      queue.forEach((uuid) => rank.set(uuid, 0));
      while (queue.length) {
        const following = [];
        for (const uuid of queue) {
          for (const target of next.get(uuid)) {
            if (!rank.has(target)) {
              rank.set(target, rank.get(uuid) + 1);
              following.push(target);
            }
          }
        }
        queue = following;
      }
    };
    walk(data.units.map(([uuid]) => uuid).filter((uuid) => !fed.has(uuid)));
    for (const [uuid] of data.units) walk([uuid]);
    return rank;
  }

  // Units in columns by rank, in the order the data gives (by name) within a column; a rank of
  // more than about sqrt(units) units takes several columns, so big graphs stay square.
  function elementsOf(data) {
    const byUnit = new Map(data.units.map(([uuid]) => [uuid, { inputs: [], outputs: [] }]));
    const unitOf = new Map();
    for (const [uuid, unit, type, topic] of data.nodes) {
      const side = byUnit.get(unit);
      if (!side) continue;
      (type === "Output" ? side.outputs : side.inputs).push([uuid, topic]);
      unitOf.set(uuid, unit);
    }
    const rank = ranksOf(data, unitOf);
    const perColumn = Math.max(4, Math.ceil(Math.sqrt(data.units.length)));
    const columns = [];
    for (const unit of data.units) {
      const ranked = rank.get(unit[0]);
      while (columns.length <= ranked) columns.push([]);
      columns[ranked].push(unit);
    }
    const elements = [];
    const children = [];
    let x = 0;
    for (const column of columns) {
      for (let first = 0; first < column.length; first += perColumn) {
        let y = 0;
        for (const [uuid, name] of column.slice(first, first + perColumn)) {
          const side = byUnit.get(uuid);
          const rows = Math.max(1, side.inputs.length, side.outputs.length);
          elements.push({
            group: "nodes",
            data: {
              id: uuid, kind: "unit", label: name, width: COLUMN_WIDTH + 2 * BOX_PADDING,
              height: NODE_GAP * (rows - 1) + 2 * BOX_PADDING,
            },
            position: { x: x + COLUMN_WIDTH / 2, y: y + (NODE_GAP * (rows - 1)) / 2 },
          });
          side.inputs.forEach(([id, topic], k) => {
            children.push({
              group: "nodes", data: { id, unitName: name, kind: "Input", label: topic },
              position: { x, y: y + k * NODE_GAP },
            });
          });
          side.outputs.forEach(([id, topic], k) => {
            children.push({
              group: "nodes", data: { id, unitName: name, kind: "Output", label: topic },
              position: { x: x + COLUMN_WIDTH, y: y + k * NODE_GAP },
            });
          });
          y += NODE_GAP * Math.max(1, side.inputs.length, side.outputs.length) + CELL_GAP;
        }
        x += CELL_WIDTH;
      }
    }
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
    const first = cy === null;
    if (first) {
      start(big(elements.length), elements);
    } else {
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
    }
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

  function listen() {
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

  }

  createButton.addEventListener("click", async () => {
    if (!output || !input) return;
    const created = await post(createUrl + tablePage, { output: output.id(), input: input.id() });
    if (created) say("The edge is created.");
  });

  deleteButton.addEventListener("click", async () => {
    if (!edge) return;
    const values = { output: edge.source().id(), input: edge.target().id() };
    const deleted = await post(deleteUrl + tablePage, values);
    if (deleted) say("The edge is deleted.");
  });

  document.getElementById("graph-clear").addEventListener("click", () => {
    clearPicks();
    say("Select an Output node, then an Input node, to draw an edge; select an edge to delete it.");
  });
  document.getElementById("graph-fit").addEventListener("click", () => cy && cy.fit(undefined, 30));

  // The SSE stream swaps the version in when the graph changed; the form and table below
  // change it too (their answers swap the table, and the stream follows within a second).
  new MutationObserver(() => {
    const shown = versionOutput.textContent.trim();
    if (shown && shown !== version) refresh();
  }).observe(versionOutput, { childList: true, characterData: true, subtree: true });

  refresh();
})();
