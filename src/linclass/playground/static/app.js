// The playground page: it holds the state (points, labels, W, b, the hidden layer if any, settings),
// draws it, and asks the server (linclass) for the losses and for gradient-descent steps. The server
// keeps no state.

const PALETTE = ["#e03131", "#1971c2", "#2f9e44", "#f08c00", "#9c36b5",
                 "#0c8599", "#c2255c", "#5c940d", "#495057", "#e8590c"];
const REGION_TINT = 0.22;      // how much of a class colour shows in its region (the rest is white)
const POINT_RADIUS = 6;        // CSS pixels
const GRAB_RADIUS = 11;        // a click this close to a point grabs it
const SLIDER_LIMIT = {w: 5, b: 8};
// The hidden units' nonlinearities σ by the names the server offers (linclass.nn.network.ACTIVATIONS),
// for drawing the regions of a network.
const ACTIVATION_FUNCTIONS = {
  relu: (z) => Math.max(0, z),
  tanh: Math.tanh,
  logistic: (z) => 1 / (1 + Math.exp(-z)),
};
// A formula as linclass's loss records write it ("s_{y_i}", "s_j"), with its subscripts set as such.
function formulaHtml(text) {
  const escaped = text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const subscripts = (t) => t.replace(/_(\w+)/g, "<sub>$1</sub>");
  return subscripts(escaped.replace(/_\{([^}]*)\}/g, (_, sub) => `<sub>${subscripts(sub)}</sub>`))
    .replace(/\^\{([^}]*)\}/g, "<sup>$1</sup>");
}

const $ = (id) => document.getElementById(id);

const state = {
  limit: 5,                 // the plane shown is [-limit, limit]²
  points: [], labels: [],
  W: [], b: [],
  hidden: null,             // the hidden layer {W: H×2, b: H, activation}, or null: then W is K×2, else K×H
  maxHiddenUnits: 16,
  classes: 3,
  newClass: 0,
  loss: null, marginLosses: new Set(), losses: {},   // the loss records, by name, from /api/options
  lrDefault: "",             // what an empty learning rate means, from /api/options
  defaults: {},             // the declared defaults of the settings on the page, from /api/options
  penalty: null,             // "none" or a penalty's name; starts at the declared default, from /api/options
  result: null,             // the server's last answer for the current state
  history: [],              // {step, total, data}: the loss before the first step, then after each step
  stepCount: 0,
  playing: false,
  version: 0,               // bumped by every edit, so that an answer for an older state is dropped
  maxClasses: null, maxPoints: null,   // the server's limits, from /api/options
  hoverRow: null,
};
window.playground = state;  // for the curious (and for the browser tests)

// ---------------------------------------------------------------- talking to the server

async function getJSON(url, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const response = await fetch(url, init);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || `the server answered ${response.status}`);
  return answer;
}

function planeRequest() {
  return {
    points: state.points, labels: state.labels, W: state.W, b: state.b, hidden: state.hidden,
    loss: state.loss, delta: readNumber("delta", state.defaults.delta), penalty: state.penalty,
    reg: readNumber("reg", state.defaults.reg),
  };
}

function stepRequest(steps) {
  const n = state.points.length;
  const batch = $("mini-batch").checked ? Math.max(1, Math.min(n, Math.round(readNumber("batch-size", 8)))) : null;
  return {...planeRequest(), lr: readNumber("lr", null), batch_size: batch, steps, seed: state.stepCount};
}

function readNumber(id, fallback) {
  const value = parseFloat($(id).value);
  return Number.isFinite(value) ? value : fallback;
}

// One request at a time: an edit asks for an evaluation, play and "single step" for steps.
const queue = {busy: false, evaluate: false, steps: 0};

function requestEvaluate() { queue.evaluate = true; pump(); }

async function pump() {
  if (queue.busy) return;
  const steps = queue.steps || (state.playing ? Number($("steps-per-update").value) : 0);
  if (!queue.evaluate && steps === 0) return;
  const evaluating = queue.evaluate;
  if (!evaluating && state.points.length === 0) {
    showStatus("Add some points first: there is nothing to learn from.", true);
    setPlaying(false); queue.steps = 0;
    return;
  }
  queue.busy = true;
  queue.evaluate = false;
  if (!evaluating) queue.steps = 0;
  const sentVersion = state.version;
  try {
    const answer = evaluating
      ? await getJSON("/api/evaluate", planeRequest())
      : await getJSON("/api/step", stepRequest(steps));
    if (sentVersion === state.version) {
      if (!evaluating) takeStep(answer);
      state.result = answer;
      showStatus("");
      render();
    }
  } catch (error) {
    showStatus(error.message, true);
    setPlaying(false);
  } finally {
    queue.busy = false;
    if (state.playing && !queue.evaluate) requestAnimationFrame(pump); else pump();
  }
}

