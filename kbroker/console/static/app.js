/* kbroker console: draws the page named by the URL's path from the JSON API under /api/.
   DOM built with el() (textContent only), so record keys/values/headers are never parsed as HTML. */
"use strict";

const main = document.getElementById("main");
let timers = [];

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "value") e.value = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(path, options) {
  const opts = Object.assign({headers: {"Content-Type": "application/json"}}, options || {});
  if (opts.body && typeof opts.body !== "string") opts.body = JSON.stringify(opts.body);
  const r = await fetch("/api" + path, opts);
  let body = null;
  try { body = await r.json(); } catch (e) { body = {error: r.statusText}; }
  if (!r.ok) throw new Error((body && body.error) || r.statusText);
  return body;
}

function toast(text, bad) {
  const t = el("div", {class: bad ? "bad" : ""}, text);
  document.getElementById("toast").append(t);
  setTimeout(() => t.remove(), bad ? 8000 : 4000);
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : Math.round(n)) + " " + u[i];
}
const num = n => (n === null || n === undefined || n < 0) ? "–" : Number(n).toLocaleString("en");
const q = () => new URLSearchParams(location.search);
const go = url => { history.pushState(null, "", url); route(); };
const link = (href, text, attrs) => el("a", Object.assign({href, onclick: e => {
  if (e.ctrlKey || e.metaKey) return; e.preventDefault(); go(href); }}, attrs || {}), text);
const enc = encodeURIComponent;

