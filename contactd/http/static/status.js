// The public status of the service centre: per queue the number being served, how many
// wait, the wait for a ticket taken now, and whether it is open; live from
// /api/status/events. Values change in place, so a screen reader hears only what changed.
// Every word comes from GET /api/wording/pages, in the language of ?lang=, else the one
// chosen here before, else the browser's, else the agency's first.
"use strict";

// The service centre's time zone: the API gives times in UTC.
let TIME_ZONE = "Europe/Copenhagen";  // until /api/status names the daemon's own

let words = null;  // GET /api/wording/pages: {lang, dir, languages, messages}
let status = null;
let live = null;  // the status's event stream (live.js)

const $ = (id) => document.getElementById(id);
const t = (id, values = {}) => fill(words?.messages[id] ?? "", values);

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

async function wordingIn(lang) {
  // The page's words in `lang`, or in the agency's first language if `lang` is not offered.
  const url = "/api/wording/pages";
  const asked = lang ? await fetch(`${url}?lang=${encodeURIComponent(lang)}`) : null;
  if (asked?.ok) return asked.json();
  const first = await fetch(url);
  if (!first.ok) throw new Error(`${url}: ${first.status}`);
  return first.json();
}

function dayKey(date) {
  return date.toLocaleDateString("en-CA", { timeZone: TIME_ZONE });
}

function when(iso) {
  const date = new Date(iso);
  const locale = t("page.locale");
  const time = date.toLocaleTimeString(locale, { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit" });
  let day = date.toLocaleDateString(locale, { timeZone: TIME_ZONE, weekday: "long", day: "numeric", month: "long" });
  const now = daemonClock.now();
  if (dayKey(date) === dayKey(now)) day = t("page.today");
  else if (dayKey(date) === dayKey(new Date(now.getTime() + 86400000))) day = t("page.tomorrow");
  return t("page.at", { day, time });
}

function set(el, text) {
  if (el.textContent !== text) el.textContent = text;  // unchanged text is not re-announced
}

function card(code) {
  let li = document.querySelector(`.queueCard[data-queue="${CSS.escape(code)}"]`);
  if (!li) {
    li = $("queueTemplate").content.firstElementChild.cloneNode(true);
    li.dataset.queue = code;
    for (const el of li.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  }
  return li;
}

function speak() {
  // The page's fixed words, its title, direction and language switcher.
  document.documentElement.lang = words.lang;
  document.documentElement.dir = words.dir;
  document.title = t("status.page_title");
  for (const el of document.querySelectorAll("[data-t]")) set(el, t(el.dataset.t));
  const switcher = $("lang");
  if (switcher.dataset.lang !== words.lang) {
    switcher.replaceChildren(...words.languages.map(({ code, name }) => {
      const option = new Option(name, code);
      option.lang = code;
      return option;
    }));
    switcher.value = switcher.dataset.lang = words.lang;
  }
}

function render() {
  if (!words) return;
  speak();
  if (!status) return;
  $("loading").hidden = true;
  const lang = words.lang;
  const cards = status.queues.map((q) => {
    const li = card(q.queue);
    li.classList.toggle("closed", !q.open);
    set(li.querySelector(".name"), q[lang] ?? q.en ?? q.queue);  // the API names queues in da and en
    set(li.querySelector(".openState"), q.open ? t("status.open") : q.opens_at ? t("status.closed_until", { when: when(q.opens_at) }) : t("status.closed"));
    set(li.querySelector(".serving"), q.now_serving || t("status.none"));
    set(li.querySelector(".waiting"), String(q.waiting));
    set(li.querySelector(".wait"), q.estimated_wait_minutes > 0 ? t("status.wait", { n: q.estimated_wait_minutes }) : t("status.no_wait"));
    return li;
  });
  const list = $("queues");
  const same = cards.length === list.children.length && cards.every((li, i) => list.children[i] === li);
  if (!same) list.replaceChildren(...cards);
  if (!cards.length) set($("loading"), t("status.no_queues"));
  $("loading").hidden = cards.length > 0;
  const at = new Date(status.at);
  $("updated").dateTime = status.at;
  set($("updated"), at.toLocaleTimeString(t("page.locale"), { timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit" }));
}

function follow() {
  live = followLive("/api/status/events", "status", (data) => {
    status = data;
    daemonClock.heard(status.at);
    TIME_ZONE = status.timezone || TIME_ZONE;
    render();
  }, $("connection"));
}

async function switchTo(lang) {
  words = await wordingIn(lang);
  localStorage.setItem("contactd.lang", words.lang);
  render();
}

document.addEventListener("DOMContentLoaded", () => {
  $("lang").addEventListener("change", (event) => switchTo(event.target.value));
  const asked = new URLSearchParams(location.search).get("lang")
    || localStorage.getItem("contactd.lang") || navigator.language.split("-")[0];
  wordingIn(asked).then((found) => { words = found; render(); });
  follow();
});