function takeStep(answer) {
  if (state.history.length === 0 && state.result) {  // the curve starts where training started
    state.history.push({step: state.stepCount, total: state.result.total_loss, data: state.result.data_loss});
  }
  state.W = answer.W;
  state.b = answer.b;
  state.hidden = answer.hidden || null;
  state.stepCount += answer.steps;
  showStepSize(answer.lr);
  state.history.push({step: state.stepCount, total: answer.total_loss, data: answer.data_loss});
  if (state.history.length > 5000) state.history.splice(0, state.history.length - 5000);
  syncSliders();
}

// ---------------------------------------------------------------- edits

function edited({resetCurve = false} = {}) {
  state.version += 1;
  if ($("lr").value.trim() === "") $("lr-used").textContent = state.lrDefault;  // the next step derives it anew
  if (resetCurve) state.history = [];
  requestEvaluate();
  render();
}

function mulberry32(seed) {   // a small seeded generator: the same seed, the same numbers
  return () => {
    seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAX_SEED = 2 ** 32 - 1;  // mulberry32 keeps 32 bits of its seed

function readSeed() {  // the seed asked for, kept to a whole number in 0..MAX_SEED
  const seed = Math.max(0, Math.min(MAX_SEED, Math.round(readNumber("seed", 0))));
  $("seed").value = String(seed);
  return seed;
}

// The chosen model's starting weights, drawn from the seed in the seed field: a linear classifier's lines
// anywhere in the plane, or a network started as lc.nn.Linear starts its layers (PyTorch's default:
// uniform in ±1/√fan_in). The same seed and model always give the same weights; the step count and
// the curve start again.
function resetWeights() {
  const random = mulberry32(readSeed());
  const uniform = (a) => (2 * random() - 1) * a;
  const matrix = (rows, columns, a) => Array.from({length: rows}, () => Array.from({length: columns}, () => uniform(a)));
  const vector = (length, a) => Array.from({length}, () => uniform(a));
  if ($("model-hidden").checked) {
    const units = hiddenUnits();
    state.hidden = {W: matrix(units, 2, Math.SQRT1_2), b: vector(units, Math.SQRT1_2), activation: $("activation").value};
    state.W = matrix(state.classes, units, 1 / Math.sqrt(units));
    state.b = vector(state.classes, 1 / Math.sqrt(units));
  } else {
    state.hidden = null;
    state.W = matrix(state.classes, 2, 2);
    state.b = vector(state.classes, 1.5);
  }
  state.stepCount = 0;
  showModel();
  buildSliders();
  edited({resetCurve: true});
}

// Randomize: the next seed, and the weights it gives.
function nextSeed() {
  const seed = readSeed();
  $("seed").value = String(seed === MAX_SEED ? 0 : seed + 1);
  resetWeights();
}

function hiddenUnits() {  // the units asked for, kept to 1..the server's limit
  const units = Math.max(1, Math.min(state.maxHiddenUnits, Math.round(readNumber("hidden-units", 8))));
  $("hidden-units").value = String(units);
  return units;
}

// Show what makes sense for the model: sliders and class lines for a linear one, the layers' sizes for a network.
function showModel() {
  const hidden = state.hidden;
  $("hidden-units").disabled = $("activation").disabled = !$("model-hidden").checked;
  $("linear-caption").hidden = $("linear-weights").hidden = hidden !== null;
  $("network-caption").hidden = $("network-weights").hidden = hidden === null;
  $("randomized").innerHTML = hidden ? "all" : "<i>W</i>, <i>b</i>";
  const penalty = hidden ? "λ(<i>R</i>(<i>W</i><sub>1</sub>) + <i>R</i>(<i>W</i><sub>2</sub>))" : "λ<i>R</i>(<i>W</i>)";
  document.querySelectorAll(".penalty-term").forEach((term) => { term.innerHTML = penalty; });
  if (!hidden) return;
  const [units, classes] = [hidden.W.length, state.W.length];
  const count = units * 2 + units + classes * units + classes;
  $("network-shapes").innerHTML = `<i>W</i><sub>1</sub> is ${units}×2 and <b>b</b><sub>1</sub> has ${units} numbers: ` +
    `one row and one bias per hidden unit, whose output is ${hidden.activation}(<b>w</b>·<b>x</b> + <i>b</i>). ` +
    `<i>W</i><sub>2</sub> is ${classes}×${units} and <b>b</b><sub>2</sub> has ${classes}: ` +
    `each class scores the hidden units' outputs. ${count} numbers in all.`;
}

async function loadPreset() {
  const classes = Number($("classes").value);
  const url = `/api/preset/${$("preset").value}?classes=${classes}&per_class=${$("per-class").value}&seed=0`;
  try {
    const preset = await getJSON(url);
    setPoints(preset.points, preset.labels, classes);
  } catch (error) {
    showStatus(error.message, true);
  }
}

// New data of `classes` classes: the weights start again from the seed when the number of classes
// changes (W needs a row per class), and keep training from where they are otherwise.
function setPoints(points, labels, classes) {
  state.points = points;
  state.labels = labels;
  if (classes !== state.classes || state.W.length !== classes) {
    state.classes = classes;
    $("classes").value = String(classes);
    state.newClass = Math.min(state.newClass, classes - 1);
    buildClassPicker();
    resetWeights();
    return;
  }
  state.stepCount = 0;
  edited({resetCurve: true});
}

function setPlaying(playing) {
  state.playing = playing;
  $("play").textContent = playing ? "❚❚ Pause" : "▶ Play";
  $("play").setAttribute("aria-pressed", String(playing));
  if (playing) pump();
}

// ---------------------------------------------------------------- points and weights as files
//
// Points load from a file the user picks and save as a download, in either of two forms:
//   CSV   the header x,y,label, then one point a line:  1.5,-0.25,2
//   JSON  {"points": [[x, y], ...], "labels": [...]}    (the fields the API takes; others are ignored)
// The labels are whole numbers 0..K-1 and K, the number of classes, is the largest label plus one (at
// least 2, at most the server's max_classes). A file is checked whole before anything changes: a point
// outside the plane, a label out of range or too many points refuse the file (nothing is clipped), and
// the current points stay as they were.

const MAX_FILE_BYTES = 2_000_000;  // several times what max_points rows of full-precision numbers take
const CSV_HEADER = "x,y,label";
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;  // what a CSV cell holding a number looks like

// The {points, labels} that `text`, the contents of the file `name`, holds; an Error of one line if it
// holds no such thing.
function parsePointsFile(name, text) {
  const format = name.toLowerCase().split(".").pop();
  if (text.trim() === "") fail(`${name} is empty`);
  const rows = format === "csv" ? csvRows(name, text)
    : format === "json" ? jsonRows(name, text)
    : fail(`${name}: choose a .csv or .json file`);
  if (rows.length === 0) fail(`${name} holds no points`);
  if (rows.length > state.maxPoints) {
    fail(`${name} holds ${counted(rows.length, "point")}; the playground takes at most ${state.maxPoints}`);
  }
  const points = [], labels = [];
  for (const {where, x, y, label} of rows) {
    const place = `${name} ${where}`;
    for (const [field, value] of [["x", x], ["y", y]]) {
      if (!Number.isFinite(value)) fail(`${place}: ${field} is ${shown(value)}, not a finite number`);
    }
    if (Math.abs(x) > state.limit || Math.abs(y) > state.limit) {
      fail(`${place}: (${x}, ${y}) lies outside the plane [-${state.limit}, ${state.limit}]²; ` +
           "scale the points to fit (they are not clipped)");
    }
    if (!Number.isInteger(label) || label < 0 || label >= state.maxClasses) {
      fail(`${place}: the label ${shown(label)} is not a class 0 to ${state.maxClasses - 1}`);
    }
    points.push([x, y]);
    labels.push(label);
  }
  return {points, labels};
}

function fail(message) { throw new Error(message); }

const counted = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

function shown(value) {  // a value as a message quotes it: numbers as numbers, the rest as JSON, cut short
  const text = typeof value === "number" ? String(value) : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

// The number of classes of a file's labels: the largest label plus one, and at least two.
const classesOf = (labels) => Math.max(2, ...labels.map((label) => label + 1));

// A CSV file's rows as {where, x, y, label}: the numbers read, or the cell's text where it is none.
function csvRows(name, text) {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const header = lines[0].split(",").map((cell) => cell.trim().toLowerCase()).join(",");
  if (header !== CSV_HEADER) fail(`${name}: the first line must be the header ${CSV_HEADER}, not ${shown(lines[0])}`);
  const cellValue = (cell) => DECIMAL.test(cell.trim()) ? Number(cell) : cell.trim();
  const rows = [];
  lines.forEach((line, i) => {
    if (i === 0 || line.trim() === "") return;
    const cells = line.split(",");
    if (cells.length !== 3) fail(`${name} line ${i + 1}: ${cells.length} values; write x,y,label`);
    const [x, y, label] = cells.map(cellValue);
    rows.push({where: `line ${i + 1}`, x, y, label});
  });
  return rows;
}

// A JSON file's rows as {where, x, y, label}, in the same form as csvRows gives them.
function jsonRows(name, text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (error) {
    fail(`${name} is not JSON: ${error.message}`);
  }
  const form = '{"points": [[x, y], ...], "labels": [...]}';
  if (data === null || typeof data !== "object" || !Array.isArray(data.points) || !Array.isArray(data.labels)) {
    fail(`${name} must hold an object ${form}`);
  }
  if (data.points.length !== data.labels.length) {
    fail(`${name} holds ${counted(data.points.length, "point")} but ${counted(data.labels.length, "label")}; ` +
         "give one label per point");
  }
  return data.points.map((point, i) => {
    if (!Array.isArray(point) || point.length !== 2) fail(`${name} point ${i}: ${shown(point)} is not an [x, y] pair`);
    return {where: `point ${i}`, x: point[0], y: point[1], label: data.labels[i]};
  });
}

async function loadPointsFile(file) {
  try {
    if (file.size > MAX_FILE_BYTES) fail(`${file.name} is ${file.size} bytes; a file of points is at most ${MAX_FILE_BYTES}`);
    const {points, labels} = parsePointsFile(file.name, await file.text());
    const classes = classesOf(labels);
    setPoints(points, labels, classes);
    showFileStatus(`Loaded ${counted(points.length, "point")} of ${classes} classes from ${file.name}.`);
  } catch (error) {
    showFileStatus(error.message, true);
  }
}

function pointsCsv() {
  return [CSV_HEADER, ...state.points.map(([x, y], i) => `${x},${y},${state.labels[i]}`)].join("\n") + "\n";
}

function pointsJson() {
  return JSON.stringify({points: state.points, labels: state.labels});
}

// The classifier in the API's field names (W, b, hidden, and the loss it was trained by): with the
// points added, the file is a request /api/evaluate takes; linclass.playground.load_weights reads it.
function weightsJson() {
  const {points, labels, ...classifier} = planeRequest();
  return JSON.stringify(classifier, null, 1);
}

function download(name, text, type) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], {type}));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);  // once the download has started
}