function table(headers, rows, attrs) {
  return el("table", attrs || {},
    el("thead", {}, el("tr", {}, headers.map(h => el("th", {class: h.endsWith("#") ? "num" : ""},
      h.replace(/#$/, ""))))),
    el("tbody", {}, rows));
}
const td = (v, cls) => el("td", {class: cls || ""}, v);
const tdn = v => td(num(v), "num");

function show(...nodes) {
  for (const t of timers) clearInterval(t);
  timers = [];
  main.replaceChildren(...nodes.filter(n => n !== null && n !== undefined));
}

function failed(e) {
  show(el("h1", {}, "Error"), el("p", {class: "error", id: "error"}, e.message));
}

/* ---------- overview ---------- */
async function overview() {
  const o = await api("/overview");
  const charts = el("div", {class: "charts"});
  show(
    el("h1", {}, "Overview"),
    el("div", {class: "cards"},
      card("Brokers", o.brokers.length, "brokers-count"), card("Topics", o.topics, "topics-count"),
      card("Partitions", o.partitions, "partitions-count"),
      card("Controller", o.controller === null || o.controller < 0 ? "–" : o.controller),
      card("Cluster id", o.cluster_id || "–")),
    el("h2", {}, "Brokers"),
    table(["Id", "Host", "Port#", "Rack"], o.brokers.map(b => el("tr", {},
      td(b.id + (b.id === o.controller ? " (controller)" : "")), td(b.host), td(String(b.port), "num"), td(b.rack || "–")))),
    el("h2", {}, "Throughput"), charts);
  liveCharts(charts);
}

function card(label, value, id) {
  return el("div", {class: "card"}, el("div", {class: "n", id: id || null}, value), el("div", {class: "l"}, label));
}

function chartBox(title, series, format) {
  const canvas = el("canvas");
  const box = el("div", {class: "panel chart"}, el("h3", {}, title),
    el("div", {class: "legend"}, series.map(s => el("span", {}, el("i", {style: `background:${s.color}`}), s.name))),
    canvas);
  return {box, chart: new LineChart(canvas, series.map(s => Object.assign({points: []}, s)), format)};
}

function liveCharts(container) {
  const css = getComputedStyle(document.documentElement);
  const color = n => css.getPropertyValue(n).trim();
  const b = chartBox("Bytes per second", [{name: "in", color: color("--in")}, {name: "out", color: color("--out")}],
    v => bytes(v) + "/s");
  const m = chartBox("Messages in per second", [{name: "messages in", color: color("--msg")}], v => num(Math.round(v)));
  const note = el("p", {class: "muted", id: "throughput-source"}, "");
  container.append(b.box, m.box);
  container.after(note);
  let last = null;
  const tick = async () => {
    let t;
    try { t = await api("/throughput"); } catch (e) { note.textContent = "throughput: " + e.message; return; }
    note.textContent = t.source === "metrics" ? "From the broker's metrics, every 2 s." :
      "Derived from partition end offsets and log sizes (bytes in = growth of stored bytes; no bytes out).";
    if (last) {
      const dt = (t.time - last.time) / 1000;
      const rate = k => (t[k] === null || last[k] === null || dt <= 0) ? null : Math.max(0, (t[k] - last[k]) / dt);
      b.chart.push("in", t.time, rate("bytes_in"));
      b.chart.push("out", t.time, rate("bytes_out"));
      m.chart.push("messages in", t.time, rate("messages_in"));
    }
    last = t;
    b.chart.draw(); m.chart.draw();
  };
  tick();
  timers.push(setInterval(tick, 2000));
}

/* ---------- topics ---------- */
async function topics() {
  const list = await api("/topics");
  const form = el("form", {class: "inline panel", id: "create-topic-form", onsubmit: async e => {
    e.preventDefault();
    const f = e.target;
    try {
      await api("/topics", {method: "POST", body: {name: f.name.value, partitions: +f.partitions.value,
        replication_factor: +f.replication.value, configs: f.configs.value}});
      toast(`Topic ${f.name.value} created`);
      route();
    } catch (err) { toast(err.message, true); }
  }},
    el("label", {}, "Name", el("input", {name: "name", id: "topic-name", required: true, placeholder: "orders"})),
    el("label", {}, "Partitions", el("input", {name: "partitions", id: "topic-partitions", type: "number", min: 1, value: 1})),
    el("label", {}, "Replication factor", el("input", {name: "replication", type: "number", min: 1, value: 1})),
    el("label", {}, "Configs (name=value, one a line)",
      el("textarea", {name: "configs", id: "topic-configs", rows: 2, placeholder: "retention.ms=86400000"})),
    el("button", {type: "submit", id: "create-topic"}, "Create topic"));
  show(el("h1", {}, "Topics"),
    table(["Name", "Partitions#", "Replication#", "Messages#", "Size#"], list.map(t => el("tr", {"data-topic": t.name},
      td(link("/topics/" + enc(t.name), t.name), t.internal ? "muted" : ""), tdn(t.partitions),
      tdn(t.replication_factor), tdn(t.messages), td(bytes(t.size), "num"))), {id: "topics-table"}),
    el("h2", {}, "Create a topic"), form);
}

async function topicPage(name) {
  const t = await api("/topics/" + enc(name));
  show(el("h1", {}, "Topic ", el("span", {class: "mono", id: "topic-title"}, t.name)),
    el("p", {}, link(`/messages?topic=${enc(t.name)}`, "Browse messages"), " · ",
      link(`/produce?topic=${enc(t.name)}`, "Produce a message")),
    el("h2", {}, "Partitions"),
    table(["Partition#", "Leader#", "Replicas", "ISR", "Earliest#", "Latest#", "Messages#", "Size#", ""],
      t.partitions.map(p => el("tr", {},
        tdn(p.partition), tdn(p.leader), td(p.replicas.join(", ")), td(p.isr.join(", ")), tdn(p.earliest),
        tdn(p.latest), tdn(p.latest - p.earliest), td(bytes(p.size), "num"),
        td(link(`/messages?topic=${enc(t.name)}&partition=${p.partition}`, "browse"))
      )), {id: "partitions-table"}),
    el("h2", {}, "Configs"),
    table(["Name", "Value", "Source"], [...t.configs].sort((a, b) => a.default - b.default).map(c =>
      el("tr", {class: c.default ? "muted" : "overridden"},
      td(c.name, "mono"), td(c.sensitive ? "(sensitive)" : (c.value === null ? "null" : c.value), "mono"),
      td(c.source || "")))),
    el("h2", {}, "Delete"),
    el("p", {}, el("button", {class: "danger", id: "delete-topic", onclick: async () => {
      if (!confirm(`Delete topic ${t.name} and all its messages?`)) return;
      try { await api("/topics/" + enc(t.name), {method: "DELETE"}); toast(`Topic ${t.name} deleted`); go("/topics"); }
      catch (err) { toast(err.message, true); }
    }}, "Delete topic " + t.name)));
}

/* ---------- message browser ---------- */
function field(f, view) {
  if (f.null) return el("span", {class: "null"}, "null");
  let v = view === "auto" ? f.auto : view;
  if (v === "json" && f.json === null) v = f.text === null ? "hex" : "text";
  if (v === "text" && f.text === null) v = "hex";
  const body = v === "json" ? f.json : v === "text" ? f.text : f.hex;
  return el("div", {}, el("pre", {class: "v-" + v}, body),
    f.truncated ? el("span", {class: "muted"}, `(first ${bytes(f.text === null ? f.hex.length / 3 : f.text.length)} of ${bytes(f.size)})`) : null);
}

async function topicOptions(selected) {
  const list = await api("/topics");
  return list.map(t => el("option", {value: t.name, selected: t.name === selected}, t.name));
}

async function messages() {
  const p = q();
  const topicName = p.get("topic");
  const view = p.get("view") || "auto";
  const mode = p.get("mode") || (p.get("timestamp") ? "timestamp" : "offset");
  const form = el("form", {class: "inline panel", id: "browse-form", onsubmit: e => {
    e.preventDefault();
    const f = e.target, u = new URLSearchParams();
    u.set("topic", f.topic.value); u.set("partition", f.partition.value); u.set("mode", f.mode.value);
    if (f.mode.value === "offset" && f.offset.value !== "") u.set("offset", f.offset.value);
    if (f.mode.value === "timestamp") u.set("timestamp", f.timestamp.value);
    u.set("limit", f.limit.value); u.set("view", f.view.value);
    go("/messages?" + u);
  }},
    el("label", {}, "Topic", el("select", {name: "topic", id: "browse-topic"}, await topicOptions(topicName))),
    el("label", {}, "Partition", el("input", {name: "partition", id: "browse-partition", type: "number", min: 0,
      value: p.get("partition") || 0})),
    el("label", {}, "From", el("select", {name: "mode", id: "browse-mode"},
      [["offset", "offset"], ["timestamp", "timestamp"], ["end", "last page"]].map(([v, l]) =>
        el("option", {value: v, selected: v === mode}, l)))),
    el("label", {}, "Offset", el("input", {name: "offset", id: "browse-offset", type: "number", min: 0,
      value: p.get("offset") || "", placeholder: "earliest"})),
    el("label", {}, "Timestamp (ISO or ms)", el("input", {name: "timestamp", id: "browse-timestamp",
      value: p.get("timestamp") || "", placeholder: "2026-01-31T12:00:00Z"})),
    el("label", {}, "Limit", el("input", {name: "limit", type: "number", min: 1, max: 500, value: p.get("limit") || 20})),
    el("label", {}, "Show as", el("select", {name: "view", id: "browse-view"},
      ["auto", "json", "text", "hex"].map(v => el("option", {value: v, selected: v === view}, v)))),
    el("button", {type: "submit", id: "browse"}, "Read"));
  const nodes = [el("h1", {}, "Messages"), form];
  const chosen = topicName || (form.topic.options.length ? form.topic.options[0].value : null);
  if (!chosen) { show(...nodes, el("p", {class: "muted"}, "No topics yet.")); return; }
  const u = new URLSearchParams({partition: p.get("partition") || 0, limit: p.get("limit") || 20});
  if (mode === "timestamp" && p.get("timestamp")) u.set("timestamp", p.get("timestamp"));
  else if (mode === "end") {
    const t = await api("/topics/" + enc(chosen));
    const part = t.partitions.find(x => x.partition === +(p.get("partition") || 0));
    if (part) u.set("offset", Math.max(part.earliest, part.latest - (+p.get("limit") || 20)));
  } else if (p.get("offset")) u.set("offset", p.get("offset"));
  const page = await api(`/topics/${enc(chosen)}/messages?${u}`);
  const pageLink = (offset, text, id) => {
    const n = new URLSearchParams(p); n.set("topic", chosen); n.set("mode", "offset"); n.set("offset", offset);
    n.delete("timestamp");
    return el("button", {class: "secondary", id, disabled: offset === null, type: "button",
      onclick: () => go("/messages?" + n)}, text);
  };
  const pager = el("div", {class: "pager"}, pageLink(page.prev, "‹ Prev", "prev-page"),
    el("span", {class: "muted", id: "page-info"},
      `${chosen} [${page.partition}] offsets ${page.earliest}…${page.latest}: ${page.records.length} record(s) from ${page.offset}`),
    pageLink(page.next, "Next ›", "next-page"));
  show(...nodes, pager,
    table(["Offset#", "Time", "Key", "Value", "Headers"], page.records.map(r => el("tr", {class: "record",
      "data-offset": r.offset},
      tdn(r.offset), td(r.time || "–", "mono"), el("td", {class: "key"}, field(r.key, view)),
      el("td", {class: "value"}, field(r.value, view)),
      el("td", {class: "headers"}, r.headers.map(h => el("span", {class: "hdr"}, el("b", {}, h.key, ": "),
        field(h.value, view))))))
    , {id: "messages-table"}),
    page.records.length ? null : el("p", {class: "muted", id: "no-records"}, "No records on this page."));
}

/* ---------- produce ---------- */
function encodingSelect(name, id) {
  return el("select", {name, id}, ["text", "json", "hex", "null"].map(v => el("option", {value: v}, v)));
}

function headerRow() {
  return el("div", {class: "header-row"}, el("input", {class: "h-key", placeholder: "header name"}),
    el("input", {class: "h-value", placeholder: "value (text)"}),
    el("button", {type: "button", class: "secondary", onclick: e => e.target.parentNode.remove()}, "×"));
}

async function produce() {
  const p = q();
  const headers = el("div", {id: "headers"}, headerRow());
  const result = el("p", {id: "produce-result"});
  const form = el("form", {class: "panel", id: "produce-form", onsubmit: async e => {
    e.preventDefault();
    const f = e.target;
    const hs = [...headers.querySelectorAll(".header-row")].map(r => ({key: r.querySelector(".h-key").value,
      value: r.querySelector(".h-value").value})).filter(h => h.key);
    try {
      const r = await api(`/topics/${enc(f.topic.value)}/messages`, {method: "POST", body: {
        partition: f.partition.value, key: f.key.value, key_encoding: f.key_encoding.value,
        value: f.value.value, value_encoding: f.value_encoding.value, headers: hs}});
      result.replaceChildren(`Produced to ${r.topic} partition ${r.partition} at offset ${r.offset} · `,
        link(`/messages?topic=${enc(r.topic)}&partition=${r.partition}&offset=${r.offset}`, "show it"));
      toast(`Produced at ${r.topic}[${r.partition}]@${r.offset}`);
    } catch (err) { result.replaceChildren(el("span", {class: "error"}, err.message)); }
  }},
    el("div", {class: "inline", style: "display:flex;gap:.7rem;flex-wrap:wrap"},
      el("label", {}, "Topic", el("select", {name: "topic", id: "produce-topic"}, await topicOptions(p.get("topic")))),
      el("label", {}, "Partition (empty: by key)", el("input", {name: "partition", id: "produce-partition",
        type: "number", min: 0}))),
    el("h2", {}, "Key"),
    el("div", {class: "inline", style: "display:flex;gap:.7rem"}, el("input", {name: "key", id: "produce-key",
      placeholder: "empty: no key"}), encodingSelect("key_encoding", "produce-key-encoding")),
    el("h2", {}, "Value"),
    el("div", {style: "display:flex;gap:.7rem;align-items:start"}, el("textarea", {name: "value", id: "produce-value",
      rows: 5}), encodingSelect("value_encoding", "produce-value-encoding")),
    el("h2", {}, "Headers"), headers,
    el("p", {}, el("button", {type: "button", class: "secondary", id: "add-header",
      onclick: () => headers.append(headerRow())}, "+ header")),
    el("p", {}, el("button", {type: "submit", id: "produce"}, "Produce")));
  show(el("h1", {}, "Produce a message"), form, result);
}

/* ---------- groups ---------- */
async function groups() {
  const list = await api("/groups");
  show(el("h1", {}, "Consumer groups"),
    list.length ? table(["Group", "State", "Protocol type", "Members#"], list.map(g => el("tr", {"data-group": g.group_id},
      td(link("/groups/" + enc(g.group_id), g.group_id)), td(g.state), td(g.protocol_type || "–"), tdn(g.members))),
    {id: "groups-table"}) : el("p", {class: "muted"}, "No consumer groups."));
}

async function groupPage(id) {
  const g = await api("/groups/" + enc(id));
  const total = g.offsets.reduce((s, o) => s + (o.lag > 0 ? o.lag : 0), 0);
  const topicsOf = [...new Set(g.offsets.map(o => o.topic))];
  const result = el("p", {id: "reset-result"});
  const form = el("form", {class: "inline panel", id: "reset-form", onsubmit: async e => {
    e.preventDefault();
    const f = e.target;
    try {
      const r = await api(`/groups/${enc(id)}/reset-offsets`, {method: "POST", body: {topic: f.topic.value,
        to: f.to.value, datetime: f.datetime.value}});
      toast(`Reset ${r.offsets.length} partition(s)`);
      await groupPage(id);
    } catch (err) { result.replaceChildren(el("span", {class: "error"}, err.message)); }
  }},
    el("label", {}, "Topic", el("select", {name: "topic", id: "reset-topic"}, el("option", {value: ""}, "(all topics)"),
      topicsOf.map(t => el("option", {value: t}, t)))),
    el("label", {}, "To", el("select", {name: "to", id: "reset-to"},
      ["earliest", "latest", "datetime"].map(v => el("option", {value: v}, v)))),
    el("label", {}, "Date/time (for datetime)", el("input", {name: "datetime", id: "reset-datetime",
      placeholder: "2026-01-31T12:00:00Z"})),
    el("button", {type: "submit", id: "reset-offsets"}, "Reset offsets"));
  show(el("h1", {}, "Group ", el("span", {class: "mono", id: "group-title"}, g.group_id)),
    el("div", {class: "cards"}, card("State", g.state, "group-state"), card("Members", g.members.length),
      card("Protocol", g.protocol || "–"), card("Total lag", num(total), "total-lag")),
    el("h2", {}, "Members"),
    g.members.length ? table(["Member", "Client id", "Host", "Assignment"], g.members.map(m => el("tr", {},
      td(m.member_id, "mono"), td(m.client_id), td(m.host),
      td(m.assignments.map(a => el("span", {class: "tag"}, `${a.topic}[${a.partition}]`)))))) :
      el("p", {class: "muted"}, "No active members."),
    el("h2", {}, "Offsets and lag"),
    table(["Topic", "Partition#", "Committed#", "Latest#", "Lag#"], [
      ...g.offsets.map(o => el("tr", {class: "lag-row", "data-topic": o.topic, "data-partition": o.partition},
        td(link(`/messages?topic=${enc(o.topic)}&partition=${o.partition}&offset=${o.committed < 0 ? "" : o.committed}`, o.topic)),
        tdn(o.partition), tdn(o.committed), tdn(o.latest),
        el("td", {class: "num lag" + (o.lag > 0 ? " lag-pos" : "")}, num(o.lag)))),
      el("tr", {class: "total"}, td("total"), td(""), td(""), td(""), el("td", {class: "num"}, num(total)))],
    {id: "lag-table"}),
    el("h2", {}, "Reset offsets"),
    el("p", {class: "muted"}, "The group must have no active members (stop its consumers first)."), form, result);
}

/* ---------- routing ---------- */
async function route() {
  const path = decodeURIComponent(location.pathname);
  delete main.dataset.ready;
  const page = path === "/" ? "overview" : path.split("/")[1];
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === page);
  try {
    if (path === "/") await overview();
    else if (path === "/topics") await topics();
    else if (path.startsWith("/topics/")) await topicPage(path.slice(8));
    else if (path === "/messages") await messages();
    else if (path === "/produce") await produce();
    else if (path === "/groups") await groups();
    else if (path.startsWith("/groups/")) await groupPage(path.slice(8));
    else failed(new Error("no such page: " + path));
    main.dataset.ready = path;
  } catch (e) { failed(e); main.dataset.ready = path; }
}

document.querySelectorAll("nav a").forEach(a => a.addEventListener("click", e => {
  if (e.ctrlKey || e.metaKey) return; e.preventDefault(); go(a.getAttribute("href")); }));
window.addEventListener("popstate", route);
route();
