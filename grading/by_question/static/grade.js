// The grading page: one question's answers, card by card (an answer, or a group of answers that say the same),
// graded with the rubric's items from the keyboard. Student content arrives sanitised by the server
// (answers.py); everything else is set as text.
"use strict";

const $ = (id) => document.getElementById(id);
let question = null;   // {assignment, notebook, cell}
let data = null;       // the API's state of the question
let cards = [];        // [[answer, ...], ...] in this grader's order
let current = 0;       // index in cards
let selected = new Set();
const shown = new Map();   // answer id -> {html, context}
let saving = Promise.resolve();  // saves go to the server one after the other
let pending = 0;

function xsrf() {
  const match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function api(path, body) {
  const query = new URLSearchParams(question || {}).toString();
  // every request carries the XSRF token: JupyterHub accepts its login cookie on a fetch only with it
  const options = body === undefined ? {headers: {"X-XSRFToken": xsrf()}} : {
    method: "POST", headers: {"Content-Type": "application/json", "X-XSRFToken": xsrf()}, body: JSON.stringify(body)};
  const response = await fetch(`api/${path}${path.includes("?") ? "&" : "?"}${query}`, options);
  const result = (response.headers.get("Content-Type") || "").includes("json") ? await response.json() : {};
  if (!response.ok && response.status !== 409) throw new Error(result.message || `${response.status} ${response.statusText}`);
  return {status: response.status, result};
}

function fail(err) { $("notice").textContent = `Not saved: ${err.message}`; }

// After a save the server refused, the page shows the server's state again (the answer stays ungraded).
function failedSave(err) {
  api("question").then((r) => setData(r.result), () => {}).finally(() => fail(err));
}

function buildCards() {
  const byGroup = new Map();
  for (const answer of data.answers) {
    if (!byGroup.has(answer.group)) byGroup.set(answer.group, []);
    byGroup.get(answer.group).push(answer);
  }
  cards = [...byGroup.values()];
}

// graded on this page, or scored in formgrader
const isGraded = (answer) => Boolean(answer.state && answer.state.grader) || answer.score !== null;
const graded = (card) => card.every(isGraded);
const label = (answer) => $("names").checked ? answer.student : `answer ${answer.id.slice(0, 6)}`;

function setData(next) {
  const keep = cards[current] ? cards[current][0].id : null;
  data = next;
  buildCards();
  const found = cards.findIndex((card) => card.some((a) => a.id === keep));
  current = found >= 0 ? found : Math.min(current, Math.max(cards.length - 1, 0));
  const done = data.answers.filter(isGraded).length;
  $("progress").textContent = `${done} of ${data.answers.length} graded`;
  const option = $("question").selectedOptions[0];
  if (option) option.textContent = option.textContent.replace(/\d+ of \d+ graded/, `${done} of ${data.answers.length} graded`);
  $("grader").textContent = `grading as ${data.grader}`;
  renderEdit();
}

async function answerOf(id) {
  if (!shown.has(id)) shown.set(id, api(`answer?id=${encodeURIComponent(id)}`).then((r) => r.result));
  return shown.get(id);
}

function renderItems() {
  const list = $("items");
  list.replaceChildren();
  data.items.forEach((item, index) => {
    const li = document.createElement("li");
    li.className = selected.has(item.id) ? "given" : "";
    li.dataset.item = item.id;
    const key = document.createElement("span");
    key.className = "key";
    key.textContent = index < 9 ? `${index + 1}` : "";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = item.text;
    const points = document.createElement("span");
    points.className = "points";
    points.textContent = (item.points > 0 ? "+" : "") + item.points;
    li.append(key, text, points);
    li.addEventListener("click", () => toggle(index));
    list.append(li);
  });
  const sum = data.items.filter((i) => selected.has(i.id)).reduce((s, i) => s + i.points, 0);
  const total = Math.min(Math.max(sum + Number($("adjustment").value || 0), 0), data.points);
  $("score").textContent = `${total} / ${data.points}`;
}

function toggle(index) {
  const item = data.items[index];
  if (!item) return;
  if (selected.has(item.id)) selected.delete(item.id); else selected.add(item.id);
  renderItems();
}

async function show(notice = "") {
  const card = cards[current];
  $("notice").textContent = notice;
  if (!card) { $("card-title").textContent = "No answers to this question yet"; return; }
  const first = card[0];
  $("answer").dataset.answer = "";
  const state = card.map((a) => a.state).find((s) => s && s.grader);
  selected = new Set(state ? state.items : []);
  $("adjustment").value = state ? state.adjustment : 0;
  $("comment").value = state ? state.comment : "";
  const scored = card.find((a) => a.score !== null);
  if (!notice && state) {
    const when = new Date(state.graded_at).toLocaleString();
    $("notice").textContent = state.grader === data.grader ? `You graded this on ${when}.`
      : `Graded by ${state.grader} on ${when}.`;
  } else if (!notice && scored) {
    $("notice").textContent = `Scored ${scored.score} in formgrader, without rubric items.`;
  }
  $("card-title").textContent = card.length > 1
    ? `Group of ${card.length} answers that read alike (${current + 1} of ${cards.length})`
    : `${label(first)} (${current + 1} of ${cards.length})`;
  renderItems();
  renderMembers(card);
  const content = await answerOf(first.id);
  if (!cards[current] || cards[current][0].id !== first.id) return;  // moved on meanwhile
  $("answer").innerHTML = content.html;
  $("answer").dataset.answer = first.id;
  $("context").innerHTML = content.context;
  if (performance.getEntriesByName("enter", "mark").length) {  // from Enter to the frame that shows the answer
    requestAnimationFrame(() => {
      performance.measure("enter-to-answer", "enter");
      performance.clearMarks("enter");
    });
  }
  const next = cards[nextIndex(current)];
  if (next) answerOf(next[0].id);  // fetched before the grader asks for it
}

function renderMembers(card) {
  const box = $("members");
  box.replaceChildren();
  if (card.length < 2) return;
  const title = document.createElement("h3");
  title.textContent = "Every answer in this group (the items apply to all of them)";
  const list = document.createElement("ul");
  for (const answer of card) {
    const li = document.createElement("li");
    const who = document.createElement("b");
    who.textContent = `${label(answer)}: `;
    const text = document.createElement("span");
    text.textContent = answer.preview || "(unanswered)";
    const out = document.createElement("button");
    out.textContent = "Take out of the group";
    out.addEventListener("click", () => api("ungroup", {id: answer.id}).then((r) => { setData(r.result); show(); }, fail));
    li.append(who, text, " ", out);
    list.append(li);
  }
  box.append(title, list);
}

function nextIndex(from) {
  for (let step = 1; step <= cards.length; step++) {
    const index = (from + step) % cards.length;
    if (!graded(cards[index])) return index;
  }
  return -1;
}

function saveAndNext() {
  const card = cards[current];
  if (!card) return;
  performance.clearMarks("enter");
  performance.mark("enter");
  const body = {answers: card.map((a) => a.id), items: [...selected], adjustment: Number($("adjustment").value || 0),
                comment: $("comment").value, seen: Object.fromEntries(card.map((a) => [a.id, a.state ? a.state.version : 0]))};
  for (const answer of card) answer.state = {...(answer.state || {}), grader: data.grader};  // until the server says
  const saved = card[0].id;
  const next = nextIndex(current);
  pending += 1;
  $("saving").textContent = "Saving…";
  let began;
  saving = saving.then(() => { began = performance.now(); return api("grade", body); }).then(({status, result}) => {
    performance.measure("save-round-trip", {start: began});
    setData(result);
    if (status === 409) {
      current = cards.findIndex((c) => c.some((a) => a.id === saved));
      const other = result.answers.find((a) => a.id === result.conflicts[0]).state;
      show(`${other.grader} graded this answer meanwhile (${new Date(other.graded_at).toLocaleString()}): their items are shown. ` +
           "Press Enter to save yours instead.");
    } else if (next < 0) {  // the last card here: others may have left some, or all are graded
      const left = cards.findIndex((c) => !graded(c));
      if (left < 0) {
        $("notice").textContent = "Every answer to this question is graded.";
      } else {
        current = left;
        show();
      }
    }
  }, failedSave).finally(() => {
    pending -= 1;
    if (!pending) $("saving").textContent = "";
  });
  if (next >= 0) {
    current = next;
    show();
  }
}

function move(step) {
  if (!cards.length) return;
  current = (current + step + cards.length) % cards.length;
  show();
}

function renderEdit() {
  const list = $("edit-items");
  list.replaceChildren();
  for (const item of data.items) {
    const li = document.createElement("li");
    const text = Object.assign(document.createElement("input"), {type: "text", value: item.text});
    const points = Object.assign(document.createElement("input"), {type: "number", step: "0.25", value: item.points});
    const save = Object.assign(document.createElement("button"), {textContent: "Save"});
    const remove = Object.assign(document.createElement("button"), {textContent: "Delete"});
    save.addEventListener("click", () => editItem({id: item.id, text: text.value, points: Number(points.value)}));
    remove.addEventListener("click", () => editItem({id: item.id, delete: true}));
    li.append(text, points, save, remove);
    list.append(li);
  }
}

function editItem(body) {
  api("item", body).then((r) => { setData(r.result); show("Rubric saved: every answer with this item is scored again."); }, fail);
}

async function openQuestion() {
  const [assignment, notebook, cell] = $("question").value.split("\u0000");
  question = {assignment, notebook, cell};
  shown.clear();
  const {result} = await api("question");
  $("question-html").innerHTML = result.question_html;
  cards = [];
  setData(result);
  const first = cards.findIndex((card) => !graded(card));
  current = first >= 0 ? first : 0;
  show();
}

document.addEventListener("keydown", (event) => {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName);
  if (event.key === "Enter" && (!typing || event.ctrlKey || event.target.id === "adjustment")) {
    event.preventDefault();
    saveAndNext();
  } else if (!typing && /^[1-9]$/.test(event.key)) {
    toggle(Number(event.key) - 1);
  } else if (!typing && event.key === "ArrowRight") {
    move(1);
  } else if (!typing && event.key === "ArrowLeft") {
    move(-1);
  }
});

async function start() {
  $("save").addEventListener("click", saveAndNext);
  $("adjustment").addEventListener("input", renderItems);
  $("names").addEventListener("change", () => show());
  $("question").addEventListener("change", openQuestion);
  $("new-item").addEventListener("submit", (event) => {
    event.preventDefault();
    editItem({id: null, text: $("new-text").value, points: Number($("new-points").value)});
    $("new-text").value = "";
  });
  const {result} = await api("questions");
  for (const q of result) {
    const option = document.createElement("option");
    option.value = [q.assignment, q.notebook, q.cell].join("\u0000");
    option.textContent = `${q.assignment} · ${q.cell} (${q.points} points; ${q.graded} of ${q.answers} graded)`;
    $("question").append(option);
  }
  const wanted = new URLSearchParams(location.search).get("cell");
  const option = [...$("question").options].find((o) => o.value.endsWith(`\u0000${wanted}`));
  if (option) $("question").value = option.value;
  if (result.length) openQuestion();
}

start().catch(fail);