function showFileStatus(message, isError = false) {
  $("file-status").textContent = message;
  $("file-status").classList.toggle("error", isError);
}

// ---------------------------------------------------------------- the plane: coordinates and mouse

const plot = $("plot");
const plotSize = () => plot.clientWidth;
const toPixel = (x, y) => [(x + state.limit) / (2 * state.limit) * plotSize(),
                           (state.limit - y) / (2 * state.limit) * plotSize()];
const toPlane = (px, py) => [px / plotSize() * 2 * state.limit - state.limit,
                             state.limit - py / plotSize() * 2 * state.limit];

function pointerPosition(event) {
  const rect = plot.getBoundingClientRect();
  return [event.clientX - rect.left, event.clientY - rect.top];
}

function nearestPoint(px, py) {
  let best = -1, bestDistance = GRAB_RADIUS;
  state.points.forEach(([x, y], i) => {
    const [qx, qy] = toPixel(x, y);
    const distance = Math.hypot(qx - px, qy - py);
    if (distance <= bestDistance) { best = i; bestDistance = distance; }
  });
  return best;
}

function clampToPlane(value) {
  const edge = state.limit * 0.98;
  return Math.max(-edge, Math.min(edge, value));
}

let dragging = -1;

function removePoint(i) {
  state.points.splice(i, 1);
  state.labels.splice(i, 1);
  edited();
}

