// The backprop player: plays the steps Python recorded (inline JSON #mg-data) over the
// graph Graphviz drew (inline SVG). It computes no gradient: every number shown comes
// from the recorded backward pass. Step 0 is the forward pass; step k (1..N) is the
// k-th visit of the backward driver.
(function () {
  "use strict";
  const SVGNS = "http://www.w3.org/2000/svg";
  const data = JSON.parse(document.getElementById("mg-data").textContent);
  const nodes = data.nodes;
  const steps = data.steps;
  const N = steps.length;
  const $ = (id) => document.getElementById(id);
  const slider = $("mg-slider");

  // ------------------------------------------------------------ the graph's boxes
  // draw_graph gives node K the id "nK"; a scalar op's ellipse is "nK_op".
  const boxes = nodes.map((_, k) => document.getElementById("n" + k));
  const opBoxes = nodes.map((_, k) => document.getElementById("n" + k + "_op"));

  // Edges by the box they point to ("nK" or its op "nK_op"): Graphviz ids them "tail->head".
  const edgesInto = new Map();
  for (const e of document.querySelectorAll("#mg-graph g.edge")) {
    const head = e.id.split("->")[1];
    if (!edgesInto.has(head)) edgesInto.set(head, []);
    edgesInto.get(head).push(e);
  }

  // Big graphs at full size (scroll to the current step), small ones fitted to the pane.
  const pane = $("mg-graph");
  const svg = pane.querySelector("svg");
  // Room around the picture for the gradient lines: under the lowest boxes, and to the
  // sides, where a line wider than its box sticks out (Graphviz sizes the picture tight).
  if (svg) {
    const vb = svg.viewBox.baseVal;
    let lines = 1; // the tallest gradient under a box: a small matrix takes a line per row
    for (const st of steps) {
      for (const u of st.updates) lines = Math.max(lines, u.rows ? u.rows.length : 1);
    }
    const [side, below] = [60, 5 + 11 * lines];
    vb.x -= side;
    vb.width += 2 * side;
    vb.height += below;
    const w = parseFloat(svg.getAttribute("width"));
    const h = parseFloat(svg.getAttribute("height"));
    if (w) svg.setAttribute("width", w + 2 * side + "pt");
    if (h) svg.setAttribute("height", h + below + "pt");
  }

  // Graphviz sizes in points; shown at one pixel per point, a box's text is about 10px.
  const natural = svg ? svg.viewBox.baseVal.width : 0;
  function setFit(fit) {
    pane.classList.toggle("mg-fit", fit);
    // fit: as wide as the pane, but a small graph at most twice its size
    const fitted = Math.min(pane.clientWidth - 20, 2 * natural);
    if (svg) svg.style.width = (fit ? fitted : natural) + "px";
    $("mg-zoom").textContent = fit ? "zoom: fit" : "zoom: 1:1";
  }
  setFit(!svg || natural <= 1.5 * pane.clientWidth);
  $("mg-zoom").addEventListener("click", () => setFit(!pane.classList.contains("mg-fit")));
  window.addEventListener("resize", () => setFit(pane.classList.contains("mg-fit")));

  // Name-scope boxes (clusters) with their extent, to light up the ones a step is inside.
  const clusters = [...document.querySelectorAll("#mg-graph g.cluster")].map((g) => ({
    g, box: g.getBBox(),
  }));
  function inside(box, outer) {
    const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
    return x >= outer.x && x <= outer.x + outer.width && y >= outer.y && y <= outer.y + outer.height;
  }

  // Under each box, a line for its gradient (filled in step by step).
  const slots = boxes.map((g, k) => {
    if (!g) return null;
    const box = g.getBBox();
    const t = document.createElementNS(SVGNS, "text");
    t.setAttribute("x", box.x + box.width / 2);
    t.setAttribute("y", box.y + box.height + 11);
    t.setAttribute("text-anchor", "middle");
    t.setAttribute("class", "mg-grad");
    t.dataset.node = k;
    g.appendChild(t);
    g.addEventListener("click", () => select(k));
    return t;
  });

  // ------------------------------------------------------------ state at step k
  // Replaying the recorded updates 1..k gives every gradient known after step k.
  function gradsAt(k) {
    const state = new Map();
    for (let s = 0; s < k; s++) {
      for (const u of steps[s].updates) state.set(u.node, u);
    }
    return state;
  }

  let current = 0;
  let selected = null; // a node picked by a click; else the current step's node

  function show(k) {
    current = Math.max(0, Math.min(N, k));
    slider.value = current;
    $("mg-counter").textContent = "step " + current + " / " + N;
    const state = gradsAt(current);
    const step = current > 0 ? steps[current - 1] : null;
    const inputs = new Set(step ? step.parents : []);
    nodes.forEach((n, j) => {
      const g = boxes[j];
      if (!g) return;
      g.classList.toggle("mg-current", !!step && step.node === j);
      g.classList.toggle("mg-input", inputs.has(j));
      if (opBoxes[j]) opBoxes[j].classList.toggle("mg-current", !!step && step.node === j);
      const u = state.get(j);
      const slot = slots[j];
      if (!u) {
        slot.textContent = "";
        delete slot.dataset.grad;
        g.classList.remove("mg-partial", "mg-has-grad");
        return;
      }
      const partial = u.count < u.of;
      const suffix = u.of > 1 ? "  (" + u.count + " of " + u.of + ")" : "";
      if (u.rows) {
        // a small matrix: one line per row, under one another
        slot.textContent = "";
        u.rows.forEach((row, r) => {
          const span = document.createElementNS(SVGNS, "tspan");
          span.setAttribute("x", slot.getAttribute("x"));
          if (r > 0) span.setAttribute("dy", "11");
          const last = r === u.rows.length - 1;
          span.textContent = (r === 0 ? "grad " : "") + row + (last ? suffix : "");
          slot.appendChild(span);
        });
      } else {
        slot.textContent = "grad " + u.text + suffix;
      }
      slot.dataset.grad = JSON.stringify(u.grad);
      g.classList.add("mg-has-grad");
      g.classList.toggle("mg-partial", partial);
    });
    document.querySelectorAll("#mg-graph g.edge.mg-current").forEach((e) =>
      e.classList.remove("mg-current"));
    if (!step) for (const c of clusters) c.g.classList.remove("mg-scope");
    if (step) {
      for (const head of ["n" + step.node, "n" + step.node + "_op"]) {
        for (const e of edgesInto.get(head) || []) e.classList.add("mg-current");
      }
      const box = boxes[step.node];
      const where = box && step.scope.length ? box.getBBox() : null;
      for (const c of clusters) c.g.classList.toggle("mg-scope", !!where && inside(where, c.box));
      if (box && !pane.classList.contains("mg-fit")) {
        box.scrollIntoView({ block: "center", inline: "center" });
      }
    }
    explain(step);
    document.querySelectorAll("#mg-steps li").forEach((li) => {
      const on = Number(li.dataset.step) === current;
      li.classList.toggle("active", on);
      if (on) li.scrollIntoView({ block: "nearest" });
    });
    $("mg-check-result").textContent = "";
    updateSelected();
  }

  function explain(step) {
    const lines = $("mg-lines");
    lines.textContent = "";
    if (!step) {
      $("mg-step-title").textContent = "step 0: the forward pass";
      addLine(lines, "Every value is computed; no gradient yet. Press → to start backward.");
      for (const text of data.forward || []) addLine(lines, text, "eq");
      return;
    }
    $("mg-step-title").textContent = "step " + current + ": " + step.title;
    if (step.scope.length) addLine(lines, "inside name scope " + step.scope.join("/"), "scope");
    for (const text of step.lines) addLine(lines, text, "eq");
    if (current === N) {
      addLine(lines, "Done: every gradient on the graph is what backward() left in .grad.", "done");
    }
  }

  function addLine(parent, text, cls) {
    const div = document.createElement("div");
    div.textContent = text;
    if (cls) div.className = cls;
    parent.appendChild(div);
  }

  // ------------------------------------------------------------ the check
  function target() {
    if (selected !== null) return selected;
    return current > 0 ? steps[current - 1].node : data.root;
  }

  function select(k) {
    selected = selected === k ? null : k;
    $("mg-check-result").textContent = "";
    updateSelected();
  }

  function updateSelected() {
    const k = target();
    boxes.forEach((g, j) => g && g.classList.toggle("mg-selected", selected === j));
    $("mg-selected").textContent =
      "node " + nodes[k].name + (selected === null ? " (click a box to pick another)" : "");
  }

  $("mg-check").addEventListener("click", () => {
    const k = target();
    const n = nodes[k];
    const out = $("mg-check-result");
    if (!n.check) {
      out.textContent = "no central difference for " + n.name + ": " + n.checkNote;
      return;
    }
    out.textContent =
      "central difference d(" + nodes[data.root].name + ")/d(" + n.name + ") ≈ " +
      n.check.text + "; backprop gives " + n.gradText +
      "; largest difference " + n.check.diff.toExponential(2);
  });

  // ------------------------------------------------------------ the list of steps
  // Consecutive steps inside one top-level name scope (a composite op such as
  // batchnorm) are grouped under one heading.
  function buildList() {
    const list = $("mg-steps");
    const item = (s, text) => {
      const li = document.createElement("li");
      li.value = s;
      li.dataset.step = s;
      li.textContent = text;
      li.addEventListener("click", () => { stop(); show(s); });
      return li;
    };
    list.appendChild(item(0, "forward pass"));
    let group = null;
    let groupName = null;
    steps.forEach((st, i) => {
      const name = st.scope.length ? st.scope[0] : null;
      if (name !== groupName) {
        groupName = name;
        group = null;
        if (name !== null) {
          const li = document.createElement("li");
          li.className = "group";
          li.value = i + 1;
          const details = document.createElement("details");
          details.open = true;
          const summary = document.createElement("summary");
          details.appendChild(summary);
          group = document.createElement("ol");
          group.start = i + 1;
          group.dataset.scope = name;
          details.appendChild(group);
          li.appendChild(details);
          list.appendChild(li);
          group.summaryEl = summary;
          group.first = i + 1;
        }
      }
      const label = st.label + (st.scope.length > 1 ? " [" + st.scope.slice(1).join("/") + "]" : "");
      const li = item(i + 1, label);
      if (group) {
        group.appendChild(li);
        group.summaryEl.textContent =
          name + ": steps " + group.first + "–" + (i + 1) + " (" + group.children.length + ")";
      } else {
        list.appendChild(li);
      }
    });
  }

  // ------------------------------------------------------------ controls
  let timer = null;
  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    $("mg-play").textContent = "▶ play";
  }
  function play() {
    if (current >= N) show(0);
    const speed = Number($("mg-speed").value);
    timer = setInterval(() => {
      if (current >= N) stop();
      else show(current + 1);
    }, 1000 / speed);
    $("mg-play").textContent = "⏸ pause";
  }
  $("mg-play").addEventListener("click", () => (timer === null ? play() : stop()));
  $("mg-speed").addEventListener("change", () => { if (timer !== null) { stop(); play(); } });
  $("mg-next").addEventListener("click", () => { stop(); show(current + 1); });
  $("mg-prev").addEventListener("click", () => { stop(); show(current - 1); });
  slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });
  document.addEventListener("keydown", (e) => {
    // the slider and the speed menu use the arrow keys themselves
    if (e.target === slider || e.target.tagName === "SELECT") return;
    if (e.key === "ArrowRight") { stop(); show(current + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { stop(); show(current - 1); e.preventDefault(); }
    else if (e.key === "Home") { stop(); show(0); e.preventDefault(); }
    else if (e.key === "End") { stop(); show(N); e.preventDefault(); }
  });

  buildList();
  show(0);
  // For tests and curious readers: the current step and the grads shown.
  window.minigradPlayer = { show, get step() { return current; }, steps: N };
})();