plot.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  const [px, py] = pointerPosition(event);
  const hit = nearestPoint(px, py);
  if (hit >= 0 && event.shiftKey) { removePoint(hit); return; }
  if (hit >= 0) {
    dragging = hit;
  } else {
    const [x, y] = toPlane(px, py);
    state.points.push([clampToPlane(x), clampToPlane(y)]);
    state.labels.push(state.newClass);
    dragging = state.points.length - 1;
    edited();
  }
  plot.setPointerCapture(event.pointerId);
});

plot.addEventListener("pointermove", (event) => {
  const [px, py] = pointerPosition(event);
  plot.style.cursor = dragging >= 0 ? "grabbing" : nearestPoint(px, py) >= 0 ? "grab" : "crosshair";
  if (dragging < 0) return;
  const [x, y] = toPlane(px, py);
  state.points[dragging] = [clampToPlane(x), clampToPlane(y)];
  edited();
});

const endDrag = () => { dragging = -1; };
plot.addEventListener("pointerup", endDrag);
plot.addEventListener("pointercancel", endDrag);
plot.addEventListener("contextmenu", (event) => {
  event.preventDefault();
  const hit = nearestPoint(...pointerPosition(event));
  if (hit >= 0) removePoint(hit);
});

// ---------------------------------------------------------------- drawing the plane

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const REGION_RGB = PALETTE.map((hex) => hexToRgb(hex).map((c) => Math.round(255 - (255 - c) * REGION_TINT)));

function prepareCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  return [context, width, height];
}

const regionCells = document.createElement("canvas");  // one cell per two CSS pixels, scaled up when drawn

// The class scores of a point (x, y), as the server computes them: W x + b, or W σ(W₁ x + b₁) + b
// through the hidden layer (a forward pass of the network, cheap for 2 → H → K).
function scorer() {
  const {W, b, hidden} = state;
  if (!hidden) return (x, y) => W.map((w, k) => w[0] * x + w[1] * y + b[k]);
  const sigma = ACTIVATION_FUNCTIONS[hidden.activation];
  return (x, y) => {
    const h = hidden.W.map((w, j) => sigma(w[0] * x + w[1] * y + hidden.b[j]));
    return W.map((w, k) => w.reduce((sum, weight, j) => sum + weight * h[j], b[k]));
  };
}

function argmax(values) {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}
window.classAt = (x, y) => argmax(scorer()(x, y));  // the class a region shows, for the browser tests

function drawRegions(context, size) {
  const pixels = Math.max(1, Math.round(size / 2));  // two CSS pixels per cell is plenty for a region
  const image = context.createImageData(pixels, pixels);
  const scores = scorer();
  for (let row = 0; row < pixels; row++) {
    const y = state.limit - (row + 0.5) / pixels * 2 * state.limit;
    for (let col = 0; col < pixels; col++) {
      const x = (col + 0.5) / pixels * 2 * state.limit - state.limit;
      const best = argmax(scores(x, y));
      const [r, g, bl] = REGION_RGB[best % REGION_RGB.length];
      const offset = 4 * (row * pixels + col);
      image.data[offset] = r; image.data[offset + 1] = g; image.data[offset + 2] = bl; image.data[offset + 3] = 255;
    }
  }
  if (regionCells.width !== pixels) regionCells.width = regionCells.height = pixels;
  regionCells.getContext("2d").putImageData(image, 0, 0);
  context.imageSmoothingEnabled = false;
  context.drawImage(regionCells, 0, 0, size, size);
}

function drawGrid(context, size) {
  context.lineWidth = 1;
  for (let v = -Math.floor(state.limit); v <= state.limit; v++) {
    const [px] = toPixel(v, 0), [, py] = toPixel(0, v);
    context.strokeStyle = v === 0 ? "rgba(0,0,0,0.35)" : "rgba(0,0,0,0.07)";
    context.beginPath(); context.moveTo(px, 0); context.lineTo(px, size); context.stroke();
    context.beginPath(); context.moveTo(0, py); context.lineTo(size, py); context.stroke();
  }
  context.fillStyle = "rgba(0,0,0,0.45)";
  context.font = "11px system-ui, sans-serif";
  context.textAlign = "left";
  context.fillText("x₁", size - 18, toPixel(0, 0)[1] - 6);
  context.fillText("x₂", toPixel(0, 0)[0] + 6, 14);
  for (const v of [-4, -2, 2, 4]) {
    const [px, py] = toPixel(v, 0);
    context.fillText(String(v), px - 4, py + 14);
    const [qx, qy] = toPixel(0, v);
    context.fillText(String(v), qx + 5, qy + 4);
  }
}

// The part of the line w·x + b = 0 inside the shown square (Liang–Barsky clipping), or null.
function zeroScoreSegment(w, bias) {
  const norm = Math.hypot(w[0], w[1]);
  if (norm < 1e-9) return null;
  const foot = [-bias * w[0] / norm ** 2, -bias * w[1] / norm ** 2];   // the line's point nearest the origin
  const along = [-w[1] / norm, w[0] / norm];
  let low = -Infinity, high = Infinity;
  for (const axis of [0, 1]) {
    if (Math.abs(along[axis]) < 1e-12) {
      if (Math.abs(foot[axis]) > state.limit) return null;
      continue;
    }
    const t1 = (-state.limit - foot[axis]) / along[axis], t2 = (state.limit - foot[axis]) / along[axis];
    low = Math.max(low, Math.min(t1, t2));
    high = Math.min(high, Math.max(t1, t2));
  }
  if (low >= high) return null;
  return [foot[0] + low * along[0], foot[1] + low * along[1], foot[0] + high * along[0], foot[1] + high * along[1]];
}

function drawArrow(context, [x1, y1], [x2, y2], color) {
  const angle = Math.atan2(y2 - y1, x2 - x1);
  context.strokeStyle = color; context.fillStyle = color; context.lineWidth = 2.5;
  context.beginPath(); context.moveTo(x1, y1); context.lineTo(x2, y2); context.stroke();
  context.beginPath();
  context.moveTo(x2, y2);
  context.lineTo(x2 - 11 * Math.cos(angle - 0.4), y2 - 11 * Math.sin(angle - 0.4));
  context.lineTo(x2 - 11 * Math.cos(angle + 0.4), y2 - 11 * Math.sin(angle + 0.4));
  context.closePath(); context.fill();
}

// Where each hidden unit's input is zero: thin dashed lines, the only places a ReLU network's boundary bends.
function drawHiddenLines(context) {
  context.save();
  context.strokeStyle = "rgba(33, 37, 41, 0.45)"; context.lineWidth = 1; context.setLineDash([5, 4]);
  state.hidden.W.forEach((w, j) => {
    const segment = zeroScoreSegment(w, state.hidden.b[j]);
    if (!segment) return;
    const [ax, ay] = toPixel(segment[0], segment[1]), [bx, by] = toPixel(segment[2], segment[3]);
    context.beginPath(); context.moveTo(ax, ay); context.lineTo(bx, by); context.stroke();
  });
  context.restore();
  plot.dataset.lines = "[]";  // no class has a line of its own
}

function drawLines(context) {
  if (state.hidden) { drawHiddenLines(context); return; }
  const segments = [];
  state.W.forEach((w, k) => {
    const color = PALETTE[k % PALETTE.length];
    const segment = zeroScoreSegment(w, state.b[k]);
    segments.push(segment && {class: k, x1: segment[0], y1: segment[1], x2: segment[2], y2: segment[3]});
    if (!segment) return;
    const [ax, ay] = toPixel(segment[0], segment[1]), [bx, by] = toPixel(segment[2], segment[3]);
    context.strokeStyle = color; context.lineWidth = 2.5;
    context.beginPath(); context.moveTo(ax, ay); context.lineTo(bx, by); context.stroke();
    // Arrows start at staggered places along their lines, so that lines crossing at one point
    // do not pile their arrows up there.
    const along = (k + 1) / (state.W.length + 1);
    const foot = [segment[0] + along * (segment[2] - segment[0]), segment[1] + along * (segment[3] - segment[1])];
    const norm = Math.hypot(w[0], w[1]);
    const length = Math.min(2.5, 0.6 + 0.4 * norm);   // in plane units: grows with |w_k|
    const tip = [foot[0] + length * w[0] / norm, foot[1] + length * w[1] / norm];
    drawArrow(context, toPixel(...foot), toPixel(...tip), color);
  });
  plot.dataset.lines = JSON.stringify(segments.map((s) => s && Object.fromEntries(
    Object.entries(s).map(([key, value]) => [key, Math.round(value * 1e4) / 1e4]))));
}

function pointLoss(i) {
  const result = state.result;
  return result && result.per_point.length === state.points.length ? result.per_point[i].loss : null;
}

function drawPoints(context) {
  state.points.forEach(([x, y], i) => {
    const [px, py] = toPixel(x, y);
    const loss = pointLoss(i);
    if (i === state.hoverRow) {
      context.fillStyle = "rgba(255, 212, 59, 0.8)";
      context.beginPath(); context.arc(px, py, POINT_RADIUS + 9, 0, 2 * Math.PI); context.fill();
    }
    context.fillStyle = PALETTE[state.labels[i] % PALETTE.length];
    context.strokeStyle = "white"; context.lineWidth = 1.5;
    context.beginPath(); context.arc(px, py, POINT_RADIUS, 0, 2 * Math.PI); context.fill(); context.stroke();
    if (loss !== null && loss > 0) {
      context.strokeStyle = "#212529"; context.lineWidth = 1.6;
      context.beginPath(); context.arc(px, py, POINT_RADIUS + 3, 0, 2 * Math.PI); context.stroke();
    }
  });
}

function drawPlane() {
  const [context, size] = prepareCanvas(plot);
  drawRegions(context, size);
  drawGrid(context, size);
  drawLines(context);
  drawPoints(context);
}

// ---------------------------------------------------------------- the loss curve

function drawCurve() {
  const canvas = $("loss-curve");
  const [context, width, height] = prepareCanvas(canvas);
  context.clearRect(0, 0, width, height);
  const left = 44, right = 10, top = 10, bottom = 26;
  const history = state.history;
  context.font = "11px system-ui, sans-serif";
  context.fillStyle = "#868e96";
  context.strokeStyle = "#ced4da"; context.lineWidth = 1;
  context.strokeRect(left, top, width - left - right, height - top - bottom);
  if (history.length === 0) {
    context.textAlign = "center";
    context.fillText("press Play or Single step", (width + left) / 2, height / 2);
    return;
  }
  const first = history[0].step, last = Math.max(history[history.length - 1].step, first + 1);
  const px = (step) => left + (step - first) / (last - first) * (width - left - right);
  const [py, ticks] = curveScale(history, top, height - bottom);
  context.textAlign = "right";
  for (const value of ticks) context.fillText(tickLabel(value), left - 5, py(value) + 4);
  context.textAlign = "center";
  context.fillText(`step ${first}`, left + 22, height - 8);
  context.fillText(`${last}`, width - right - 10, height - 8);
  for (const [key, color] of [["data", "#adb5bd"], ["total", "#212529"]]) {
    context.strokeStyle = color; context.lineWidth = key === "total" ? 2 : 1.5;
    context.beginPath();
    history.forEach((h, i) => (i ? context.lineTo : context.moveTo).call(context, px(h.step), py(h[key])));
    context.stroke();
  }
}

function tickLabel(value) {
  return value !== 0 && value < 1e-3 ? value.toExponential(0) : Number(value.toPrecision(2)).toString();
}

function curveScale(history, top, bottom) {
  // Linear from 0, unless the losses span more than two decades (a first loss of 70 falling to 0.07):
  // then logarithmic, so that both the first drop and the slow end of the curve show.
  const values = history.flatMap((h) => [h.total, h.data]);
  const high = Math.max(...values) * 1.05 || 1, low = Math.min(...values);
  if (!(low > 0 && high / low > 100)) {
    return [(value) => top + (1 - value / high) * (bottom - top), [0, high / 2, high]];
  }
  const [logLow, logHigh] = [Math.log10(low / 1.5), Math.log10(high)];
  const py = (value) => top + (logHigh - Math.log10(value)) / (logHigh - logLow) * (bottom - top);
  const [lowest, highest] = [Math.ceil(logLow), Math.floor(logHigh)];
  const every = Math.max(1, Math.ceil((highest - lowest + 1) / 5));  // at most five labels
  const ticks = [];
  for (let power = highest; power >= lowest; power -= every) ticks.push(10 ** power);
  return [py, ticks];
}
window.curveScale = curveScale;  // for the browser tests

// ---------------------------------------------------------------- numbers and the table

function formatNumber(value) {
  if (value === null || value === undefined) return "–";
  if (value !== 0 && (Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3)) return value.toExponential(3);
  return value.toFixed(4);
}

function formatPointLoss(loss) {  // a tiny loss must not read as 0: it still pulls on the lines
  if (loss === 0) return "0";
  return loss < 1e-3 ? loss.toExponential(1) : loss.toFixed(3);
}

function renderNumbers() {
  const result = state.result;
  $("data-loss").textContent = formatNumber(result && result.data_loss);
  $("reg-loss").textContent = formatNumber(result && result.reg_loss);
  $("total-loss").textContent = formatNumber(result && result.total_loss);
  $("accuracy").textContent = result && result.accuracy !== null ? `${Math.round(100 * result.accuracy)} %` : "–";
  $("step-count").textContent = String(state.stepCount);
}

function renderTable() {
  const head = ["#", "class", "x₁", "x₂", ...state.W.map((_, k) => `s<sub>${k}</sub>`), "loss <i>L<sub>i</sub></i>"];
  $("points-table").tHead.innerHTML = `<tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>`;
  const result = state.result;
  const fresh = result && result.per_point.length === state.points.length;
  const rows = state.points.map(([x, y], i) => {
    const label = state.labels[i];
    const info = fresh ? result.per_point[i] : null;
    const scores = info ? info.scores : state.W.map(() => null);
    const cells = scores.map((s, k) => {
      const classes = [k === label ? "own" : "", info && k === info.predicted ? "winner" : ""].join(" ");
      return `<td class="num ${classes}">${s === null ? "" : s.toFixed(2)}</td>`;
    });
    const contributes = info && info.loss > 0;
    return `<tr data-index="${i}" class="${contributes ? "contributes" : ""}">` +
      `<td class="num">${i}</td>` +
      `<td><span class="swatch" style="background:${PALETTE[label % PALETTE.length]}"></span>${label}</td>` +
      `<td class="num">${x.toFixed(2)}</td><td class="num">${y.toFixed(2)}</td>${cells.join("")}` +
      `<td class="num loss">${info ? formatPointLoss(info.loss) : ""}</td></tr>`;
  });
  $("points-table").tBodies[0].innerHTML = rows.join("");
}

$("points-table").addEventListener("mouseover", (event) => {
  const row = event.target.closest("tr[data-index]");
  const index = row ? Number(row.dataset.index) : null;
  if (index !== state.hoverRow) { state.hoverRow = index; drawPlane(); }
});
$("points-table").addEventListener("mouseleave", () => { state.hoverRow = null; drawPlane(); });

let frameRequested = false;
function render() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    drawPlane();
    renderNumbers();
    drawCurve();
    renderTable();
  });
}

function showStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

// ---------------------------------------------------------------- controls

function buildClassPicker() {
  const picker = $("class-picker");
  picker.innerHTML = "";
  for (let k = 0; k < state.classes; k++) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "class-button";
    button.id = `new-class-${k}`;
    button.style.setProperty("--class-color", PALETTE[k % PALETTE.length]);
    button.textContent = `class ${k}`;
    button.setAttribute("role", "radio");
    button.setAttribute("aria-checked", String(k === state.newClass));
    button.addEventListener("click", () => { state.newClass = k; buildClassPicker(); });
    picker.appendChild(button);
  }
}

function sliderValue(kind, k, j) {
  return kind === "w" ? state.W[k][j] : state.b[k];
}

function buildSliders() {
  const box = $("sliders");
  box.innerHTML = "";
  if (state.hidden) return;  // a network's rows draw no lines to move
  for (let k = 0; k < state.classes; k++) {
    const group = document.createElement("div");
    group.className = "slider-group";
    group.style.setProperty("--class-color", PALETTE[k % PALETTE.length]);
    group.innerHTML = `<div class="slider-title"><span class="swatch"></span>class ${k}</div>`;
    for (const [kind, j, name] of [["w", 0, `w<sub>${k},1</sub>`], ["w", 1, `w<sub>${k},2</sub>`], ["b", 0, `b<sub>${k}</sub>`]]) {
      const id = kind === "w" ? `w-${k}-${j}` : `b-${k}`;
      const limit = SLIDER_LIMIT[kind];
      const row = document.createElement("label");
      row.className = "slider-row";
      row.innerHTML = `<span class="slider-name">${name}</span>` +
        `<input type="range" id="${id}" min="${-limit}" max="${limit}" step="0.01">` +
        `<output for="${id}"></output>`;
      const input = row.querySelector("input");
      input.addEventListener("input", () => {
        const value = parseFloat(input.value);
        if (kind === "w") state.W[k][j] = value; else state.b[k] = value;
        row.querySelector("output").textContent = value.toFixed(2);
        edited();
      });
      group.appendChild(row);
    }
    box.appendChild(group);
  }
  syncSliders();
}

function syncSliders() {
  for (let k = 0; k < state.classes; k++) {
    for (const [kind, j] of [["w", 0], ["w", 1], ["b", 0]]) {
      const input = $(kind === "w" ? `w-${k}-${j}` : `b-${k}`);
      if (!input) continue;
      const value = sliderValue(kind, k, j);
      input.value = String(value);
      input.nextElementSibling.textContent = value.toFixed(2);
    }
  }
}

function buildChoices(boxId, name, choices, selected, onChange) {
  const box = $(boxId);
  box.innerHTML = "";
  for (const {value, title} of choices) {
    const label = document.createElement("label");
    label.className = "choice";
    label.innerHTML = `<input type="radio" name="${name}" id="${name}-${value}" value="${value}"> ${title}`;
    const input = label.querySelector("input");
    input.checked = value === selected;
    input.addEventListener("change", () => onChange(value));
    box.appendChild(label);
  }
}

// The step size a step took; with the field left empty it is the one derived from the points.
function showStepSize(lr) {
  const derived = $("lr").value.trim() === "";
  if (!derived) $("lr-used").textContent = "";
  else if (lr != null) $("lr-used").textContent = `${state.lrDefault}: ${formatNumber(lr)}`;
  else if (!$("lr-used").textContent) $("lr-used").textContent = state.lrDefault;
}

function showLossSettings() {
  const loss = state.losses[state.loss];
  $("loss-formula").innerHTML = loss ? formulaHtml(loss.formula) : "";
  const hasMargin = state.marginLosses.has(state.loss);
  $("delta").disabled = !hasMargin;
  $("delta").title = hasMargin || !loss ? "" : `${loss.title} has no margin Δ`;
  $("reg").disabled = state.penalty === "none";
}

function wireControls(options) {
  state.marginLosses = new Set(options.losses.filter((l) => l.margin).map((l) => l.name));
  state.losses = Object.fromEntries(options.losses.map((l) => [l.name, l]));
  state.defaults = options.defaults;
  state.loss = options.defaults.loss;
  state.penalty = options.defaults.penalty ?? "none";
  $("delta").value = String(options.defaults.delta);
  $("reg").value = String(options.defaults.reg);
  $("lr").value = options.defaults.lr ?? "";
  state.lrDefault = options.lr_default;
  $("lr").addEventListener("input", () => showStepSize(null));
  showStepSize(null);
  state.limit = options.plane_limit;
  state.maxHiddenUnits = options.max_hidden_units;
  state.maxClasses = options.max_classes;
  state.maxPoints = options.max_points;
  $("classes").innerHTML = Array.from({length: options.max_classes - 1}, (_, i) => `<option>${i + 2}</option>`).join("");
  $("classes").value = String(state.classes);
  $("hidden-units").max = String(options.max_hidden_units);
  $("seed").max = String(MAX_SEED);
  $("activation").innerHTML = options.activations.map((name) => `<option>${name}</option>`).join("");
  $("activation").value = options.default_activation;
  for (const id of ["model-linear", "model-hidden", "hidden-units"]) $(id).addEventListener("change", resetWeights);
  $("activation").addEventListener("change", () => {
    if (!state.hidden) return;
    state.hidden.activation = $("activation").value;
    showModel();
    edited({resetCurve: true});
  });
  buildChoices("loss-choices", "loss", options.losses.map((l) => ({value: l.name, title: l.title})), state.loss,
    (value) => { state.loss = value; showLossSettings(); edited({resetCurve: true}); });
  const penalties = [{value: "none", title: "none"}, ...options.penalties.map((p) => ({value: p.name, title: p.title}))];
  buildChoices("penalty-choices", "penalty", penalties, state.penalty,
    (value) => { state.penalty = value; showLossSettings(); edited({resetCurve: true}); });
  for (const id of ["delta", "reg"]) $(id).addEventListener("input", () => edited());
  for (const id of ["preset", "classes", "per-class"]) $(id).addEventListener("change", loadPreset);
  $("clear").addEventListener("click", () => {
    state.points = []; state.labels = []; state.stepCount = 0;
    setPlaying(false);
    edited({resetCurve: true});
  });
  $("load-points").addEventListener("click", () => $("points-file").click());
  $("points-file").addEventListener("change", async () => {
    const file = $("points-file").files[0];
    if (file) await loadPointsFile(file);
    $("points-file").value = "";  // so that choosing the same file again loads it again
  });
  $("save-csv").addEventListener("click", () => download("points.csv", pointsCsv(), "text/csv"));
  $("save-json").addEventListener("click", () => download("points.json", pointsJson(), "application/json"));
  $("export-weights").addEventListener("click", () => download("weights.json", weightsJson(), "application/json"));
  $("play").addEventListener("click", () => setPlaying(!state.playing));
  $("step").addEventListener("click", () => { queue.steps = Number($("steps-per-update").value); pump(); });
  $("reset").addEventListener("click", resetWeights);
  $("randomize").addEventListener("click", nextSeed);
  document.addEventListener("keydown", (event) => {
    if (event.key === " " && !["INPUT", "SELECT", "BUTTON"].includes(document.activeElement.tagName)) {
      event.preventDefault();
      setPlaying(!state.playing);
    }
  });
  showLossSettings();
  showModel();
}

async function start() {
  try {
    wireControls(await getJSON("/api/options"));
    buildClassPicker();
    await loadPreset();
  } catch (error) {
    showStatus(`Cannot reach the playground server: ${error.message}`, true);
  }
}

start();
